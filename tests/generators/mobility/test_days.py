"""Tests of generators/mobility/days.py: a window of days as visits in absolute time.

What matters downstream: activity varies across users and days (N(u) heavy-tailed, quieter
weekends), and days start at the configured local hour whatever the UTC offset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generators.mobility import CampusConfig, SyntheticCampus
from generators.mobility.days import day_origins
from mcsim.mining.cycles import cut_cycles


def test_activity_is_heterogeneous_and_weekends_are_quieter(campus: SyntheticCampus) -> None:
    cycles = cut_cycles(campus.trace, campus.cycle_options())
    n = cycles.n_cycles()
    assert n.max() - n.min() >= 15  # occasional and very active users
    assert (n < campus.config.n_days).mean() > 0.8  # most users have inactive days
    weekend = np.asarray(cycles.start_times().day_of_week >= 5)
    visits = np.diff(cycles.offsets)
    weekend_days = weekday_days = 0
    for d in pd.date_range(campus.config.start_date, periods=campus.config.n_days):
        weekend_days += d.day_of_week >= 5
        weekday_days += d.day_of_week < 5
    assert weekend.sum() / weekend_days < 0.8 * (~weekend).sum() / weekday_days
    assert visits[weekend].mean() < visits[~weekend].mean()


def test_days_start_at_the_local_hour_across_daylight_saving() -> None:
    # Europe/Berlin springs forward at 02:00 on Sunday 2021-03-28: that day is 23 hours long.
    config = CampusConfig(start_date="2021-03-26", timezone="Europe/Berlin", day_start_h=4.5)
    origins = day_origins(config, np.arange(-1, 5))
    starts = pd.to_datetime(origins + 4.5 * 3600, unit="s", utc=True).tz_convert("Europe/Berlin")
    assert (starts.hour == 4).all() and (starts.minute == 30).all()
    assert list(starts.strftime("%m-%d")) == ["03-25", "03-26", "03-27", "03-28", "03-29", "03-30"]
    assert list(np.diff(origins) // 3600) == [24, 24, 23, 24, 24]
