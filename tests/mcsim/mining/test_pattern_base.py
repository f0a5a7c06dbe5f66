"""The pattern base (mcsim.mining.patterns.base) and its closed reductions (.closed).

Intra-closure is checked against prefixspan's BIDE on cycles without repeats, and against
a brute-force reading of the definition everywhere; inter-closure has no oracle, so it is
checked against the brute-force reading of its definition and a hand-computed case.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns import PatternBase, mine_patterns

Cycles = list[list[int]]
Reference = Callable[..., list[tuple[tuple[int, ...], int]]]
Table = Callable[..., CycleTable]
AsDict = Callable[[PatternBase], dict[tuple[int, tuple[int, ...]], int]]

cycle_sets = st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=12)
minsups = st.sampled_from([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
max_lengths = st.sampled_from([None, 1, 2, 3, 4])
ARRAYS = ("holder", "offsets", "items", "support", "count", "n_cycles")


def is_subsequence(short: tuple[int, ...], long: tuple[int, ...]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


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
def test_intra_closed_matches_bide(
    table: Table, reference: Reference, cycles: Cycles, minsup: float
) -> None:
    closed = mine_patterns(table([cycles], 6), minsup, workers=1).intra_closed()
    found = [(tuple(closed.pattern(i).tolist()), int(closed.count[i])) for i in range(len(closed))]
    assert found == reference(cycles, minsup, closed=True)


@settings(max_examples=100, deadline=None)
@given(users=st.lists(cycle_sets, min_size=1, max_size=3), minsup=minsups, max_length=max_lengths)
def test_closed_reductions(
    table: Table, as_dict: AsDict, users: list[Cycles], minsup: float, max_length: int | None
) -> None:
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


def test_closed_reductions_by_hand(table: Table, as_dict: AsDict) -> None:
    # u0: <0>, <1>, <0 1> all in both cycles: only <0 1> is intra-closed.
    # u1: <0> 2/2, <1> 1/2, <0 1> 1/2: <1> has the super-sequence <0 1> with the same count.
    base = mine_patterns(table([[[0, 1], [0, 1]], [[0], [0, 1]]]), 0.5, workers=1)
    assert as_dict(base) == {
        (0, (0,)): 2,
        (0, (1,)): 2,
        (0, (0, 1)): 2,
        (1, (0,)): 2,
        (1, (1,)): 1,
        (1, (0, 1)): 1,
    }
    assert as_dict(base.intra_closed()) == {(0, (0, 1)): 2, (1, (0,)): 2, (1, (0, 1)): 1}
    # u1's <0> (support 1) is dominated by u0's <0 1> (support 1); u1's <0 1> (support 1/2)
    # has no *proper* super-sequence, so it stays.
    assert as_dict(base.inter_closed()) == {(0, (0, 1)): 2, (1, (0, 1)): 1}
    assert base.intra_closed().intra_closed().summary() == base.intra_closed().summary()
    assert base.summary() == {
        "users": 2,
        "holders": 2,
        "locations": 2,
        "patterns": 6,
        "intra_closed": 3,
        "inter_closed": 2,
        "longest": 2,
    }


def test_base_is_sorted_and_consistent(routine_base: PatternBase) -> None:
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


def test_containing_agrees_with_brute_force(routine_base: PatternBase) -> None:
    base = routine_base
    for location in range(len(base.locations)):
        expected = [i for i in range(len(base)) if location in base.pattern(i)]
        assert base.containing(location).tolist() == expected
    with pytest.raises(IndexError):
        base.containing(len(base.locations))
    with pytest.raises(IndexError):
        base.containing(-1)


def test_select_keeps_order_and_universes(routine_base: PatternBase) -> None:
    mask = np.arange(len(routine_base)) % 3 == 0
    part = routine_base.select(mask)
    assert len(part) == mask.sum()
    assert part.users is routine_base.users and part.locations is routine_base.locations
    for j, i in enumerate(np.flatnonzero(mask)):
        assert part.pattern(j).tolist() == routine_base.pattern(int(i)).tolist()
        assert (part.holder[j], part.count[j]) == (routine_base.holder[i], routine_base.count[i])
    with pytest.raises(ValueError, match="boolean"):
        routine_base.select(np.ones(len(routine_base), dtype=int))
    with pytest.raises(ValueError, match="shape"):
        routine_base.select(np.ones(len(routine_base) + 1, dtype=bool))


def test_frame_round_trip(routine_base: PatternBase, tmp_path: Path) -> None:
    frame = routine_base.to_frame()
    assert list(frame.columns) == ["user", "pattern", "support", "count", "n_cycles"]
    assert isinstance(frame["pattern"][0], list) and isinstance(frame["pattern"][0][0], str)
    frame.to_parquet(tmp_path / "patterns.parquet")
    for again in (frame, pd.read_parquet(tmp_path / "patterns.parquet")):
        back = PatternBase.from_frame(again, routine_base.users, routine_base.locations)
        for name in ARRAYS:
            assert np.array_equal(getattr(back, name), getattr(routine_base, name)), name
        assert (back.minsup, back.max_length) == (0.3, None)
    # Without universes, codes follow the sorted ids in the table: same rows by name.
    shuffled = PatternBase.from_frame(frame.sample(frac=1.0, random_state=0))
    assert sorted(map(str, shuffled.to_frame().itertuples(index=False))) == sorted(
        map(str, frame.itertuples(index=False))
    )


def test_from_frame_validates(routine_base: PatternBase) -> None:
    frame = routine_base.to_frame()
    with pytest.raises(ValueError, match="lacks column"):
        PatternBase.from_frame(frame.drop(columns="count"))
    with pytest.raises(ValueError, match="user universe"):
        PatternBase.from_frame(frame, routine_base.users[1:], routine_base.locations)
    with pytest.raises(ValueError, match="location universe"):
        PatternBase.from_frame(frame, routine_base.users, routine_base.locations[:1])
    wrong = frame.assign(support=frame["support"] / 2)
    with pytest.raises(ValueError, match="support differs"):
        PatternBase.from_frame(wrong)
    # Without attrs, minsup falls back to the smallest support and max_length to None.
    bare = pd.DataFrame(frame.to_dict("list"))
    assert PatternBase.from_frame(bare).minsup == frame["support"].min()
    assert PatternBase.from_frame(bare, minsup=0.25, max_length=3).max_length == 3


def test_closed_counts_fall_on_routine_data(routine_base: PatternBase, as_dict: AsDict) -> None:
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
