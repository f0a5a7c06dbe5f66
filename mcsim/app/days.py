"""Days to train on and days to test on: the day split of RL episodes and evaluations.

An agent must be scored on days it never trained on. mcsim keeps two disjoint pools per
prepared scenario:

* **test days**: the runner's jobs. Test day ``i`` is repetition ``i`` of ``mcsim run``: the
  same day (from the scenario's ``mobility.source``), task pool and phones, so an evaluation on
  test days is comparable row by row with ``mcsim run``.
* **training days**: a pool of :data:`TRAINING_POOL` distinct days (by default) drawn from the
  model that the scenario's source implies, disjoint from every test day:

  ===================  ====================================================================
  ``mobility.source``  training day ``i``
  ===================  ====================================================================
  ``ground_truth``     the synthetic generator's day ``first + TRAIN_DAY_OFFSET + i``
                       (test days are ``first + repetition``)
  ``replay``           synthetic trace: the generator's days as above (the replayed test
                       days are the trace's own held-out days); trace file: the training
                       cycles themselves, replayed (as many as the trace has: GeoLife's
                       training split holds a few hundred); these are the days the platform's
                       knowledge was mined from, so features look more reliable on them
                       than on the held-out days (in-sample bias)
  ``patterns`` (and    a day of the pattern model of the training cycles, drawn from its own
  any other source)    seed stream (``Stream.TRAIN_DAY``, key ``(i,)``), so it is never one of
                       the test days' draws; the model is the one the pattern policies
                       assume, which flatters them (see "Mobility sources" in the README)
  ===================  ====================================================================

Biases to keep in mind: a replay source offers only as many distinct test days as the trace
holds (the campus: 5), so for many test days use ``ground_truth`` or ``patterns``; training
days from a generator or a model share its regularity, while replayed test days carry the real
trace's drift.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from mcsim.mining.cycles import CycleTable
from mcsim.seeding import Stream, rng_for
from mcsim.sim import DayPlan, PatternDaySource

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
#: Training day ``i`` of a generator is its day ``first + TRAIN_DAY_OFFSET + i``; test days
#: (``first + repetition``) stay below it (the calendar ends at year 2262 for pandas, so the
#: offset is about 55 years and pools hold at most as many days).
TRAIN_DAY_OFFSET = 20_000
#: Distinct training days in a pool unless the caller asks for another size.
TRAINING_POOL = 1_000
#: Days kept in memory per pool (a 1,000-user day is ~150 kB).
DAYS_KEPT = 2048


class DayPool(Protocol):
    """A fixed, indexable set of distinct days."""

    label: str

    def __len__(self) -> int: ...

    def day(self, index: int) -> DayPlan:
        """Day ``index`` (0 <= index < len(self)), the same object for the same index."""
        ...


@dataclass(eq=False)
class _Memo:
    """A bounded memo of days by index (least recently used dropped first)."""

    kept: int = DAYS_KEPT
    days: OrderedDict[int, DayPlan] = field(default_factory=OrderedDict)

    def get(self, index: int, build: Callable[[int], DayPlan]) -> DayPlan:
        if index in self.days:
            self.days.move_to_end(index)
            return self.days[index]
        day = build(index)
        self.days[index] = day
        while len(self.days) > self.kept:
            self.days.popitem(last=False)
        return day

    def put(self, index: int, day: DayPlan) -> None:
        self.get(index, lambda _: day)


def _check_index(index: int, size: int, label: str) -> int:
    if not 0 <= index < size:
        raise ValueError(f"{label} has days 0..{size - 1}; got day {index}")
    return int(index)


class GeneratorDays:
    """Days of a synthetic generator, drawn a block at a time (one vectorised call per
    :attr:`block` days: ~0.3 ms a campus day against ~4 ms one by one).

    Args:
        draw_block: ``draw_block(first, count)`` -> the generator's ``count`` consecutive days
            from day ``first`` (already offset to the pool's range).
        first: generator day of pool day 0.
        size: days in the pool.
    """

    block = 64

    def __init__(
        self, draw_block: Callable[[int, int], list[DayPlan]], first: int, size: int
    ) -> None:
        self.draw_block = draw_block
        self.first = first
        self.size = size
        self.label = f"generator days {first}-{first + size - 1}"
        self._memo = _Memo()

    def __len__(self) -> int:
        return self.size

    def day(self, index: int) -> DayPlan:
        index = _check_index(index, self.size, self.label)
        if index not in self._memo.days:
            start = index - index % self.block
            count = min(self.block, self.size - start)
            for i, day in enumerate(self.draw_block(self.first + start, count)):
                self._memo.put(start + i, day)
        return self._memo.get(index, self._missing)

    def _missing(self, index: int) -> DayPlan:  # evicted while its block was being stored
        return self.draw_block(self.first + index, 1)[0]


class CycleDays:
    """Days replayed from a cycle table (a trace's training cycles), in calendar order."""

    def __init__(self, cycles: CycleTable, label: str = "training cycles") -> None:
        self.cycles = cycles
        self.calendar = np.unique(cycles.cycle)
        self.label = f"{label} ({len(self.calendar)} days)"
        self._memo = _Memo()

    def __len__(self) -> int:
        return len(self.calendar)

    def day(self, index: int) -> DayPlan:
        index = _check_index(index, len(self), self.label)
        return self._memo.get(index, self._build)

    def _build(self, index: int) -> DayPlan:
        cycle = int(self.calendar[index])
        rows = np.flatnonzero(self.cycles.cycle == cycle)
        return DayPlan.from_cycles(self.cycles, rows, label=f"training cycle {cycle}")


class ModelDays:
    """Days drawn from the pattern model, day ``i`` from its own seed stream."""

    def __init__(self, source: PatternDaySource, seed: int, size: int) -> None:
        self.source = source
        self.seed = seed
        self.size = size
        self.label = f"pattern-model days (stream TRAIN_DAY, {size} days)"
        self._memo = _Memo()

    def __len__(self) -> int:
        return self.size

    def day(self, index: int) -> DayPlan:
        index = _check_index(index, self.size, self.label)
        return self._memo.get(index, self._build)

    def _build(self, index: int) -> DayPlan:
        rng = rng_for(self.seed, Stream.TRAIN_DAY, index)
        day = self.source.day(index, rng)
        return DayPlan(
            day.offsets, day.location, day.arrival, day.departure, day.length_s,
            label=f"training patterns day {index}",
        )  # fmt: skip
