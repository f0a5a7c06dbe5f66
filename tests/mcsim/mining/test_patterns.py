"""Tests of the repetitive-pattern miner and the pattern base.

The ``prefixspan`` package is the trusted oracle: its ``frequent`` for supports and counts,
its BIDE (``closed=True``) for intra-closed patterns. The inter-closed reduction has no
oracle, so it is checked against a brute-force reading of its definition.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prefixspan import PrefixSpan

import mcsim.mining.patterns as patterns_module
from mcsim.data.traces import load_trace
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles
from mcsim.mining.patterns import PatternBase, min_count, mine_patterns, mine_user

DATA = Path(
    os.environ.get("MCSIM_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
GEOLIFE = DATA / "geolife"

Cycles = list[list[int]]


def reference(
    cycles: Cycles, minsup: float, max_length: int | None = None, *, closed: bool = False
) -> list[tuple[tuple[int, ...], int]]:
    """prefixspan's patterns in mine_user's order (length, then lexicographic)."""
    miner = PrefixSpan(cycles)
    if max_length is not None:
        miner.maxlen = max_length
    found = miner.frequent(min_count(minsup, len(cycles)), closed=closed)
    return sorted(((tuple(p), c) for c, p in found), key=lambda pc: (len(pc[0]), pc[0]))


def table(users: list[Cycles], n_locations: int | None = None) -> CycleTable:
    """A CycleTable of the given users' cycles (times are irrelevant to mining)."""
    days = [day for cycles in users for day in cycles]
    n_locations = n_locations or max((max(d) for d in days if d), default=-1) + 1
    location = np.array([x for day in days for x in day], dtype=np.int32)
    return CycleTable(
        users=pd.Index([f"u{i}" for i in range(len(users))]),
        locations=pd.Index([f"L{i}" for i in range(n_locations)]),
        user=np.repeat(np.arange(len(users), dtype=np.int32), [len(c) for c in users]),
        cycle=np.concatenate([np.arange(len(c)) for c in users] or [[]]).astype(np.int64),
        offsets=np.concatenate(([0], np.cumsum([len(d) for d in days]))).astype(np.int64),
        location=location,
        arrival=np.zeros(len(location), dtype=np.float32),
        departure=np.zeros(len(location), dtype=np.float32),
        options=CycleOptions(),
    )


