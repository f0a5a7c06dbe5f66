"""Builders shared by the pattern tests (test_miner, test_pattern_base, test_closed,
test_pattern_cache).

Served as fixtures, as in ``tests/policies/conftest.py``: a CycleTable from lists of location
codes, users with routines, the ``prefixspan`` oracle and a comparable view of a base. The
``prefixspan`` package is the trusted oracle: its ``frequent`` for supports and counts, its
BIDE (``closed=True``) for intra-closed patterns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prefixspan import PrefixSpan

from mcsim.data.traces import load_trace
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles
from mcsim.mining.patterns import PatternBase, min_count, mine_patterns

Cycles = list[list[int]]


def prefixspan_patterns(
    cycles: Cycles, minsup: float, max_length: int | None = None, *, closed: bool = False
) -> list[tuple[tuple[int, ...], int]]:
    """prefixspan's patterns in mine_user's order (length, then lexicographic)."""
    miner = PrefixSpan(cycles)
    if max_length is not None:
        miner.maxlen = max_length
    found = miner.frequent(min_count(minsup, len(cycles)), closed=closed)
    return sorted(((tuple(p), c) for c, p in found), key=lambda pc: (len(pc[0]), pc[0]))


def make_table(users: list[Cycles], n_locations: int | None = None) -> CycleTable:
    """A CycleTable of the given users' cycles (times are irrelevant to mining)."""
    days = [day for cycles in users for day in cycles]
    n_locations = n_locations or max((max(d) for d in days if d), default=-1) + 1
    location = np.array([x for day in days for x in day], dtype=np.int32)
    return CycleTable(
        users=pd.Index([f"u{i}" for i in range(len(users))]),
        locations=pd.Index([f"L{i}" for i in range(n_locations)]),
        user=np.repeat(np.arange(len(users), dtype=np.int32), [len(c) for c in users]),
        cycle=np.concatenate([np.arange(len(c)) for c in users] or [np.arange(0)]).astype(np.int64),
        offsets=np.concatenate(([0], np.cumsum([len(d) for d in days]))).astype(np.int64),
        location=location,
        arrival=np.zeros(len(location), dtype=np.float32),
        departure=np.zeros(len(location), dtype=np.float32),
        options=CycleOptions(),
    )


def make_routine_users(
    seed: int, n_users: int, n_cycles: int = 30, n_locations: int = 60
) -> list[Cycles]:
    """Users with a home, a workplace and favourite places shared with others (popular ones
    more often), each visited on a day with its own probability, in hour order."""
    rng = np.random.default_rng(seed)
    public = np.arange(10, 30)
    popularity = 1.0 / np.arange(1, len(public) + 1)
    users = []
    for _ in range(n_users):
        home, work = rng.integers(30, n_locations), rng.integers(0, 10)
        favourites = rng.choice(public, size=4, replace=False, p=popularity / popularity.sum())
        probability, hour = rng.uniform(0.2, 0.8, 4), rng.uniform(7, 22, 4)
        cycles = []
        for day in range(n_cycles):
            visits = [(0.0, home), (23.5, home)]
            if day % 7 < 5 and rng.random() < 0.85:
                visits += [(9.0, work), (14.0, work)]
            visits += [
                (h + rng.normal(), f)
                for f, p, h in zip(favourites, probability, hour, strict=True)
                if rng.random() < p
            ]
            sequence = [int(x) for _, x in sorted(visits)]
            cycles.append([x for i, x in enumerate(sequence) if i == 0 or x != sequence[i - 1]])
        users.append(cycles)
    return users


def patterns_by_key(base: PatternBase) -> dict[tuple[int, tuple[int, ...]], int]:
    """``{(holder, pattern): count}`` of a base."""
    return {
        (int(base.holder[i]), tuple(base.pattern(i).tolist())): int(base.count[i])
        for i in range(len(base))
    }


@pytest.fixture(scope="session")
def reference() -> Callable[..., list[tuple[tuple[int, ...], int]]]:
    """:func:`prefixspan_patterns`, the oracle."""
    return prefixspan_patterns


@pytest.fixture(scope="session")
def table() -> Callable[..., CycleTable]:
    """:func:`make_table`."""
    return make_table


@pytest.fixture(scope="session")
def routine_users() -> Callable[..., list[Cycles]]:
    """:func:`make_routine_users`."""
    return make_routine_users


@pytest.fixture(scope="session")
def as_dict() -> Callable[[PatternBase], dict[tuple[int, tuple[int, ...]], int]]:
    """:func:`patterns_by_key`."""
    return patterns_by_key


@pytest.fixture(scope="session")
def routine_base() -> PatternBase:
    """40 routine users mined at minsup 0.3."""
    return mine_patterns(make_table(make_routine_users(1, 40)), 0.3, workers=1)


@pytest.fixture(scope="session")
def geolife_cycles(geolife_dir: Path) -> CycleTable:
    """Valid cycles of the GeoLife sample in Beijing time (skips when the data is absent)."""
    return cut_cycles(load_trace(geolife_dir), CycleOptions(timezone="Asia/Shanghai"))
