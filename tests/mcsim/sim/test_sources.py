"""Mobility sources: replayed test cycles, pattern-driven days and synthetic ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from generators.mobility import generate_campus
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleOptions, cut_cycles, split_cycles
from mcsim.mining.patterns import mine_patterns
from mcsim.sim import (
    DayPlan,
    GroundTruthSource,
    PatternDaySource,
    ReplaySource,
    scale_population,
)


@pytest.fixture(scope="module")
def cycles():
    """Two users over 8 days: a walks home-work-home, b home-cafe-gym (gym every other day)."""
    rows = []
    for d in range(8):
        routes = {
            "a": ["home", "work", "home"],
            "b": ["home2", "cafe"] + (["gym"] if d % 2 else []),
        }
        for user, route in routes.items():
            for k, loc in enumerate(route):
                start = pd.Timestamp("2024-01-01T06:00Z") + pd.Timedelta(days=d, hours=3 * k)
                rows.append((user, loc, start, start + pd.Timedelta(hours=2)))
    trace = Trace.from_frame(pd.DataFrame(rows, columns=["user", "location", "time", "end"]))
    return cut_cycles(trace, CycleOptions())


def test_day_plan_from_cycles_round_trip(cycles) -> None:
    rows = np.flatnonzero(cycles.cycle == cycles.cycle.min())
    plan = DayPlan.from_cycles(cycles, rows, label="x")
    assert plan.n_users == 2 and plan.label == "x"
    home, work = cycles.locations.get_loc("home"), cycles.locations.get_loc("work")
    assert plan.visits(0) == [
        (home, 7200.0, 14400.0),
        (work, 18000.0, 25200.0),
        (home, 28800.0, 36000.0),
    ]
    with pytest.raises(ValueError, match="one cycle per user"):
        DayPlan.from_cycles(cycles, np.array([0, 1]))


def test_replay_walks_through_shuffled_test_days(cycles) -> None:
    _, test = split_cycles(cycles, train_cycles=5)
    source = ReplaySource(test, np.random.default_rng(0))
    labels = [source.day(r, np.random.default_rng(r)).label for r in range(6)]
    assert sorted(labels[:3]) == sorted(f"replay cycle {c}" for c in np.unique(test.cycle))
    assert labels[3:] == labels[:3]  # more repetitions than test days: cycle through them
    with pytest.raises(ValueError, match="no test cycles"):
        ReplaySource(test.select(np.zeros(len(test), bool)), np.random.default_rng(0))


def test_pattern_days_follow_training_statistics(cycles) -> None:
    train, _ = split_cycles(cycles, train_cycles=6)
    patterns = mine_patterns(train, 0.5, workers=1)
    source = PatternDaySource(train, patterns)
    plan = source.day(0, np.random.default_rng(1))
    again = source.day(0, np.random.default_rng(1))
    np.testing.assert_array_equal(plan.location, again.location)
    np.testing.assert_array_equal(plan.arrival, again.arrival)
    # Users only go where they went in training; a's days follow home -> work -> home.
    for u in range(2):
        seen = set(train.location[np.repeat(train.user, np.diff(train.offsets)) == u].tolist())
        assert {loc for loc, _, _ in plan.visits(u)} <= seen
    names = [cycles.locations[loc] for loc, _, _ in plan.visits(0)]
    assert names == ["home", "work", "home"]
    assert (plan.arrival >= 0).all() and (plan.departure <= 86_400.0).all()
    assert (plan.departure >= plan.arrival).all()


def test_pattern_days_vary_between_repetitions(cycles) -> None:
    train, _ = split_cycles(cycles, train_cycles=6)
    source = PatternDaySource(train, mine_patterns(train, 0.5, workers=1))
    days = {tuple(source.day(r, np.random.default_rng(r)).visits(1)) for r in range(12)}
    assert len(days) > 1


def test_ground_truth_days_are_the_generators() -> None:
    campus = generate_campus("wtd", seed=3)
    options = campus.cycle_options()

    def draw(d: int) -> DayPlan:
        cut = cut_cycles(campus.visits(range(d, d + 1)), options)
        return DayPlan.from_cycles(cut, np.flatnonzero(cut.cycle == cut.cycle.min()))

    source = GroundTruthSource(draw, first_day=campus.config.n_days)
    plan = source.day(2, np.random.default_rng(0))
    expected = campus.visits(range(32, 33)).frame
    user = expected["user"].cat.codes.to_numpy()
    assert plan.n_users == campus.config.n_users
    assert set(np.flatnonzero(np.diff(plan.offsets) > 0)) == set(np.unique(user))


def test_scale_population_copies_templates_round_robin(cycles) -> None:
    train, _ = split_cycles(cycles, train_cycles=6)
    patterns = mine_patterns(train, 0.5, workers=1)
    population = scale_population(train, patterns, 5, 4, np.random.default_rng(2))
    assert list(population.users) == [f"v{i:06d}" for i in range(1, 6)]
    assert population.locations.equals(train.locations)
    assert set(np.unique(population.cycle)) <= set(
        range(int(train.cycle.min()), int(train.cycle.min()) + 4)
    )
    # Even virtual users copy a (home, work), odd ones b; both are active every day.
    a_places = {train.locations.get_loc("home"), train.locations.get_loc("work")}
    for i in range(len(population)):
        places = set(population.sequence(i).tolist())
        assert (places <= a_places) if population.user[i] % 2 == 0 else not places & a_places
    assert np.array_equal(population.n_cycles(), np.full(5, 4))
    again = scale_population(train, patterns, 5, 4, np.random.default_rng(2))
    np.testing.assert_array_equal(population.arrival, again.arrival)
