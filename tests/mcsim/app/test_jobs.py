"""A job (mcsim.app.jobs): one (variant, repetition), every policy on the same day and tasks;
one row per policy in policy order, in ``mode: simulate`` and ``mode: allocate``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mcsim.app.jobs import Job, run_job
from mcsim.app.pipeline import Pipeline, PreparedCache
from mcsim.app.scenario import Variant, load_scenario, shipped_scenario
from mcsim.platform.metrics import ALLOCATION_METRIC_COLUMNS
from mcsim.sim import simulate
from policies import make_policy

SMALL = {"trace.synthetic.days": 32, "sensor": "none", "policies": ["NA", "MDP", "IU1"]}


def variants(**overrides: Any) -> tuple[Variant, ...]:
    return load_scenario(shipped_scenario("campus"), {**SMALL, **overrides}).variants


@pytest.fixture(scope="module")
def cache() -> PreparedCache:
    """One preparation for the module: mode and tasks are not part of it."""
    return PreparedCache()


def test_simulate_gives_one_row_per_policy_in_policy_order(cache: PreparedCache) -> None:
    grid = variants(sweep={"tasks.count": [25, 30]})
    assert [v.index for v in grid] == [0, 1]
    result = run_job(grid[1], 2, cache, cache_dir=None)
    assert result.job == Job(variant=1, repetition=2)
    rows = result.metrics
    assert [r["policy"] for r in rows] == ["NA", "MDP", "IU1"]
    assert all((r["variant"], r["repetition"]) == (1, 2) for r in rows)
    assert all(r["tasks.count"] == 30 and r["tasks"] == 30 and r["copies"] == 65 for r in rows)
    # Every policy ran on the same day (the repetition's), with the same population.
    expected_day = Pipeline(grid[1].scenario, 1, cache=cache).day(2).label
    assert {r["day"] for r in rows} == {expected_day}
    assert {(r["users"], r["locations"], r["g"], r["mobility"]) for r in rows} == {
        (68, 124, 6, "replay")
    }
    # Assignments and events carry the job and policy; visits once, under policy "*".
    pairs = result.assignments
    assert list(pairs["policy"].unique()) == ["NA", "MDP", "IU1"]
    assert len(pairs) == sum(r["assigned"] for r in rows)
    assert set(pairs["variant"]) == {1} and set(pairs["repetition"]) == {2}
    events = result.events
    visits = events[events["kind"] == "visit"]
    assert len(visits) > 0 and set(visits["policy"]) == {"*"}
    assert set(events.loc[events["kind"] != "visit", "policy"]) <= {"NA", "MDP", "IU1"}
    assert result.seconds > 0


def test_simulate_is_deterministic(cache: PreparedCache) -> None:
    variant = variants()[0]
    a = run_job(variant, 0, cache, cache_dir=None).metrics
    b = run_job(variant, 0, PreparedCache(), cache_dir=None).metrics
    drop = ("alloc_seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == [
        {k: v for k, v in r.items() if k not in drop} for r in b
    ]


def test_allocate_rows_carry_allocation_metrics_and_no_events(cache: PreparedCache) -> None:
    variant = variants(mode="allocate", **{"tasks.publish": {"start_h": 0, "batches": 1}})[0]
    assert variant.scenario.mode == "allocate"
    result = run_job(variant, 1, cache, cache_dir=None)
    rows = result.metrics
    assert [r["policy"] for r in rows] == ["NA", "MDP", "IU1"]
    for row in rows:
        assert set(ALLOCATION_METRIC_COLUMNS) <= set(row)
        assert (row["variant"], row["repetition"]) == (0, 1)
        assert row["assigned"] + row["unassigned"] == 65
        assert "readings" not in row  # nothing is simulated
    days = Pipeline(variant.scenario, cache=cache).prepared.test_days
    assert rows[0]["day"] == f"held-out days {days.min()}-{days.max()}"
    assert result.events.empty
    pairs = result.assignments
    assert list(pairs.columns) == [
        "user",
        "task",
        "location",
        "coverage",
        "variant",
        "repetition",
        "policy",
    ]
    assert len(pairs) == sum(r["assigned"] for r in rows)


@pytest.mark.parametrize("sensor", ["none", "sensegen-small"])
def test_a_jobs_readings_are_each_policys_world_alone(cache: PreparedCache, sensor: str) -> None:
    """The job generates all its policies' readings in one call; each policy's windows are
    exactly those of its world stepped alone (as the Gym env steps it)."""
    variant = variants(sensor=sensor)[0]
    result = run_job(variant, 1, cache, cache_dir=None)
    index = result.reading_index
    pipeline = Pipeline(variant.scenario, cache=cache)
    for spec in variant.scenario.policies:
        alone = simulate(pipeline.world(1), make_policy(spec.name))
        mine = (index["policy"] == spec.display).to_numpy()
        assert mine.sum() == len(alone.readings) > 0
        np.testing.assert_array_equal(result.readings[mine], alone.readings)
