"""The breadth-first miner (mcsim.mining.patterns.miner): one user against the ``prefixspan``
oracle and hand-computed counts, all users whatever the number of workers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns import PatternBase, min_count, mine_patterns, mine_user

Cycles = list[list[int]]
Reference = Callable[..., list[tuple[tuple[int, ...], int]]]
Table = Callable[..., CycleTable]
AsDict = Callable[[PatternBase], dict[tuple[int, tuple[int, ...]], int]]

cycle_sets = st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=12)
minsups = st.sampled_from([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
max_lengths = st.sampled_from([None, 1, 2, 3, 4])


@settings(max_examples=150, deadline=None)
@given(cycles=cycle_sets, minsup=minsups, max_length=max_lengths)
def test_mine_user_matches_prefixspan(
    reference: Reference, cycles: Cycles, minsup: float, max_length: int | None
) -> None:
    arrays = [np.array(c) for c in cycles]
    assert mine_user(arrays, minsup, max_length) == reference(cycles, minsup, max_length)


def test_hand_computed_reference() -> None:
    a, b, c = 0, 1, 2
    found = mine_user([np.array(s) for s in ([a, b, c], [a, c], [b, a, c])], 2 / 3)
    assert found == [((a,), 3), ((b,), 2), ((c,), 3), ((a, c), 3), ((b, c), 2)]


def test_repeated_locations_form_patterns() -> None:
    home, work, cafe = 0, 1, 2
    cycles = [[home, work, home], [home, cafe, work, home], [home, work, cafe], [home]]
    found = dict(mine_user([np.array(c) for c in cycles], 0.5))
    assert found[(home, work, home)] == 2
    assert found[(home, home)] == 2
    assert found[(home, work)] == 3


def test_threshold_is_robust_to_floating_error() -> None:
    assert min_count(0.3, 10) == 3  # 0.3 * 10 == 3.0000000000000004
    assert min_count(1e-12, 5) == 1
    cycles = [[0]] * 3 + [[1]] * 7
    assert dict(mine_user([np.array(c) for c in cycles], 0.3)) == {(0,): 3, (1,): 7}


def test_max_length_respected() -> None:
    cycles = [np.array([0, 1, 2, 3, 4])] * 3
    found = mine_user(cycles, 1.0, max_length=2)
    assert max(len(p) for p, _ in found) == 2
    assert len(found) == 5 + 10
    assert len(mine_user(cycles, 1.0)) == 2**5 - 1


def test_no_cycles_no_patterns() -> None:
    assert mine_user([], 0.5) == []


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), True])
def test_minsup_validated(table: Table, bad: float) -> None:
    with pytest.raises(ValueError, match="minsup"):
        mine_user([np.array([0])], bad)
    with pytest.raises(ValueError, match="minsup"):
        mine_patterns(table([[[0]]]), bad)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_max_length_validated(table: Table, bad: int) -> None:
    with pytest.raises(ValueError, match="max_length"):
        mine_patterns(table([[[0]]]), 0.5, max_length=bad)


def test_workers_validated(table: Table) -> None:
    with pytest.raises(ValueError, match="workers"):
        mine_patterns(table([[[0]]]), 0.5, workers=0)


def test_workers_give_identical_results(
    table: Table, routine_users: Callable[..., list[Cycles]]
) -> None:
    cycles = table(routine_users(2, 30, n_cycles=20))
    one = mine_patterns(cycles, 0.4, workers=1)
    assert len(one) > 0
    for workers in (2, 3):
        other = mine_patterns(cycles, 0.4, workers=workers)
        for name in ("holder", "offsets", "items", "support", "count", "n_cycles"):
            assert np.array_equal(getattr(other, name), getattr(one, name)), name


def test_base_records_its_parameters(table: Table) -> None:
    base = mine_patterns(table([[[0, 1], [0]]]), 0.5, max_length=1, workers=1)
    assert (base.minsup, base.max_length) == (0.5, 1)
    assert [tuple(base.pattern(i).tolist()) for i in range(len(base))] == [(0,), (1,)]
    assert base.support.tolist() == [1.0, 0.5] and base.n_cycles.tolist() == [2, 2]


def test_users_without_cycles_hold_nothing(table: Table, as_dict: AsDict) -> None:
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


@pytest.mark.parametrize("minsup", [0.5, 0.3])
def test_geolife_matches_prefixspan(
    geolife_cycles: CycleTable, reference: Reference, as_dict: AsDict, minsup: float
) -> None:
    base = mine_patterns(geolife_cycles, minsup, workers=1)
    mined = as_dict(base)
    for u, sequences in geolife_cycles.iter_users():
        ours = sorted(
            ((p, c) for (h, p), c in mined.items() if h == u), key=lambda pc: (len(pc[0]), pc[0])
        )
        assert ours == reference([s.tolist() for s in sequences], minsup)
        assert ours == mine_user(sequences, minsup)
    assert set(as_dict(base.inter_closed())) <= set(as_dict(base.intra_closed())) <= set(mined)
