"""Simulated days (mcsim.sim.days): DayPlan packing, clipping and its views.

Named test_sim_days.py: tests/generators/mobility/test_days.py holds that basename.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.sim import DayPlan

DAY_S = 86_400.0


def build(*visits: tuple[int, int, float, float], n_users: int = 3, length_s: float = 1000.0):
    """A plan from (user, location, arrival, departure) tuples."""
    user, loc, arrival, departure = (np.array(x) for x in zip(*visits, strict=True))
    return DayPlan.build(user, loc, arrival, departure, n_users=n_users, length_s=length_s)


def test_build_sorts_packs_and_clips() -> None:
    plan = DayPlan.build(
        np.array([1, 0, 0, 1]),
        np.array([2, 1, 0, 3]),
        np.array([50.0, 300.0, -10.0, 10.0]),
        np.array([100.0, 400.0, 500.0, 20.0]),
        n_users=3,
        length_s=1000.0,
        label="hand-made",
    )
    # User 0: arrival -10 clipped to 0, departure 500 clipped to the next arrival (300).
    assert plan.visits(0) == [(0, 0.0, 300.0), (1, 300.0, 400.0)]
    assert plan.visits(1) == [(3, 10.0, 20.0), (2, 50.0, 100.0)]
    assert plan.visits(2) == []
    assert plan.offsets.tolist() == [0, 2, 4, 4]
    assert plan.user_of_visit().tolist() == [0, 0, 1, 1]
    assert (plan.n_users, len(plan), plan.length_s, plan.label) == (3, 4, 1000.0, "hand-made")
    assert plan.offsets.dtype == np.int64 and plan.location.dtype == np.int32
    assert plan.arrival.dtype == plan.departure.dtype == np.float64


def test_times_are_clipped_into_the_cycle() -> None:
    plan = build((0, 1, 900.0, 2000.0), (1, 1, 1500.0, 2000.0), (2, 1, 100.0, 50.0))
    assert plan.visits(0) == [(1, 900.0, 1000.0)]  # departure past the end: the end
    assert plan.visits(1) == [(1, 1000.0, 1000.0)]  # all after the end: an empty visit at it
    assert plan.visits(2) == [(1, 100.0, 100.0)]  # departure before arrival: the arrival


def test_overlaps_are_clipped_within_a_user_only() -> None:
    plan = build((0, 0, 0.0, 500.0), (0, 1, 100.0, 200.0), (1, 2, 150.0, 600.0))
    assert plan.visits(0) == [(0, 0.0, 100.0), (1, 100.0, 200.0)]
    assert plan.visits(1) == [(2, 150.0, 600.0)]  # another user's visit is no overlap


def test_build_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"user codes must lie in 0\.\.2"):
        build((3, 0, 0.0, 1.0))
    with pytest.raises(ValueError, match="user codes"):
        build((-1, 0, 0.0, 1.0))
    with pytest.raises(ValueError, match="differ in length"):
        DayPlan.build(
            np.array([0]), np.array([0, 1]), np.array([0.0]), np.array([1.0]), n_users=1, length_s=1
        )


def test_empty_day() -> None:
    empty = np.zeros(0)
    plan = DayPlan.build(empty, empty, empty, empty, n_users=2, length_s=DAY_S)
    assert len(plan) == 0 and plan.n_users == 2
    assert plan.offsets.tolist() == [0, 0, 0]
    assert plan.visits(1) == []


def cycles() -> CycleTable:
    """Three users; user 0 has cycles 10 (two visits) and 11, user 1 cycle 10, user 2 none."""
    return CycleTable(
        users=pd.Index(["a", "b", "c"]),
        locations=pd.Index(["x", "y", "z"]),
        user=np.array([0, 0, 1], np.int32),
        cycle=np.array([10, 11, 10], np.int64),
        offsets=np.array([0, 2, 3, 4], np.int64),
        location=np.array([0, 1, 2, 1], np.int32),
        arrival=np.array([0.0, 200.0, 0.0, 10.0], np.float32),
        departure=np.array([100.0, 300.0, 50.0, 20.0], np.float32),
        options=CycleOptions(),
    )


def test_from_cycles_takes_the_given_rows() -> None:
    plan = DayPlan.from_cycles(cycles(), np.array([1, 2]), label="mixed")
    assert plan.n_users == 3 and plan.length_s == DAY_S and plan.label == "mixed"
    assert plan.visits(0) == [(2, 0.0, 50.0)]  # user 0's cycle 11, not its cycle 10
    assert plan.visits(1) == [(1, 10.0, 20.0)]
    assert plan.visits(2) == []
    first = DayPlan.from_cycles(cycles(), np.array([0]))
    assert first.visits(0) == [(0, 0.0, 100.0), (1, 200.0, 300.0)]
    assert len(first) == 2


def test_from_cycles_takes_one_cycle_per_user() -> None:
    with pytest.raises(ValueError, match="at most one cycle per user"):
        DayPlan.from_cycles(cycles(), np.array([0, 1]))


def test_senses_is_the_sensing_rule_with_closed_intervals() -> None:
    # User 0 at location 3 during [100, 200], then location 4 during [300, 400]; user 1 idle.
    day = DayPlan.build(
        np.array([0, 0]), np.array([3, 4]), np.array([100.0, 300.0]), np.array([200.0, 400.0]),
        n_users=2, length_s=1000.0,
    )  # fmt: skip
    assert day.senses(0, 3, 150.0, 160.0)  # inside
    assert day.senses(0, 3, 200.0, 250.0)  # touches the departure
    assert day.senses(0, 3, 0.0, 100.0)  # touches the arrival
    assert not day.senses(0, 3, 201.0, 900.0)  # left before the window
    assert not day.senses(0, 4, 0.0, 299.0)  # arrives after the deadline
    assert not day.senses(0, 5, 0.0, 1000.0)  # never there
    assert not day.senses(1, 3, 0.0, 1000.0)  # no visit at all
