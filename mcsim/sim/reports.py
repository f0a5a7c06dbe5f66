"""Where each user last reported being, as the platform's clock moves through a planned day.

A day plan fixes every arrival in advance; the platform sees an arrival once the clock has
passed it (in the order of :mod:`mcsim.sim.clock`). What a plan alone determines, the clock
readings, ranks and reporting order of its arrivals, is computed once per plan and shared by
every world of that day (:func:`day_statics`).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from mcsim.readonly import read_only
from mcsim.sim.clock import arrival_clocks
from mcsim.sim.days import DayPlan


@dataclass(frozen=True, eq=False)
class DayStatics:
    """What every world of one day plan derives from it alone: the arrivals' clock readings
    and ranks (:class:`Reports`), the visits in reporting order, and the plan as lists (the
    sensing rule indexes them one visit at a time, where lists are 5x faster than arrays)."""

    clock: np.ndarray
    rank: np.ndarray
    user: np.ndarray
    order: np.ndarray
    clock_sorted: np.ndarray
    rank_sorted: np.ndarray
    location: list[int]
    arrival: list[float]
    departure: list[float]
    offsets: list[int]

    @classmethod
    def of(cls, day: DayPlan) -> DayStatics:
        offsets, n = day.offsets, len(day)
        clock = arrival_clocks(day.arrival, offsets)
        index = np.arange(n)
        starts = np.zeros(n, dtype=bool)
        starts[offsets[:-1][np.diff(offsets) > 0]] = True
        starts[1:] |= clock[1:] != clock[:-1]
        rank = index - np.maximum.accumulate(np.where(starts, index, 0))
        order = np.lexsort((rank, clock))
        return cls(
            clock=read_only(clock),
            rank=read_only(rank),
            user=read_only(day.user_of_visit()),
            order=read_only(order),
            clock_sorted=read_only(clock[order]),
            rank_sorted=read_only(rank[order]),
            location=day.location.tolist(),
            arrival=day.arrival.tolist(),
            departure=day.departure.tolist(),
            offsets=day.offsets.tolist(),
        )


#: Visits whose statics are kept (~150 B each, ~45 MB): a day recurs (an RL agent's training
#: pool, the runner's policies on one day), and its statics cost a third of a world's set-up.
STATICS_KEPT_VISITS = 300_000
_statics: OrderedDict[int, tuple[weakref.ref[DayPlan], DayStatics]] = OrderedDict()
_statics_visits = 0


def day_statics(day: DayPlan) -> DayStatics:
    """The statics of ``day``, kept for the most recently used plans (by identity: a plan is
    immutable; a weak reference tells a plan from a new one at a recycled id)."""
    global _statics_visits
    kept = _statics.get(id(day))
    if kept is not None and kept[0]() is day:
        _statics.move_to_end(id(day))
        return kept[1]
    statics = DayStatics.of(day)
    if len(day) <= STATICS_KEPT_VISITS:
        if kept is not None:  # a dead plan's entry at this id
            _statics_visits -= len(kept[1].location)
        _statics[id(day)] = (weakref.ref(day), statics)
        _statics_visits += len(day)
        while _statics_visits > STATICS_KEPT_VISITS:
            _, (_, old) = _statics.popitem(last=False)
            _statics_visits -= len(old.location)
    return statics


class Reports:
    """Where each user last reported being, read off the plan as the clock moves on.

    A user reports each arrival. The platform looks at the users at moments (c, j): at clock
    reading c, j = 2r for the state of its r-th decision at that reading and 2r + 1 for the
    hand-out of that decision (see :mod:`mcsim.sim.world`). An arrival at reading c with rank k
    (k earlier arrivals of the same user share reading c) is reported after every moment at
    an earlier reading and between the moments (c, k) and (c, k + 1). The visits are sorted
    by (clock, rank) once, so advancing to a moment reports a slice of them (O(moved)).

    Args:
        day: the plan.
        statics: :func:`day_statics` of ``day``, passed in because the world needs them too:
            a day too large for the store would otherwise have them computed twice.
        initial_location: int32 per user, where the knowledge last saw it (-1: nowhere).

    Attributes:
        clock: [s] float64 clock reading of each visit's arrival
            (:func:`~mcsim.sim.clock.arrival_clocks`).
        rank: int64 rank of each arrival among its user's arrivals at that reading.
        current: int64 per user, its latest reported visit (-1: none yet).
        last_location: int32 per user, the location it last reported (the knowledge's
            initial location before its first arrival).
    """

    def __init__(self, day: DayPlan, statics: DayStatics, initial_location: np.ndarray) -> None:
        self.clock, self.rank = statics.clock, statics.rank
        self._user, self._location = statics.user, day.location
        self._order = statics.order
        self._clock_sorted, self._rank_sorted = statics.clock_sorted, statics.rank_sorted
        self._reported = 0  # visits reported so far: a prefix of _order
        self.current = np.full(day.n_users, -1, dtype=np.int64)
        self.last_location = initial_location

    def advance(self, clock: float, moment: int) -> None:
        """Report every arrival before the moment (``clock``, ``moment``): at an earlier
        reading, or at ``clock`` with rank below ``moment``."""
        lo = int(np.searchsorted(self._clock_sorted, clock, "left"))
        hi = int(np.searchsorted(self._clock_sorted, clock, "right"))
        stop = lo + int(np.searchsorted(self._rank_sorted[lo:hi], moment, "left"))
        if stop <= self._reported:
            return
        visits = self._order[self._reported : stop]
        self._reported = stop
        users = self._user[visits]
        np.maximum.at(self.current, users, visits)  # a user's later visits come later
        self.last_location[users] = self._location[self.current[users]]