def routine_users(
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


def as_dict(base: PatternBase) -> dict[tuple[int, tuple[int, ...]], int]:
    return {
        (int(base.holder[i]), tuple(base.pattern(i).tolist())): int(base.count[i])
        for i in range(len(base))
    }


def is_subsequence(short: tuple[int, ...], long: tuple[int, ...]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


cycle_sets = st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=12)
minsups = st.sampled_from([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
max_lengths = st.sampled_from([None, 1, 2, 3, 4])


@settings(max_examples=150, deadline=None)
@given(cycles=cycle_sets, minsup=minsups, max_length=max_lengths)
def test_mine_user_matches_prefixspan(cycles: Cycles, minsup: float, max_length: int | None):
    arrays = [np.array(c) for c in cycles]
    assert mine_user(arrays, minsup, max_length) == reference(cycles, minsup, max_length)


# prefixspan's BIDE is wrong when a cycle repeats a location: it looks for forward extensions
# after the pattern's *last* occurrence, so for cycles [1, 0], [1, 0, 1] it keeps (1,) although
# (1, 0) is in both. It is the oracle on cycles without repeats; the definition is checked by
# brute force on all cycles below.
@settings(max_examples=100, deadline=None)
@given(
    cycles=st.lists(
        st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True), min_size=1, max_size=12
    ),
    minsup=minsups,
)
def test_intra_closed_matches_bide(cycles: Cycles, minsup: float):
    closed = mine_patterns(table([cycles], 6), minsup, workers=1).intra_closed()
    found = [(tuple(closed.pattern(i).tolist()), int(closed.count[i])) for i in range(len(closed))]
    assert found == reference(cycles, minsup, closed=True)


@settings(max_examples=100, deadline=None)
@given(users=st.lists(cycle_sets, min_size=1, max_size=3), minsup=minsups, max_length=max_lengths)
def test_closed_reductions(users: list[Cycles], minsup: float, max_length: int | None):
    base = mine_patterns(table(users, 6), minsup, max_length=max_length, workers=1)
    intra = as_dict(base.intra_closed())
    total = as_dict(base)
    assert intra == {
        (u, p): c
        for (u, p), c in total.items()
        if not any(
            v == u and q != p and is_subsequence(p, q) and d == c for (v, q), d in total.items()
        )
    }
    # Inter-closed: no proper super-sequence of any user with at least the same support.
    support = {key: c / len(users[key[0]]) for key, c in intra.items()}
    expected = {
        key
        for key in intra
        if not any(
            q != key[1] and is_subsequence(key[1], q) and s >= support[key]
            for (_, q), s in support.items()
        )
    }
    assert set(as_dict(base.inter_closed())) == expected


def test_hand_computed_reference():
    a, b, c = 0, 1, 2
    found = mine_user([np.array(s) for s in ([a, b, c], [a, c], [b, a, c])], 2 / 3)
    assert found == [((a,), 3), ((b,), 2), ((c,), 3), ((a, c), 3), ((b, c), 2)]


def test_repeated_locations_form_patterns():
    home, work, cafe = 0, 1, 2
    cycles = [[home, work, home], [home, cafe, work, home], [home, work, cafe], [home]]
    found = dict(mine_user([np.array(c) for c in cycles], 0.5))
    assert found[(home, work, home)] == 2
    assert found[(home, home)] == 2
    assert found[(home, work)] == 3


def test_threshold_is_robust_to_floating_error():
    assert min_count(0.3, 10) == 3  # 0.3 * 10 == 3.0000000000000004
    assert min_count(1e-12, 5) == 1
    cycles = [[0]] * 3 + [[1]] * 7
    assert dict(mine_user([np.array(c) for c in cycles], 0.3)) == {(0,): 3, (1,): 7}


def test_max_length_respected():
    cycles = [np.array([0, 1, 2, 3, 4])] * 3
    found = mine_user(cycles, 1.0, max_length=2)
    assert max(len(p) for p, _ in found) == 2
    assert len(found) == 5 + 10
    assert len(mine_user(cycles, 1.0)) == 2**5 - 1


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan")])
def test_minsup_validated(bad: float):
    with pytest.raises(ValueError, match="minsup"):
        mine_user([np.array([0])], bad)
    with pytest.raises(ValueError, match="minsup"):
        mine_patterns(table([[[0]]]), bad)


def test_max_length_validated():
    with pytest.raises(ValueError, match="max_length"):
        mine_patterns(table([[[0]]]), 0.5, max_length=0)


@pytest.fixture(scope="module")
def routine_base() -> PatternBase:
    return mine_patterns(table(routine_users(1, 40)), 0.3, workers=1)


def test_base_is_sorted_and_consistent(routine_base: PatternBase):
    base = routine_base
    keys = [
        (int(base.holder[i]), len(base.pattern(i)), base.pattern(i).tolist())
        for i in range(len(base))
    ]
    assert keys == sorted(keys)
    assert np.array_equal(base.support, base.count / base.n_cycles)
    for u in np.unique(base.holder):
        assert (base.holder[base.of_user(int(u))] == u).all()
        assert len(base.of_user(int(u))) == (base.holder == u).sum()
    assert base.holder.dtype == np.int32 and base.items.dtype == np.int32
    assert base.offsets.dtype == np.int64 and base.count.dtype == np.int32


def test_containing_agrees_with_brute_force(routine_base: PatternBase):
    base = routine_base
    for location in range(len(base.locations)):
        expected = [i for i in range(len(base)) if location in base.pattern(i)]
        assert base.containing(location).tolist() == expected
    with pytest.raises(IndexError):
        base.containing(len(base.locations))


def test_frame_round_trip(routine_base: PatternBase, tmp_path: Path):
    frame = routine_base.to_frame()
    assert list(frame.columns) == ["user", "pattern", "support", "count", "n_cycles"]
    assert isinstance(frame["pattern"][0], list) and isinstance(frame["pattern"][0][0], str)
    frame.to_parquet(tmp_path / "patterns.parquet")
    for again in (frame, pd.read_parquet(tmp_path / "patterns.parquet")):
        back = PatternBase.from_frame(again, routine_base.users, routine_base.locations)
        for name in ("holder", "offsets", "items", "support", "count", "n_cycles"):
            assert np.array_equal(getattr(back, name), getattr(routine_base, name)), name
        assert (back.minsup, back.max_length) == (0.3, None)
    # Without universes, codes follow the sorted ids in the table: same rows by name.
    shuffled = PatternBase.from_frame(frame.sample(frac=1.0, random_state=0))
    assert sorted(map(str, shuffled.to_frame().itertuples(index=False))) == sorted(
        map(str, frame.itertuples(index=False))
    )


def test_closed_counts_fall_on_routine_data(routine_base: PatternBase):
    intra = routine_base.intra_closed()
    inter = routine_base.inter_closed()
    total, intra_set, inter_set = (set(as_dict(b)) for b in (routine_base, intra, inter))
    assert inter_set <= intra_set <= total
    assert len(total) > len(intra_set) > len(inter_set)
    summary = routine_base.summary()
    assert (summary["patterns"], summary["intra_closed"], summary["inter_closed"]) == (
        len(total),
        len(intra_set),
        len(inter_set),
    )


def test_workers_and_cache_give_identical_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cycles = table(routine_users(2, 30, n_cycles=20))
    one = mine_patterns(cycles, 0.4, workers=1)
    two = mine_patterns(cycles, 0.4, workers=2, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("patterns-*.npz"))) == 1
    assert not list(tmp_path.glob("*.tmp"))

    def no_mining(*args: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(patterns_module, "_mine_chunk", no_mining)
    cached = mine_patterns(cycles, 0.4, workers=2, cache_dir=tmp_path)
    for base in (two, cached):
        for name in ("holder", "offsets", "items", "support", "count", "n_cycles"):
            assert np.array_equal(getattr(base, name), getattr(one, name)), name
    with pytest.raises(AssertionError, match="cache"):
        mine_patterns(cycles, 0.5, workers=1, cache_dir=tmp_path)


def test_users_without_cycles_hold_nothing():
    cycles = table([[[0, 1]], [], [[1, 0], [1]], []], 3)
    for workers in (1, 2):
        base = mine_patterns(cycles, 0.5, workers=workers)
        assert as_dict(base) == {
            (0, (0,)): 1,
            (0, (1,)): 1,
            (0, (0, 1)): 1,
            (2, (0,)): 1,
            (2, (1,)): 2,
            (2, (1, 0)): 1,
        }
        assert len(base.of_user(1)) == len(base.of_user(3)) == 0
    empty = mine_patterns(table([], 2), 0.5, workers=2)
    assert len(empty) == 0 and empty.summary()["patterns"] == 0
    assert len(PatternBase.from_frame(empty.to_frame())) == 0


def test_workers_validated():
    with pytest.raises(ValueError, match="workers"):
        mine_patterns(table([[[0]]]), 0.5, workers=0)


@pytest.fixture(scope="module")
def geolife_cycles() -> CycleTable:
    if not GEOLIFE.is_dir():
        pytest.skip(f"GeoLife sample not found at {GEOLIFE} (set MCSIM_DATA to the data folder)")
    return cut_cycles(load_trace(GEOLIFE), CycleOptions(timezone="Asia/Shanghai"))


@pytest.mark.parametrize("minsup", [0.5, 0.3])
def test_geolife_matches_prefixspan(geolife_cycles: CycleTable, minsup: float):
    base = mine_patterns(geolife_cycles, minsup, workers=1)
    mined = as_dict(base)
    for u, sequences in geolife_cycles.iter_users():
        ours = sorted(
            ((p, c) for (h, p), c in mined.items() if h == u), key=lambda pc: (len(pc[0]), pc[0])
        )
        assert ours == reference([s.tolist() for s in sequences], minsup)
        assert ours == mine_user(sequences, minsup)
    assert set(as_dict(base.inter_closed())) <= set(as_dict(base.intra_closed())) <= set(mined)
