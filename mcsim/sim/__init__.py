"""The SimPy world of mcsim: users moving through simulated days, a platform, phones.

* :mod:`mcsim.sim.days`: :class:`DayPlan`, all users' visits for one simulated cycle;
* :mod:`mcsim.sim.sources`: where days come from (replay, pattern-driven, ground truth);
* :mod:`mcsim.sim.sensing`: phone readings, keyed and generated in batches;
* :mod:`mcsim.sim.world`: the steppable :class:`World`, the closed loop :func:`simulate`
  (:func:`run_day` then the result) and :func:`day_readings`, a buffer worlds can share.
"""

from mcsim.sim.days import DayPlan
from mcsim.sim.sources import (
    GroundTruthSource,
    MobilitySource,
    PatternDaySource,
    ReplaySource,
    scale_population,
)
from mcsim.sim.world import (
    Decision,
    Knowledge,
    SimResult,
    World,
    WorldOptions,
    day_readings,
    run_day,
    simulate,
)

__all__ = [
    "DayPlan",
    "Decision",
    "GroundTruthSource",
    "Knowledge",
    "MobilitySource",
    "PatternDaySource",
    "ReplaySource",
    "SimResult",
    "World",
    "WorldOptions",
    "day_readings",
    "run_day",
    "scale_population",
    "simulate",
]
