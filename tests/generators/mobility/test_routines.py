"""Tests of generators/mobility/routines.py: every user's ground-truth routine.

What matters downstream: the routines are repetitive enough for pattern mining (home recurs in
every active user's days), depend on the user's own stream only, and read back as ids.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from generators.mobility import CampusConfig, Routines, SyntheticCampus, generate_campus
from mcsim.mining.cycles import cut_cycles


def test_home_recurs_in_the_cycles_of_every_active_user(campus: SyntheticCampus) -> None:
    cycles = cut_cycles(campus.trace, campus.cycle_options())
    home = campus.routines.home
    share = pd.Series(
        [home[u] in set(s) for u, s in zip(cycles.user, cycles.sequences(), strict=True)]
    ).groupby(cycles.user)
    assert (share.mean() >= 0.8).all()
    routine = campus.routine(0)
    assert routine["home"] == str(campus.location_ids[home[0]])


def test_routines_do_not_depend_on_population_size() -> None:
    small = generate_campus(CampusConfig(n_users=7), seed=4).routines
    large = generate_campus(CampusConfig(n_users=40), seed=4).routines
    first = large.take(np.arange(7))
    for f in fields(Routines):
        np.testing.assert_array_equal(getattr(small, f.name), getattr(first, f.name), f.name)


def test_students_take_courses_and_staff_keep_an_office(campus: SyntheticCampus) -> None:
    r = campus.routines
    kind = campus.layout.aps["kind"].to_numpy()
    assert (kind[r.home] == "residence").all()
    assert ((r.office >= 0) == ~r.student).all()
    assert (kind[r.office[~r.student]] == "office").all()
    assert (r.courses[~r.student] == -1).all()
    lo, hi = campus.config.courses_per_student
    n_courses = (r.courses[r.student] >= 0).sum(axis=1)
    assert n_courses.max() <= hi and n_courses.mean() > lo - 1
    for i in np.flatnonzero(r.student)[:5]:
        routine = campus.routine(campus.user_ids[i])
        assert routine["role"] == "student" and routine["office"] is None
        assert len(routine["courses"]) == (r.courses[i] >= 0).sum()
        assert all(set(c["days"]) <= set("MTWRF") for c in routine["courses"])
