"""Training and test days (mcsim.app.days): the pools each source implies, disjoint from the
runner's test days, reproducible, and the vectorised generator days equal the day-by-day ones."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from mcsim.app.days import TRAIN_DAY_OFFSET, CycleDays, GeneratorDays, ModelDays
from mcsim.app.mobility import _ground_truth_day, build_training_days
from mcsim.app.pipeline import Pipeline
from mcsim.app.scenario import Scenario, load_scenario, shipped_scenario
from mcsim.sim import DayPlan

SMALL = {"trace.synthetic.days": 32, "sensor": "none", "policies": ["MDP"]}


def campus(**overrides: Any) -> Scenario:
    return load_scenario(shipped_scenario("campus"), {**SMALL, **overrides}).scenario


def same_day(a: DayPlan, b: DayPlan) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("offsets", "location", "arrival", "departure")
    )


def visits_key(day: DayPlan) -> bytes:
    return np.concatenate([day.offsets, day.location, day.arrival, day.departure]).tobytes()


@pytest.mark.parametrize("source", ["replay", "ground_truth"])
def test_synthetic_campus_trains_on_generator_days_after_the_test_days(source: str) -> None:
    pipeline = Pipeline(campus(**{"mobility.source": source}))
    prepared = pipeline.prepared
    pool = prepared.training_days(200)
    assert isinstance(pool, GeneratorDays) and len(pool) == 200
    campus_, options = prepared.material.campus, prepared.material.options
    assert campus_ is not None
    first = campus_.config.n_days + TRAIN_DAY_OFFSET
    assert pool.day(3).label == f"ground-truth day {first + 3}"
    # The block draw equals the day-by-day draw, and the same index is the same object.
    for index in (0, 63, 64, 199):
        assert same_day(pool.day(index), _ground_truth_day(campus_, options, first + index))
    assert pool.day(5) is pool.day(5)
    days = {visits_key(pool.day(i)) for i in range(200)}
    assert len(days) == 200  # distinct days
    assert not days & {visits_key(pipeline.day(r)) for r in range(5)}


def test_pattern_source_trains_on_model_days_of_their_own_stream() -> None:
    scenario = campus(**{"mobility.source": "patterns"})
    pipeline = Pipeline(scenario)
    pool = pipeline.prepared.training_days(50)
    assert isinstance(pool, ModelDays)
    train = {visits_key(pool.day(i)) for i in range(50)}
    test = {visits_key(pipeline.day(r)) for r in range(50)}
    assert len(train) == 50 and not train & test
    again = Pipeline(scenario).prepared.training_days(50)
    assert same_day(again.day(7), pool.day(7))


def test_replayed_trace_file_trains_on_its_training_cycles() -> None:
    prepared = Pipeline(campus()).prepared
    pool = build_training_days(
        "replay", dataclasses.replace(prepared.material, campus=None), 10_000
    )
    assert isinstance(pool, CycleDays) and len(pool) == len(np.unique(prepared.train.cycle))
    assert pool.day(0).label.startswith("training cycle")
    with pytest.raises(ValueError, match=r"has days 0\.\.\d+; got day 10000"):
        pool.day(10_000)
