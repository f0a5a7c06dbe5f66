"""The on-disk cache of mined pattern bases, keyed by a hash of everything that decides them.

Mining a large trace takes minutes, and experiments mine the same cycles with the same
parameters again and again. A base is therefore stored as ``patterns-<sha256>.npz`` whose hash
covers the cycles (users, offsets, locations), both id universes, ``minsup``, ``max_length``
and the miner's version string: a cache file is only ever read back for exactly the input that
produced it, and bumping the version invalidates every file written by an older miner. Only the
arrays are stored; the universes and parameters come from the call that reads it back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mcsim.data.outputs import atomic_file
from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns.base import PatternBase, make_base


def cache_key(cycles: CycleTable, minsup: float, max_length: int | None, version: str) -> str:
    """Hex sha256 of the cycles, both universes, the parameters and the miner ``version``."""
    digest = hashlib.sha256()
    for array in (cycles.user, cycles.offsets, cycles.location):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    for index in (cycles.users, cycles.locations):
        digest.update("\x1f".join(map(str, index)).encode() + b"\x1e")
    digest.update(f"{float(minsup)!r}|{max_length!r}|{version}".encode())
    return digest.hexdigest()


def cache_path(
    cache_dir: str | Path,
    cycles: CycleTable,
    minsup: float,
    max_length: int | None,
    version: str,
) -> Path:
    """Where the base of this input lives in ``cache_dir`` (whether or not it exists yet)."""
    return Path(cache_dir) / f"patterns-{cache_key(cycles, minsup, max_length, version)}.npz"


def write_cache(path: Path, base: PatternBase) -> None:
    """Write atomically: a crash never leaves a half cache."""
    with atomic_file(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            holder=base.holder,
            offsets=base.offsets,
            items=base.items,
            count=base.count,
            n_cycles=base.n_cycles,
        )


def read_cache(
    path: Path, cycles: CycleTable, minsup: float, max_length: int | None
) -> PatternBase:
    """The base stored at ``path``, on the universes of ``cycles``."""
    with np.load(path) as data:
        return make_base(
            cycles.users,
            cycles.locations,
            data["holder"],
            np.diff(data["offsets"]),
            data["items"],
            data["count"],
            data["n_cycles"],
            float(minsup),
            max_length,
        )
