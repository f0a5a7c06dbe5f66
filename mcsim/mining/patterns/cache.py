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
import zipfile
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


FORMAT = 2  # layout of a cache file; files of another format are rebuilt
_ARRAYS = ("holder", "offsets", "items", "count", "n_cycles")


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in _ARRAYS:
        digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def write_cache(path: Path, base: PatternBase, key: str) -> None:
    """Write atomically, with the input's ``key`` and a digest of the arrays, so that a read
    can tell this file from a stale, copied, truncated or edited one.

    Raises:
        OSError: the folder cannot be written (the caller goes on without a cache).
    """
    arrays = {name: getattr(base, name) for name in _ARRAYS}
    with atomic_file(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            format=np.array(FORMAT),
            key=np.array(key),
            digest=np.array(_digest(arrays)),
            **arrays,
        )


class CacheProblem(Exception):
    """Why a cache file cannot be used (the caller warns and mines again)."""


def read_cache(
    path: Path, cycles: CycleTable, minsup: float, max_length: int | None, key: str
) -> PatternBase:
    """The base stored at ``path`` for the input ``key``, on the universes of ``cycles``.

    Everything is verified before use: the format, the key of the input it was built from,
    a digest of the arrays, and that the patterns fit ``cycles`` (users, locations, counts at
    least the minimum support, at most the user's cycles).

    Raises:
        CacheProblem: the file is unreadable, of another format or input, or inconsistent.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {name: np.asarray(data[name]) for name in (*_ARRAYS, "format", "key")}
            digest = str(data["digest"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CacheProblem(f"unreadable ({type(exc).__name__}: {exc})") from None
    if int(stored["format"]) != FORMAT or str(stored["key"]) != key:
        raise CacheProblem("written for another input or format")
    arrays = {name: stored[name] for name in _ARRAYS}
    if any(a.dtype.kind not in "iu" or a.ndim != 1 for a in arrays.values()):
        raise CacheProblem("arrays of the wrong type")
    if _digest(arrays) != digest:
        raise CacheProblem("content does not match its digest")
    _check_fits(arrays, cycles, minsup)
    return make_base(
        cycles.users,
        cycles.locations,
        arrays["holder"],
        np.diff(arrays["offsets"]),
        arrays["items"],
        arrays["count"],
        arrays["n_cycles"],
        float(minsup),
        max_length,
    )


def _check_fits(arrays: dict[str, np.ndarray], cycles: CycleTable, minsup: float) -> None:
    """The stored patterns are possible for ``cycles`` at ``minsup``."""
    holder, offsets, items = arrays["holder"], arrays["offsets"], arrays["items"]
    count, n_cycles = arrays["count"], arrays["n_cycles"]
    n = len(holder)
    if len(offsets) != n + 1 or len(count) != n or len(n_cycles) != n:
        raise CacheProblem("arrays of inconsistent lengths")
    if n == 0:
        return
    if offsets[0] != 0 or offsets[-1] != len(items) or (np.diff(offsets) < 1).any():
        raise CacheProblem("pattern offsets out of order")
    if holder.min() < 0 or holder.max() >= len(cycles.users):
        raise CacheProblem("a pattern holder outside the users")
    if len(items) and (items.min() < 0 or items.max() >= len(cycles.locations)):
        raise CacheProblem("a pattern location outside the locations")
    if not np.array_equal(n_cycles, cycles.n_cycles()[holder]):
        raise CacheProblem("cycle counts that differ from the input's")
    need = np.ceil(minsup * n_cycles - 1e-9)
    if (count < need).any() or (count > n_cycles).any():
        raise CacheProblem("supports outside [minsup, 1]")
