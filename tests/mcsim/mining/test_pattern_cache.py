"""The content-hash cache of mined bases (mcsim.mining.patterns.cache): read back instead of
mined, identical arrays, and a key that changes with every input that decides the result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import mcsim.mining.patterns.miner as miner_module
from mcsim.errors import CacheWarning
from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns import MINER_VERSION, PatternBase, mine_patterns
from mcsim.mining.patterns.cache import (
    FORMAT,
    CacheProblem,
    cache_key,
    cache_path,
    read_cache,
    write_cache,
)

Cycles = list[list[int]]
Table = Callable[..., CycleTable]
ARRAYS = ("holder", "offsets", "items", "support", "count", "n_cycles")


@pytest.fixture(scope="module")
def cycles(table: Table, routine_users: Callable[..., list[Cycles]]) -> CycleTable:
    return table(routine_users(2, 30, n_cycles=20))


def assert_same(base: PatternBase, other: PatternBase) -> None:
    for name in ARRAYS:
        assert np.array_equal(getattr(base, name), getattr(other, name)), name
        assert getattr(base, name).dtype == getattr(other, name).dtype, name
    assert (base.minsup, base.max_length) == (other.minsup, other.max_length)


def test_cache_is_read_back_instead_of_mined(
    cycles: CycleTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = mine_patterns(cycles, 0.4, workers=1)
    two = mine_patterns(cycles, 0.4, workers=2, cache_dir=tmp_path)
    written = list(tmp_path.glob("patterns-*.npz"))
    assert written == [cache_path(tmp_path, cycles, 0.4, None, MINER_VERSION)]
    assert not list(tmp_path.glob("*.tmp"))

    def no_mining(*args: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(miner_module, "_mine_chunk", no_mining)
    cached = mine_patterns(cycles, 0.4, workers=2, cache_dir=tmp_path)
    for base in (two, cached):
        assert_same(base, one)
    with pytest.raises(AssertionError, match="cache"):
        mine_patterns(cycles, 0.5, workers=1, cache_dir=tmp_path)


def test_write_then_read_round_trip(cycles: CycleTable, tmp_path: Path) -> None:
    base = mine_patterns(cycles, 0.3, max_length=3, workers=1)
    path = tmp_path / "base.npz"
    write_cache(path, base, "k" * 64)
    assert_same(read_cache(path, cycles, 0.3, 3, "k" * 64), base)


def test_key_covers_every_input(cycles: CycleTable) -> None:
    key = cache_key(cycles, 0.4, None, MINER_VERSION)
    assert len(key) == 64 and int(key, 16) >= 0  # hex sha256
    assert cache_key(cycles, 0.4, None, MINER_VERSION) == key  # deterministic
    moved = cycles.location.copy()
    moved[0] = (moved[0] + 1) % len(cycles.locations)
    renamed = cycles.locations.str.replace("L1", "X1")
    others = [
        cache_key(cycles, 0.5, None, MINER_VERSION),
        cache_key(cycles, 0.4, 3, MINER_VERSION),
        cache_key(cycles, 0.4, None, MINER_VERSION + "-next"),
        cache_key(dataclasses.replace(cycles, location=moved), 0.4, None, MINER_VERSION),
        cache_key(dataclasses.replace(cycles, locations=renamed), 0.4, None, MINER_VERSION),
        cache_key(
            dataclasses.replace(cycles, users=cycles.users.str.upper()), 0.4, None, MINER_VERSION
        ),
    ]
    assert key not in others and len(set(others)) == len(others)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def _rewrite(path: Path, **changes: object) -> None:
    arrays = {**_arrays(path), **changes}
    with path.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def _zero_items(path: Path, other: Path) -> None:
    arrays = _arrays(path)
    _rewrite(path, items=np.zeros_like(arrays["items"]))


def _zero_items_and_digest(path: Path, other: Path) -> None:
    arrays = _arrays(path)  # recomputing the digest does not help: counts no longer fit
    arrays["items"] = np.zeros_like(arrays["items"])
    arrays["count"] = arrays["count"] * 0
    from mcsim.mining.patterns import cache as module

    digest = module._digest({k: arrays[k] for k in module._ARRAYS})
    _rewrite(path, items=arrays["items"], count=arrays["count"], digest=np.array(digest))


CORRUPTIONS: dict[str, Callable[[Path, Path], object]] = {
    "another minsup's file under this name": lambda p, o: p.write_bytes(o.read_bytes()),
    "zeroed items": _zero_items,
    "zeroed items and counts, digest recomputed": _zero_items_and_digest,
    "truncated": lambda p, o: p.write_bytes(p.read_bytes()[:200]),
    "garbage": lambda p, o: p.write_bytes(b"not a zip file at all" * 10),
    "empty": lambda p, o: p.write_bytes(b""),
    "object array": lambda p, o: _write_object_array(p),
    "older format": lambda p, o: _rewrite(p, format=np.array(FORMAT - 1)),
    "float arrays": lambda p, o: _rewrite(p, holder=_arrays(p)["holder"].astype(float)),
    "a folder with the cache's name": lambda p, o: _replace_with_folder(p),
}


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _write_object_array(path: Path) -> None:
    with path.open("wb") as handle:
        np.savez(handle, holder=np.array([object()], dtype=object))


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_a_bad_cache_file_is_detected_warned_and_never_used(
    corrupt: str, cycles: CycleTable, tmp_path: Path
) -> None:
    expected = mine_patterns(cycles, 0.4, workers=1)
    mine_patterns(cycles, 0.6, workers=1, cache_dir=tmp_path)
    other = cache_path(tmp_path, cycles, 0.6, None, MINER_VERSION)
    mine_patterns(cycles, 0.4, workers=1, cache_dir=tmp_path)
    path = cache_path(tmp_path, cycles, 0.4, None, MINER_VERSION)
    CORRUPTIONS[corrupt](path, other)
    with pytest.warns(CacheWarning, match="pattern cache .* (unusable|could not be written)"):
        again = mine_patterns(cycles, 0.4, workers=1, cache_dir=tmp_path)
    assert_same(again, expected)
    if path.is_file():  # rebuilt: the next read uses it without a word
        assert_same(read_cache(path, cycles, 0.4, None, path.stem[9:]), expected)


def test_a_cache_folder_that_is_a_file_mines_without_cache(
    cycles: CycleTable, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    with pytest.warns(CacheWarning, match="not a folder"):
        base = mine_patterns(cycles, 0.4, workers=1, cache_dir=not_a_folder)
    assert_same(base, mine_patterns(cycles, 0.4, workers=1))
    assert not_a_folder.read_text() == "a file"


def test_read_cache_names_the_problem(cycles: CycleTable, tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    write_cache(path, mine_patterns(cycles, 0.4, workers=1), "a" * 64)
    with pytest.raises(CacheProblem, match="another input"):
        read_cache(path, cycles, 0.4, None, "b" * 64)
