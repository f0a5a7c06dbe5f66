"""Where simulated days come from: the registry behind a scenario's ``mobility.source``.

The sources themselves are core (:mod:`mcsim.sim.sources`); this module maps the names a
scenario may use to factories that build one from the prepared material, like the policy
registry maps names to policies. A researcher adds a source with :func:`register_source`; the
scenario schema accepts every registered name.

Built-ins (see :mod:`mcsim.sim.sources` for their biases):

* ``replay``: the held-out test cycles, in a seeded order;
* ``patterns``: days drawn from each user's pattern model of the training cycles;
* ``ground_truth``: new days of the synthetic campus's generator (synthetic traces only).

Each source also implies where an RL agent's *training* days come from, disjoint from its
test days (:mod:`mcsim.app.days`); :func:`register_source` takes that too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from generators.mobility import SyntheticCampus
from mcsim.app.days import TRAIN_DAY_OFFSET, CycleDays, DayPool, GeneratorDays, ModelDays
from mcsim.errors import ScenarioError
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles
from mcsim.mining.patterns import PatternBase
from mcsim.sim import DayPlan, GroundTruthSource, MobilitySource, PatternDaySource, ReplaySource


@dataclass(frozen=True, eq=False)
class SourceMaterial:
    """What a source may be built from: the split cycles, the mined patterns, the generator.

    Attributes:
        train, test: the training and held-out cycles.
        patterns: the patterns mined from ``train``.
        options: how the trace was cut into cycles.
        campus: the synthetic campus that made the trace (None for a trace file).
        order_rng: the seeded generator of the order of replayed days.
        seed: the scenario's seed (training days draw from their own stream of it).
        source_name: the scenario's ``mobility.source``.
    """

    train: CycleTable
    test: CycleTable
    patterns: PatternBase
    options: CycleOptions
    campus: SyntheticCampus | None
    order_rng: np.random.Generator
    seed: int
    source_name: str


SourceFactory = Callable[[SourceMaterial], MobilitySource]
#: ``factory(material, size)`` -> the pool of training days of a source.
TrainingDaysFactory = Callable[[SourceMaterial, int], DayPool]


def _replay(material: SourceMaterial) -> MobilitySource:
    return ReplaySource(material.test, material.order_rng)


def _patterns(material: SourceMaterial) -> MobilitySource:
    return PatternDaySource(material.train, material.patterns)


def _ground_truth(material: SourceMaterial) -> MobilitySource:
    campus = material.campus
    if campus is None:
        raise ScenarioError(
            "'ground_truth' needs a synthetic trace; expected 'replay' or 'patterns'",
            column="mobility.source",
        )
    draw = partial(_ground_truth_day, campus, material.options)
    return GroundTruthSource(draw, first_day=campus.config.n_days)


def _ground_truth_day(campus: SyntheticCampus, options: CycleOptions, day: int) -> DayPlan:
    """The synthetic campus's day ``day`` for every user, cut like the training trace."""
    cycles = cut_cycles(campus.visits(range(day, day + 1)), options)
    first = cycles.cycle.min() if len(cycles) else -1
    rows = np.flatnonzero(cycles.cycle == first)
    return DayPlan.from_cycles(cycles, rows, label=f"ground-truth day {day}")


def _ground_truth_days(
    campus: SyntheticCampus, options: CycleOptions, first: int, count: int
) -> list[DayPlan]:
    """Days ``first .. first + count - 1`` in one vectorised draw; each equals
    :func:`_ground_truth_day` of it (one cycle per day; day by day when a day is empty)."""
    cycles = cut_cycles(campus.visits(range(first, first + count)), options)
    calendar = np.unique(cycles.cycle)
    if len(calendar) != count:
        return [_ground_truth_day(campus, options, first + i) for i in range(count)]
    return [
        DayPlan.from_cycles(
            cycles, np.flatnonzero(cycles.cycle == cycle), label=f"ground-truth day {first + i}"
        )
        for i, cycle in enumerate(calendar.tolist())
    ]


def _generator_training_days(material: SourceMaterial, size: int) -> DayPool:
    campus = material.campus
    assert campus is not None
    draw = partial(_ground_truth_days, campus, material.options)
    return GeneratorDays(draw, campus.config.n_days + TRAIN_DAY_OFFSET, size)


def _model_training_days(material: SourceMaterial, size: int) -> DayPool:
    return ModelDays(PatternDaySource(material.train, material.patterns), material.seed, size)


def _replay_training_days(material: SourceMaterial, size: int) -> DayPool:
    if material.campus is not None:
        return _generator_training_days(material, size)
    return CycleDays(material.train)


#: Source names a scenario may use -> factory (see :func:`register_source`).
MOBILITY_SOURCES: dict[str, SourceFactory] = {
    "replay": _replay,
    "patterns": _patterns,
    "ground_truth": _ground_truth,
}
#: Source name -> factory of its training days (others: pattern-model days).
TRAINING_DAYS: dict[str, TrainingDaysFactory] = {
    "replay": _replay_training_days,
    "patterns": _model_training_days,
    "ground_truth": _generator_training_days,
}


def register_source(
    name: str, factory: SourceFactory, training_days: TrainingDaysFactory | None = None
) -> None:
    """Make ``mobility: {source: NAME}`` build its days with ``factory(material)``, and an RL
    agent's training days with ``training_days(material, size)`` (default: days of the
    pattern model of the training cycles, never one of the source's test days)."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"bad source name {name!r}; expected letters, digits and '_'")
    MOBILITY_SOURCES[name] = factory
    TRAINING_DAYS[name] = training_days or _model_training_days


def build_training_days(name: str, material: SourceMaterial, size: int) -> DayPool:
    """The pool of ``size`` training days (fewer for a replayed trace file) that the source
    ``name`` implies (:mod:`mcsim.app.days`)."""
    return TRAINING_DAYS.get(name, _model_training_days)(material, size)


def build_source(name: str, material: SourceMaterial) -> MobilitySource:
    """The registered source ``name`` built from ``material``."""
    try:
        factory = MOBILITY_SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(MOBILITY_SOURCES))
        raise ScenarioError(
            f"unknown mobility source {name!r}; expected one of {known}",
            column="mobility.source",
        ) from None
    return factory(material)
