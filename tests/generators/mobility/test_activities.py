"""Tests of generators/mobility/activities.py: a day's out-of-home activities.

What matters downstream: the plan of a day is consistent before home stays are put around it:
present activities come first, in time order, each long enough to count as a visit, with time to
travel to the next one, inside the day's activity window; silent days have none and active days
have at least one; activities go to places of the right kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generators.mobility import SyntheticCampus
from generators.mobility.activities import K, draw_activities
from generators.mobility.days import DAY_SLOTS
from generators.mobility.rng import Variates, uniforms


def test_a_day_plan_is_sorted_feasible_and_inside_the_window(campus: SyntheticCampus) -> None:
    config, layout = campus.config, campus.layout
    users = np.arange(0, config.n_users, 2)
    days = np.arange(-1, 15)
    r = campus.routines.take(users)
    u = Variates(uniforms(campus._keys[users], days, DAY_SLOTS.n), DAY_SLOTS)
    weekday = (pd.Timestamp(config.start_date).day_of_week + days) % 7
    active = u("active") < 0.7
    acts = draw_activities(config, layout, r, u, weekday, active)
    assert acts.start.shape == acts.end.shape == acts.loc.shape == (len(users), len(days), K)
    present = acts.present

    assert not present[~active].any()  # silent days have no activity
    assert present[active].any(axis=1).mean() > 0.99  # active days have one (lunch at least)
    n = present.sum(axis=2)
    assert (present == (np.arange(K) < n[..., None])).all()  # present ones first
    start, end = np.where(present, acts.start, np.nan), np.where(present, acts.end, np.nan)
    day_start = config.day_start_h * 3600.0
    assert (start[present] >= day_start + 2 * 3600).all()
    assert (end[present] <= day_start + 21 * 3600).all()
    assert (end[present] - start[present] >= config.min_visit_s).all()
    both = present[..., :-1] & present[..., 1:]
    travel = layout.travel_s(acts.loc[..., :-1], acts.loc[..., 1:], config.speed_mps)
    gap = start[..., 1:] - end[..., :-1]
    assert (gap[both] >= 0).all()  # activities never overlap
    # Each is cut short to reach the next one in time. (The travel time is that to the next
    # activity before the too-short ones are dropped, so a gap left by a dropped one may be
    # shorter than the trip to the activity after it: rare, and kept as it is.)
    assert (gap[both] >= travel[both] - 1e-3).mean() > 0.99

    # Every kind of activity happens somewhere: courses, office hours, meals, study, sport.
    kind = layout.aps["kind"].to_numpy()[acts.loc[present]]
    assert {"lecture", "office", "dining", "library", "sports"} <= set(kind)
    staff = np.broadcast_to(~r.student[:, None, None], present.shape)[present]
    assert (kind[~staff] != "office").mean() > (kind[staff] != "office").mean()
