"""The world's clock: SimPy scheduling that keeps the per-visit world's order at equal times.

The world (:mod:`mcsim.sim.world`) replaced one SimPy process per user, sleeping from arrival
to arrival, with events at decisions and sensed copies only, and keeps that world's outcome bit
for bit. Two things make that possible: events queued at a chosen priority (a decision's
hand-out against the arrivals at its instant), and the clock readings the per-visit processes
would have reached, ``now + (arrival - now)``, which round one float away from the arrival
for about 2 % of float64 times.
"""

from __future__ import annotations

from heapq import heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import URGENT, EventPriority


class Clock(simpy.Environment):
    """SimPy's environment that can also schedule an event at a given clock reading.

    SimPy schedules at ``now + delay``, which rounds (``now + (at - now) != at`` for about 2 %
    of float64 pairs); a sensing event must fire at exactly the reading the user's arrival
    has (see the module docstring), so it is queued the way ``schedule`` queues, at ``at``.
    """

    def schedule_at(self, event: simpy.Event, at: float, priority: int) -> None:
        if at < self.now:
            raise ValueError(f"cannot schedule at {at} s, before now ({self.now} s)")
        heappush(self._queue, (at, EventPriority(priority), next(self._eid), event))


def succeeded(event: simpy.Event, value: Any = None) -> simpy.Event:
    """Mark ``event`` succeeded with ``value`` without queueing it, so that the caller queues
    it at a priority of its choice (``succeed`` queues at NORMAL; SimPy's own ``until`` trick).
    """
    event._ok = True
    event._value = value
    return event


def urgent_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    """A timeout processed before every NORMAL event at its time."""
    event = succeeded(simpy.Event(env))
    env.schedule(event, URGENT, max(0.0, delay))
    return event


def arrival_clocks(arrival: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """[s] The clock reading of each arrival: a user process slept ``max(0, arrival - now)``
    from its previous arrival (from 0 before the first) and SimPy added the delay to ``now``.

    The sum rounds back to ``arrival`` except for about 2 % of float64 times (whole seconds
    never), where it is one float off; results keep those readings, as the per-visit world
    did. Computed for every arrival at once from the previous pass's clocks, until a pass
    changes nothing: each pass settles at least the next arrival of every user, and the
    recurrence has one solution, so the fixed point is it (2 to 4 passes, where the rank by
    rank loop took as many as the longest day has visits: 4x slower on the campus).
    """
    first = np.zeros(len(arrival), dtype=bool)
    first[offsets[:-1][np.diff(offsets) > 0]] = True
    clock = 0.0 + np.maximum(0.0, arrival - 0.0)
    previous = np.zeros(len(arrival))
    while True:
        previous[1:] = clock[:-1]
        previous[first] = 0.0
        settled = previous + np.maximum(0.0, arrival - previous)
        if np.array_equal(settled, clock):
            return clock
        clock = settled
