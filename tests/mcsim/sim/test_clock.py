"""The world's clock readings of arrivals, against the per-visit processes they replace."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.sim.clock import Clock, arrival_clocks


def _sequential(arrival: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The oracle: each user's process sleeps ``max(0, arrival - now)`` from its previous
    arrival (from 0 before the first), and SimPy adds the delay to ``now``."""
    clock = np.zeros(len(arrival))
    for start, stop in pairwise(offsets):
        now = 0.0
        for i in range(start, stop):
            now = now + max(0.0, arrival[i] - now)
            clock[i] = now
    return clock


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0.0, 86_400.0, allow_nan=False), max_size=8).map(sorted),
        min_size=1,
        max_size=6,
    )
)
def test_arrival_clocks_are_the_per_visit_processes_readings(days: list[list[float]]) -> None:
    arrival = np.array([t for d in days for t in d], dtype=np.float64)
    offsets = np.cumsum([0, *(len(d) for d in days)])
    assert np.array_equal(arrival_clocks(arrival, offsets), _sequential(arrival, offsets))


def test_a_rounding_time_is_kept_as_simpy_reaches_it() -> None:
    """21.66 + (63.87 - 21.66) is one float below 63.87: the clock keeps SimPy's reading."""
    arrival, offsets = np.array([21.66, 63.87]), np.array([0, 2])
    assert arrival_clocks(arrival, offsets)[1] == 21.66 + (63.87 - 21.66) != 63.87


def test_schedule_at_fires_at_the_exact_reading_and_refuses_the_past() -> None:
    env = Clock()
    fired: list[float] = []
    event = simpy.Event(env)
    event._ok, event._value = True, None
    event.callbacks.append(lambda _: fired.append(env.now))
    env.schedule_at(event, 63.87, 1)
    env.run()
    assert fired == [63.87]
    with pytest.raises(ValueError, match="before now"):
        env.schedule_at(simpy.Event(env), 0.1, 1)
