"""Visit windows (mcsim.mining.windows): hand-made days against the sensing rule's boundary
cases, absent days as misses, and a brute-force loop over every visit as the oracle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.windows import VisitWindows

# (user, cycle, location, arrival [s], departure [s]), in (user, cycle, time) order.
Visit = tuple[int, int, int, float, float]


def table_of(visits: list[Visit], n_users: int, n_locations: int) -> CycleTable:
    """A CycleTable holding exactly ``visits`` (one cycle per distinct (user, cycle))."""
    visits = sorted(visits, key=lambda v: (v[0], v[1], v[3]))
    heads = [i for i, v in enumerate(visits) if i == 0 or v[:2] != visits[i - 1][:2]]
    return CycleTable(
        users=pd.Index([f"u{u}" for u in range(n_users)]),
        locations=pd.Index([f"L{loc}" for loc in range(n_locations)]),
        user=np.array([visits[i][0] for i in heads], dtype=np.int32),
        cycle=np.array([visits[i][1] for i in heads], dtype=np.int64),
        offsets=np.array([*heads, len(visits)], dtype=np.int64),
        location=np.array([v[2] for v in visits], dtype=np.int32),
        arrival=np.array([v[3] for v in visits], dtype=np.float32),
        departure=np.array([v[4] for v in visits], dtype=np.float32),
        options=CycleOptions(),
    )


def brute_force(
    visits: list[Visit], n_users: int, n_days: int, first: int, loc: int, start: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """The definition, literally: per user and day, the first visit the sensing rule senses."""
    prob, arrival = np.zeros(n_users), np.full(n_users, np.nan)
    for u in range(n_users):
        sensed = []
        for day in range(first, first + n_days):
            times = [
                max(float(np.float32(a)), start)
                for user, cycle, where, a, d in visits
                if (user, cycle, where) == (u, day, loc)
                and float(np.float32(a)) <= end
                and float(np.float32(d)) >= start
            ]
            if times and start <= end:
                sensed.append(min(times))
        prob[u] = len(sensed) / n_days
        if sensed:
            arrival[u] = sum(sensed) / len(sensed)
    return prob, arrival


HOUR = 3600.0
# u0 on days 0-3 (of 4): at L0 09:00-10:00 on day 0, 10:00-11:00 and again 15:00-16:00 on
# day 1, 12:00-13:00 on day 2, elsewhere on day 3. u1 appears on day 0 only, at L0 all day.
# u2 never appears.
VISITS: list[Visit] = [
    (0, 0, 0, 9 * HOUR, 10 * HOUR),
    (0, 0, 1, 10 * HOUR, 18 * HOUR),
    (0, 1, 0, 10 * HOUR, 11 * HOUR),
    (0, 1, 1, 11 * HOUR, 15 * HOUR),
    (0, 1, 0, 15 * HOUR, 16 * HOUR),
    (0, 2, 0, 12 * HOUR, 13 * HOUR),
    (0, 3, 1, 8 * HOUR, 20 * HOUR),
    (1, 0, 0, 0.0, 24 * HOUR),
]


@pytest.fixture
def windows() -> VisitWindows:
    return VisitWindows.from_cycles(table_of(VISITS, 3, 2))


def test_share_of_all_training_days(windows: VisitWindows) -> None:
    assert (windows.n_users, windows.n_locations, windows.n_days) == (3, 2, 4)
    prob, arrival = windows.query(0, 8 * HOUR, 14 * HOUR)
    # u0: days 0, 1 and 2 of 4; u1 was at L0 on its only day, but was absent on three.
    np.testing.assert_array_equal(prob, [3 / 4, 1 / 4, 0.0])
    # Sensed at max(arrival, start): 09:00, 10:00, 12:00 for u0; 08:00 for u1; u2 never.
    np.testing.assert_array_equal(arrival[:2], [(9 + 10 + 12) / 3 * HOUR, 8 * HOUR])
    assert math.isnan(arrival[2])
    np.testing.assert_array_equal(windows.prob(0, 8 * HOUR, 14 * HOUR), prob)
    np.testing.assert_array_equal(windows.arrival(0, 8 * HOUR, 14 * HOUR), arrival)
    users, sparse_prob = windows.users_at(0, 8 * HOUR, 14 * HOUR)
    assert users.tolist() == [0, 1] and sparse_prob.tolist() == [3 / 4, 1 / 4]


def test_touching_intervals_count(windows: VisitWindows) -> None:
    # A visit that ends exactly at the window's start is sensed then (day 0: left at 10:00).
    prob, arrival = windows.query(0, 10 * HOUR, 10 * HOUR)
    assert prob[0] == 2 / 4  # day 0 (departure = start) and day 1 (arrival = end)
    assert arrival[0] == 10 * HOUR
    # A visit that begins exactly at the window's end is sensed at its arrival.
    prob, arrival = windows.query(0, 13.5 * HOUR, 15 * HOUR)
    assert prob[0] == 1 / 4 and arrival[0] == 15 * HOUR
    # One second short of either end misses.
    assert windows.prob(0, 10 * HOUR + 1, 11.99 * HOUR)[0] == 1 / 4  # day 1 only
    assert windows.prob(0, 13 * HOUR + 1, 15 * HOUR - 1)[0] == 0.0


def test_a_day_counts_once_and_is_sensed_at_its_first_visit(windows: VisitWindows) -> None:
    prob, arrival = windows.query(0, 10.5 * HOUR, 15.5 * HOUR)  # day 1: two visits inside
    assert prob[0] == 2 / 4  # days 1 and 2, day 1 once
    assert arrival[0] == (10.5 + 12) / 2 * HOUR  # day 1 senses at the start, not at 15:00


def test_absent_days_are_misses_and_the_period_can_be_longer(windows: VisitWindows) -> None:
    longer = VisitWindows.from_cycles(table_of(VISITS, 3, 2), period=(0, 10))
    assert longer.n_days == 10
    np.testing.assert_array_equal(longer.prob(0, 0.0, 24 * HOUR), [3 / 10, 1 / 10, 0.0])
    # The sensing times do not depend on the denominator.
    np.testing.assert_array_equal(
        longer.arrival(0, 0.0, 24 * HOUR), windows.arrival(0, 0.0, 24 * HOUR)
    )
    with pytest.raises(ValueError, match="outside the training period"):
        VisitWindows.from_cycles(table_of(VISITS, 3, 2), period=(1, 10))
    with pytest.raises(ValueError, match="at least one day"):
        VisitWindows.from_cycles(table_of(VISITS, 3, 2), period=(0, 0))


def test_open_ended_empty_and_unvisited_windows(windows: VisitWindows) -> None:
    np.testing.assert_array_equal(windows.prob(0, 12 * HOUR, math.inf), [2 / 4, 1 / 4, 0.0])
    prob, arrival = windows.query(0, 14 * HOUR, 8 * HOUR)  # start after end: empty
    assert not prob.any() and np.isnan(arrival).all()
    assert len(windows.users_at(0, 14 * HOUR, 8 * HOUR)[0]) == 0
    prob, arrival = windows.query(1, 21 * HOUR, 23 * HOUR)  # nobody there then
    assert not prob.any() and np.isnan(arrival).all()
    empty = VisitWindows.from_cycles(table_of([], 2, 3))
    assert empty.n_days == 1 and not empty.prob(2, 0.0, 1.0).any()


def test_bad_queries(windows: VisitWindows) -> None:
    with pytest.raises(ValueError, match="location code 2 outside the 2 locations"):
        windows.prob(2, 0.0, 1.0)
    with pytest.raises(ValueError, match="location code -1"):
        windows.prob(-1, 0.0, 1.0)
    with pytest.raises(ValueError, match="must be numbers"):
        windows.prob(0, math.nan, 1.0)


def test_read_only(windows: VisitWindows) -> None:
    prob = windows.prob(0, 0.0, 24 * HOUR)
    prob[:] = 7.0  # answers are the caller's own arrays
    assert windows.prob(0, 0.0, 24 * HOUR)[0] == 3 / 4
    with pytest.raises(AttributeError):
        windows.n_days = 5  # type: ignore[misc]
    for array in windows._visits(0):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[Visit], int, int, int]:
    """Users with time-ordered visits on some days (times on a coarse grid: ties happen)."""
    n_users, n_locations = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    first, n_days = draw(st.integers(0, 3)), draw(st.integers(1, 6))
    visits: list[Visit] = []
    for u in range(n_users):
        for day in range(first, first + n_days):
            if not draw(st.booleans()):
                continue  # absent
            times = sorted(draw(st.lists(st.integers(0, 24), min_size=2, max_size=8)))
            places = draw(st.lists(st.integers(0, n_locations - 1), min_size=len(times) // 2))
            for k, loc in enumerate(places[: len(times) // 2]):
                visits.append((u, day, loc, times[2 * k] * HOUR, times[2 * k + 1] * HOUR))
    return visits, n_users, n_locations, n_days


@settings(max_examples=150, deadline=None)
@given(
    population=populations(),
    start=st.integers(-1, 25),
    length=st.integers(-2, 10),
    loc=st.integers(0, 3),
)
def test_equals_brute_force(
    population: tuple[list[Visit], int, int, int], start: int, length: int, loc: int
) -> None:
    visits, n_users, n_locations, n_days = population
    if not visits:
        return
    table = table_of(visits, n_users, n_locations)
    first = int(table.cycle.min())
    last = int(table.cycle.max())
    windows = VisitWindows.from_cycles(table, period=(first, max(last + 1, first + n_days)))
    loc = loc % n_locations
    begin, end = start * HOUR, (start + length) * HOUR
    prob, arrival = windows.query(loc, begin, end)
    expected_prob, expected_arrival = brute_force(
        visits, n_users, windows.n_days, first, loc, begin, end
    )
    np.testing.assert_allclose(prob, expected_prob, rtol=0, atol=1e-12)
    np.testing.assert_allclose(arrival, expected_arrival, rtol=1e-12)
    assert ((prob > 0) == ~np.isnan(arrival)).all()
    users, sparse_prob = windows.users_at(loc, begin, end)
    np.testing.assert_array_equal(users, np.flatnonzero(expected_prob > 0))
    np.testing.assert_allclose(sparse_prob, expected_prob[users], rtol=0, atol=1e-12)
