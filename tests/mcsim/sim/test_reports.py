"""Where users last reported being: the platform's view of a planned day at each moment."""

from __future__ import annotations

import numpy as np
import pytest

import mcsim.sim.reports as reports_module
from mcsim.sim.days import DayPlan
from mcsim.sim.reports import Reports, day_statics


def _day(*visits: tuple[int, int, float, float], n_users: int = 2) -> DayPlan:
    user, loc, arrival, departure = (np.array(x) for x in zip(*visits, strict=True))
    return DayPlan.build(user, loc, arrival, departure, n_users=n_users, length_s=86_400.0)


def test_arrivals_are_reported_once_the_clock_passes_them() -> None:
    plan = _day((0, 3, 10.0, 20.0), (0, 4, 30.0, 40.0), (1, 5, 30.0, 35.0))
    reports = Reports(plan, day_statics(plan), np.array([7, -1], dtype=np.int32))
    reports.advance(5.0, 0)  # before any arrival: the knowledge's last locations
    assert reports.last_location.tolist() == [7, -1] and reports.current.tolist() == [-1, -1]
    reports.advance(30.0, 0)  # at 30 s, moment 0: arrivals at 30 s are not reported yet
    assert reports.last_location.tolist() == [3, -1]
    reports.advance(30.0, 1)  # each user's first arrival at 30 s (rank 0) is reported
    assert reports.last_location.tolist() == [4, 5] and reports.current.tolist() == [1, 2]


def test_a_second_arrival_at_the_same_reading_comes_a_moment_later() -> None:
    plan = _day((0, 3, 10.0, 10.0), (0, 4, 10.0, 20.0), n_users=1)
    reports = Reports(plan, day_statics(plan), np.array([-1], dtype=np.int32))
    assert reports.rank.tolist() == [0, 1]
    reports.advance(10.0, 1)
    assert reports.last_location.tolist() == [3]
    reports.advance(10.0, 2)
    assert reports.last_location.tolist() == [4]


def test_a_day_s_statics_are_kept_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worlds of one day plan share its statics (computed once); the store keeps at most
    ``STATICS_KEPT_VISITS`` visits, dropping the least recently used plans."""
    plan = _day((0, 1, 150.0, 160.0), (1, 0, 0.0, 40.0))
    assert day_statics(plan) is day_statics(plan)
    monkeypatch.setattr(reports_module, "STATICS_KEPT_VISITS", 3)
    monkeypatch.setattr(reports_module, "_statics", type(reports_module._statics)())
    monkeypatch.setattr(reports_module, "_statics_visits", 0)
    other = _day((0, 0, 0.0, 40.0), (1, 1, 50.0, 60.0))
    first = day_statics(plan)
    day_statics(other)  # 2 + 2 visits > 3: the first plan is dropped
    assert [ref() for ref, _ in reports_module._statics.values()] == [other]
    again = day_statics(plan)
    assert again is not first and np.array_equal(again.clock, first.clock)
