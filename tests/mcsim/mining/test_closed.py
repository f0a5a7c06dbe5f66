"""The closed reductions of a pattern base (mcsim.mining.patterns.closed).

Intra-closure is checked against prefixspan's BIDE on cycles without repeats, and against
a brute-force reading of the definition everywhere; inter-closure has no oracle, so it is
checked against the brute-force reading of its definition and a hand-computed case.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns import PatternBase, mine_patterns
from mcsim.mining.patterns.closed import (
    _deletions,
    _group_rows,
    inter_redundant,
    intra_redundant,
)

Cycles = list[list[int]]
Reference = Callable[..., list[tuple[tuple[int, ...], int]]]
Table = Callable[..., CycleTable]
AsDict = Callable[[PatternBase], dict[tuple[int, tuple[int, ...]], int]]

cycle_sets = st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=12)
minsups = st.sampled_from([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
max_lengths = st.sampled_from([None, 1, 2, 3, 4])


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


def test_redundancy_masks_by_hand(table: Table) -> None:
    # The base of test_closed_reductions_by_hand, in base order (holder, length, items):
    # u0 <0> <1> <0 1>, u1 <0> <1> <0 1>.
    base = mine_patterns(table([[[0, 1], [0, 1]], [[0], [0, 1]]]), 0.5, workers=1)
    assert intra_redundant(base).tolist() == [True, True, False, False, True, False]
    intra = base.intra_closed()  # u0 <0 1>, u1 <0>, u1 <0 1>
    assert inter_redundant(intra).tolist() == [False, True, False]


def test_deletions_and_row_groups() -> None:
    rows = np.array([[1, 2, 3], [4, 5, 6]])
    # Position-major: block i deletes column i of every row.
    assert _deletions(rows).tolist() == [[2, 3], [5, 6], [1, 3], [4, 6], [1, 2], [4, 5]]
    group, n = _group_rows(np.array([[1, 2], [3, 4], [1, 2]]))
    assert n == 2 and group[0] == group[2] != group[1]
    group, n = _group_rows(np.zeros((3, 0), dtype=np.int64))  # the empty pattern, three times
    assert n == 1 and group.tolist() == [0, 0, 0]
