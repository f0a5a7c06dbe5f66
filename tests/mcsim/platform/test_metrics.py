"""Metrics: reference values for the paper's completion ratio, the per-day summary and the
held-out scoring of an allocation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse

from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.locations import LocationModel
from mcsim.mining.patterns.base import make_base
from mcsim.platform.allocation import Assignment
from mcsim.platform.costs import ENERGY, PRICES, SPECIAL_TRIP_FACTOR
from mcsim.platform.metrics import (
    METRIC_COLUMNS,
    HeldOutDays,
    allocation_metrics,
    completion_ratios,
    day_metrics,
    mean_claim,
)
from mcsim.platform.tasks import Task, TaskBatch
from mcsim.sim.world import SimResult


def test_completion_ratio_reference_values() -> None:
    # User 0: 1 of 2 done; user 1: 1 of 1 done -> mean over users 0.75, pooled 2/3.
    per_user, overall = completion_ratios(np.array([0, 0, 1]), np.array([True, False, True]))
    assert per_user == pytest.approx(0.75)
    assert overall == pytest.approx(2 / 3)
    assert all(math.isnan(x) for x in completion_ratios(np.zeros(0), np.zeros(0, bool)))


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40))
def test_completion_ratios_lie_in_unit_interval(pairs: list[tuple[int, bool]]) -> None:
    user = np.array([u for u, _ in pairs])
    done = np.array([d for _, d in pairs])
    per_user, overall = completion_ratios(user, done)
    assert 0.0 <= per_user <= 1.0 and 0.0 <= overall <= 1.0
    if done.all() or not done.any():
        assert per_user == overall


def test_mean_claim_skips_missing_claims() -> None:
    assert mean_claim(np.array([0.5, np.nan, 1.0])) == pytest.approx(0.75)
    assert math.isnan(mean_claim(np.array([np.nan])))


def _small_day() -> SimResult:
    """Three pairs: user 0 holds tasks 1 (location 0, completed) and 2 (location 1); user 2
    holds task 1 (location 0); one 8-sample reading."""
    pairs = pd.DataFrame(
        {
            "decision": [0, 0, 1],
            "assigned_s": [0.0, 0.0, 10.0],
            "user": [0, 0, 2],
            "task": [1, 2, 1],
            "location": [0, 1, 0],
            "coverage": [0.9, 0.7, np.nan],
            "completed": [True, False, False],
            "sensed_s": [5.0, np.nan, np.nan],
        }
    )
    decisions = pd.DataFrame(
        {
            "decision": [0, 1],
            "time_s": [0.0, 10.0],
            "tasks": [2, 1],
            "copies": [3, 1],
            "assigned": [2, 1],
            "iterations": [4, 1],
            "seconds": [0.25, 0.5],
            "unassigned": [1, 0],
        }
    )
    return SimResult(
        pairs,
        decisions,
        pd.DataFrame(),
        np.zeros((1, 8, 3), np.float32),
        np.array([0]),
        unassigned=0,
        active=np.array([True, False, False]),
        visits=7,
        sensor_calls=1,
        published=4,
    )


def test_day_metrics_reference_values() -> None:
    result = _small_day()
    # p_test(loc | u): user 0 visits location 0 on half its test days, location 1 never;
    # user 2 visits location 0 always.
    test_model = LocationModel(sparse.csr_matrix(np.array([[0.5, 0.0], [0.0, 0.0], [1.0, 0.0]])))
    m = day_metrics(result, test_model)
    assert set(m) == set(METRIC_COLUMNS)
    assert m["completion_ratio"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["completion_ratio_active"] == pytest.approx(0.5)  # user 2 did not move that day
    assert m["completion_ratio_overall"] == pytest.approx(1 / 3)
    assert m["fulfillment"] == pytest.approx(1 / 4)  # 1 completed of 4 published copies
    assert m["coverage"] == pytest.approx(0.8)
    assert m["coverage_empirical"] == pytest.approx(0.5)
    assert m["tasks_per_user"] == pytest.approx(1.5)
    assert (m["users_recruited"], m["assigned"], m["completed"]) == (2, 3, 1)
    assert (m["iterations"], m["alloc_seconds"], m["readings"]) == (5, 0.75, 1)
    # Without the patterns a special trip cannot be told apart: incentives are unknown.
    assert math.isnan(m["incentive_usd"]) and math.isnan(m["special_trips"])
    # One reading of 8 samples, two recruited users.
    assert m["energy_j"] == pytest.approx(ENERGY.reading_j(8))
    assert m["energy_per_user_j"] == pytest.approx(ENERGY.reading_j(8) / 2)


def test_day_metrics_price_bundles_and_special_trips() -> None:
    # User 0's only pattern holds location 0, so its copy at location 1 is a special trip;
    # user 2 has no pattern: its copy is one too.
    patterns = make_base(
        pd.Index(["a", "b", "c"]), pd.Index(["x", "y"]), holder=np.array([0]),
        lengths=np.array([1]), items=np.array([0]), count=np.array([3]), n_cycles=np.array([4]),
        minsup=0.5, max_length=None,
    )  # fmt: skip
    m = day_metrics(_small_day(), patterns=patterns)
    user_0 = PRICES.bundle_price(2) / 2 * (1 + SPECIAL_TRIP_FACTOR)
    user_2 = PRICES.bundle_price(1) * SPECIAL_TRIP_FACTOR
    assert m["special_trips"] == 2
    assert m["incentive_usd"] == pytest.approx(user_0 + user_2)
    assert m["incentive_per_completed_usd"] == pytest.approx(user_0 + user_2)  # 1 completed


def test_held_out_scoring_matches_a_hand_count() -> None:
    # Two users, three locations, two held-out days (11 and 12); user 1 is absent on day 12.
    test = CycleTable(
        users=pd.Index(["a", "b"]),
        locations=pd.Index(["x", "y", "z"]),
        user=np.array([0, 0, 1], np.int32),
        cycle=np.array([11, 12, 11], np.int64),
        offsets=np.array([0, 2, 3, 4]),
        location=np.array([0, 1, 0, 2], np.int32),
        arrival=np.zeros(4, np.float32),
        departure=np.ones(4, np.float32),
        options=CycleOptions(),
    )
    held_out = HeldOutDays(test, np.array([11, 12]), n_users=2, n_locations=3)
    tasks = TaskBatch.from_tasks([Task(0, 0, 0.0, 1), Task(1, 2, 0.0, 2)])
    assignment = Assignment(
        user=np.array([0, 1, 0], np.int32),
        task=np.array([0, 1, 1], np.int64),
        coverage=np.array([0.5, np.nan, 0.25]),
        iterations=3,
    )
    metrics = allocation_metrics(assignment, tasks, held_out)
    # Pairs (user, location): (a, x) visited on both days; (b, z) on day 11, b absent on 12;
    # (a, z) never. Visited per day: [1, 1, 0] and [1, 0, 0]; active: all but (b, day 12).
    assert metrics["coverage_empirical"] == pytest.approx(3 / 6)
    assert metrics["coverage_empirical_active"] == pytest.approx(3 / 5)
    # Per user completed / assigned: day 11 a 1/2, b 1/1 -> 0.75; day 12 a 1/2, b 0/1 -> 0.25.
    assert metrics["completion_ratio"] == pytest.approx(0.5)
    # Published copies: 1 + 2 = 3; visited pairs 2 on day 11, 1 on day 12.
    assert metrics["fulfillment"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert metrics["coverage_sum"] == pytest.approx(0.75)
    assert metrics["coverage"] == pytest.approx(0.375)
    assert metrics["tasks_per_user"] == pytest.approx(1.5)
    assert math.isnan(metrics["incentive_usd"])  # no patterns given
    # User a's pattern holds x: its copy at z and b's copy at z are special trips.
    patterns = make_base(
        pd.Index(["a", "b"]), pd.Index(["x", "y", "z"]), holder=np.array([0]),
        lengths=np.array([1]), items=np.array([0]), count=np.array([3]), n_cycles=np.array([4]),
        minsup=0.5, max_length=None,
    )  # fmt: skip
    priced = allocation_metrics(assignment, tasks, held_out, patterns=patterns)
    paid = PRICES.bundle_price(2) / 2 * (1 + SPECIAL_TRIP_FACTOR)
    paid += PRICES.bundle_price(1) * SPECIAL_TRIP_FACTOR
    assert priced["special_trips"] == 2
    assert priced["incentive_usd"] == pytest.approx(paid)
    assert priced["incentive_per_completed_usd"] == pytest.approx(paid / 1.5)  # (2 + 1) / 2 days
