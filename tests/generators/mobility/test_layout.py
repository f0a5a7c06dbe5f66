"""Tests of generators/mobility/layout.py: buildings, APs and the lecture timetable.

What matters downstream: the layout depends on the seed and the layout fields only (so growing
the population keeps every user's days), has exactly the configured APs, zones buildings by
kind, gives every lecture room its courses, and picks and travel times behave.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import numpy as np
import pandas as pd

from generators.mobility import KINDS, CampusConfig
from generators.mobility.config import TIMETABLE_SLOTS
from generators.mobility.layout import _largest_remainder, build_layout


def test_layout_depends_on_seed_and_layout_fields_only() -> None:
    config = CampusConfig(n_aps=150)
    a = build_layout(config, seed=2)
    b = build_layout(replace(config, n_users=5000, n_days=3, social_rate=2.0), seed=2)
    for name in ("buildings", "aps", "courses"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = build_layout(config, seed=3)
    assert not a.aps[["x_m", "y_m"]].equals(c.aps[["x_m", "y_m"]])


def test_sizes_zoning_and_timetable() -> None:
    config = CampusConfig.preset("wtd-extended")
    layout = build_layout(config, seed=0)
    aps, buildings = layout.aps, layout.buildings
    assert len(aps) == config.n_aps and aps["location"].is_unique
    assert set(aps["kind"]) == set(KINDS)
    assert set(aps["building"]) == set(buildings["building"])  # every building has an AP
    assert (aps.groupby("building")["kind"].nunique() == 1).all()
    distance = cast(pd.Series, np.hypot(aps["x_m"], aps["y_m"])).groupby(aps["kind"]).mean()
    assert distance["library"] < distance["lecture"] < distance["residence"]
    assert np.hypot(aps["x_m"], aps["y_m"]).max() < 2 * config.radius_m
    rooms = np.flatnonzero(aps["kind"] == "lecture")
    courses = layout.courses
    assert sorted(set(courses["location"])) == list(rooms)
    per_room = courses.groupby("location")
    assert (per_room.size() == config.courses_per_room).all()
    assert not courses.duplicated(["location", "days", "start_s"]).any()  # distinct slots
    slots = {(d, s * 3600.0, m * 60.0) for d, s, m in TIMETABLE_SLOTS}
    assert set(zip(courses["days"], courses["start_s"], courses["length_s"], strict=True)) <= slots


def test_pick_and_travel_times() -> None:
    config = CampusConfig(
        n_aps=40, building_mix=(("residence", 0.5), ("dining", 0.2), ("social", 0.3))
    )
    layout = build_layout(config, seed=1)
    kind = layout.aps["kind"].to_numpy()
    u = np.linspace(0.0005, 0.9995, 1000)
    for pool in ("residence", "dining", "social"):
        assert (kind[layout.pick(pool, u)] == pool).all()
    homes = layout.pick("residence", u, weighted=False)
    counts = np.bincount(homes, minlength=len(kind))[kind == "residence"]
    assert counts.min() > 0 and counts.max() - counts.min() <= 1  # unweighted: uniform
    assert (layout.pick("library", u) == -1).all()  # no library on this campus
    a, b = np.arange(40), np.arange(40)[::-1]
    travel = layout.travel_s(a, b, config.speed_mps)
    np.testing.assert_array_equal(travel, layout.travel_s(b, a, config.speed_mps))
    assert (travel >= 60.0).all() and (travel <= 3600.0).all()
    np.testing.assert_array_equal(layout.travel_s(a, a, config.speed_mps), 60.0)


def test_largest_remainder() -> None:
    counts = _largest_remainder(10, np.array([0.5, 0.3, 0.2, 0.0]), np.ones(4, dtype=int))
    assert counts.sum() == 10 and (counts >= 1).all()
    assert list(counts) == [4, 3, 2, 1]
