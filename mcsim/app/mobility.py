"""Where simulated days come from: the registry behind a scenario's ``mobility.source``.

The sources themselves are core (:mod:`mcsim.sim.sources`); this module maps the names a
scenario may use to factories that build one from the prepared material, like the policy
registry maps names to policies. A researcher adds a source with :func:`register_source`; the
scenario schema accepts every registered name.

Built-ins (see :mod:`mcsim.sim.sources` for their biases):

* ``replay``: the held-out test cycles, in a seeded order;
* ``patterns``: days drawn from each user's pattern model of the training cycles;
* ``ground_truth``: new days of the synthetic campus's generator (synthetic traces only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from generators.mobility import SyntheticCampus
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
    """

    train: CycleTable
    test: CycleTable
    patterns: PatternBase
    options: CycleOptions
    campus: SyntheticCampus | None
    order_rng: np.random.Generator


SourceFactory = Callable[[SourceMaterial], MobilitySource]


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


#: Source names a scenario may use -> factory (see :func:`register_source`).
MOBILITY_SOURCES: dict[str, SourceFactory] = {
    "replay": _replay,
    "patterns": _patterns,
    "ground_truth": _ground_truth,
}


def register_source(name: str, factory: SourceFactory) -> None:
    """Make ``mobility: {source: NAME}`` build its days with ``factory(material)``."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"bad source name {name!r}; expected letters, digits and '_'")
    MOBILITY_SOURCES[name] = factory


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
