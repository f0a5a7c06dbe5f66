"""The content-hash cache of mined bases (mcsim.mining.patterns.cache): read back instead of
mined, identical arrays, and a key that changes with every input that decides the result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import mcsim.mining.patterns.miner as miner_module
from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns import MINER_VERSION, PatternBase, mine_patterns
from mcsim.mining.patterns.cache import cache_key, cache_path, read_cache, write_cache

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
    write_cache(path, base)
    assert_same(read_cache(path, cycles, 0.3, 3), base)


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
