"""Tests of generators/mobility/config.py: CampusConfig, its validation and presets.

What matters downstream: scenario files name presets and override fields, so every preset must
build with the paper's sizes and a bad value must fail early with a message naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from generators.mobility import CampusConfig


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_users": 0}, "n_users"),
        ({"n_days": 0}, "n_days"),
        ({"n_aps": 3}, "n_aps"),
        ({"day_start_h": 3.0}, "day_start_h"),
        ({"courses_per_student": (3, 7)}, "courses_per_student"),
        ({"courses_per_room": 0}, "courses_per_room"),
        ({"student_fraction": 1.5}, "student_fraction"),
        ({"weekend_activity": -0.1}, "weekend_activity"),
        ({"explore_prob": 0.0}, "explore_prob"),
        ({"passby_min_s": 0.0}, "passby_min_s"),
        ({"speed_mps": 0.0}, "speed_mps"),
        ({"aps_per_building": (("residence", 3.0),)}, "AP mean"),
        ({"building_mix": (("lecture", 1.0),)}, "residences"),
    ],
)
def test_invalid_fields_are_refused_with_their_name(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CampusConfig(**overrides)


def test_bad_date_or_time_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        CampusConfig(start_date="2002-13-40")
    with pytest.raises(Exception, match="Nowhere"):
        CampusConfig(timezone="Nowhere/Atlantis")


def test_presets_and_overrides() -> None:
    assert CampusConfig.paper() == CampusConfig() == CampusConfig.preset("wtd")
    sizes = {name: CampusConfig.preset(name) for name in CampusConfig.PRESETS}
    assert (sizes["wtd"].n_users, sizes["wtd"].n_aps) == (68, 124)
    assert (sizes["wtd-extended"].n_users, sizes["wtd-extended"].n_aps) == (168, 284)
    assert sizes["wtd-extended-ap"].n_aps == 284 and sizes["wtd-ap"].n_aps == 124
    assert sizes["wtd-ap"].passby_radius_m == sizes["wtd-extended-ap"].passby_radius_m == 50.0
    assert sizes["city"].n_users == 100_000 and sizes["city"].passby_radius_m == 0.0
    city = CampusConfig.preset("city", n_users=2000, n_days=3)
    assert (city.n_users, city.n_days, city.n_aps) == (2000, 3, 20_000)
    with pytest.raises(ValueError, match="unknown campus preset"):
        CampusConfig.preset("nowhere")
    with pytest.raises(ValueError, match="n_users"):
        CampusConfig.preset("wtd", n_users=0)
