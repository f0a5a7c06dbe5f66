"""Geometry for GPS input (mcsim.data.geo): great-circle distances against reference values,
the global grid, stay-point detection on hand-made tracks, and the radius of gyration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.data.geo import (
    EARTH_RADIUS_M,
    GridSpec,
    StayPointOptions,
    detect_stay_points,
    haversine_m,
    radius_of_gyration_m,
    unix_seconds,
)

M_PER_DEGREE = math.pi / 180 * EARTH_RADIUS_M  # 111 195.08 m along a great circle
T0 = pd.Timestamp("2024-03-01T08:00:00Z")

# --------------------------------------------------------------------------------------------
# haversine_m


def test_one_degree_of_latitude_is_111_2_km() -> None:
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(45.0, 7.0, 46.0, 7.0) == pytest.approx(111_195.08, abs=0.01)
    # One degree of longitude: the same on the equator, half of it at 60 degrees (a little
    # less, as the great circle cuts the parallel).
    assert haversine_m(0.0, 10.0, 0.0, 11.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(60.0, 0.0, 60.0, 1.0) == pytest.approx(55_597.5, rel=1e-4)
    assert haversine_m(60.0, 0.0, 60.0, 1.0) < M_PER_DEGREE / 2


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((48.8566, 2.3522), (51.5074, -0.1278), 343.5),  # Paris - London
        ((40.7128, -74.0060), (51.5074, -0.1278), 5570.2),  # New York - London
        ((39.9042, 116.4074), (31.2304, 121.4737), 1067.3),  # Beijing - Shanghai
    ],
)
def test_city_pairs(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    assert haversine_m(*a, *b) / 1000 == pytest.approx(km, rel=1e-3)
    assert haversine_m(*b, *a) == pytest.approx(haversine_m(*a, *b), abs=1e-6)


def test_antipodes_and_identity() -> None:
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(39.9, 116.3, 39.9, 116.3) == 0.0


def test_haversine_broadcasts() -> None:
    lat = np.array([0.0, 1.0, 2.0])
    d = haversine_m(0.0, 0.0, lat, np.zeros(3))
    assert d.shape == (3,)
    np.testing.assert_allclose(d, [0.0, M_PER_DEGREE, 2 * M_PER_DEGREE], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# GridSpec


def test_cells_by_hand() -> None:
    grid = GridSpec(200.0)  # rows are 200 / 111 320 = 0.0017966 degrees high
    rows, cols = grid.cells(np.array([0.0005, -0.0001, 0.0018]), np.array([0.0005, -0.0001, 0.0]))
    assert rows.tolist() == [0, -1, 1]
    assert cols.tolist() == [0, -1, 0]
    # 39.9 * 111 320 / 200 = 22 208.3
    assert grid.cells(np.array([39.9]), np.array([116.3]))[0].tolist() == [22208]


def test_cell_ids_name_the_grid() -> None:
    assert GridSpec(200.0).cell_ids(np.array([0.0005]), np.array([-0.0005])).tolist() == [
        "c200:0:-1"
    ]
    # 1 degree is 111 320 / 150.5 = 739.7 rows; near the equator as many columns.
    assert GridSpec(150.5).cell_ids(np.array([1.0]), np.array([1.0])).tolist() == ["c150.5:739:739"]


@pytest.mark.parametrize("lat", [0.0, 39.9, -33.9, 60.0, 75.0])
def test_cells_are_about_the_requested_size(lat: float) -> None:
    grid = GridSpec(200.0)
    (row,), (col,) = grid.cells(np.array([lat]), np.array([20.0]))
    centre = grid.centre(int(row), int(col))
    assert grid.cells(np.array([centre[0]]), np.array([centre[1]])) == (row, col)
    east = grid.centre(int(row), int(col) + 1)
    north = grid.centre(int(row) + 1, int(col))[0]  # its columns have their own width
    assert haversine_m(*centre, *east) == pytest.approx(200.0, rel=0.01)
    assert haversine_m(*centre, north, centre[1]) == pytest.approx(200.0, rel=0.01)
    # The point lies within half a diagonal of its cell's centre.
    assert haversine_m(lat, 20.0, *centre) <= 100 * math.sqrt(2) * 1.01


def test_thresholds_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        GridSpec(0.0)
    with pytest.raises(ValueError, match="positive"):
        StayPointOptions(max_distance_m=-1.0)
    with pytest.raises(ValueError, match="positive"):
        StayPointOptions(min_duration_s=0.0)


# --------------------------------------------------------------------------------------------
# Stay points


def track(user: str, points: Sequence[tuple[float, float, float]]) -> pd.DataFrame:
    """Fixes of one user from (minute, lat, lon) points."""
    return pd.DataFrame(
        {
            "user": user,
            "time": [T0 + pd.Timedelta(minutes=m) for m, _, _ in points],
            "latitude": [lat for _, lat, _ in points],
            "longitude": [lon for _, _, lon in points],
        }
    )


def north_of(lat: float, metres: float) -> float:
    return lat + metres / M_PER_DEGREE


def test_stays_of_a_hand_made_day() -> None:
    a, b, c = (39.9, 116.3), (north_of(39.9, 2000), 116.3), (north_of(39.9, 4000), 116.3)
    # 31 fixes at A jittering by +-33 m (16 north, 15 south), one fix in transit, 26 fixes
    # at B (25 min), then 5 fixes at C (4 min: too short).
    at_a = [(m, a[0] + 0.0003 * (-1) ** m, a[1]) for m in range(31)]
    transit = [(31, north_of(39.9, 1000), 116.3)]
    at_b = [(m, *b) for m in range(32, 58)]
    at_c = [(m, *c) for m in range(58, 63)]
    stays = detect_stay_points(track("u", at_a + transit + at_b + at_c), StayPointOptions())
    assert list(stays.columns) == ["user", "time", "end", "latitude", "longitude"]
    assert stays["user"].tolist() == ["u", "u"]
    assert stays["time"].tolist() == [T0, T0 + pd.Timedelta(minutes=32)]
    assert stays["end"].tolist() == [T0 + pd.Timedelta(minutes=30), T0 + pd.Timedelta(minutes=57)]
    assert stays["latitude"].tolist() == pytest.approx([39.9 + 0.0003 / 31, b[0]], abs=1e-12)
    assert stays["longitude"].tolist() == pytest.approx([116.3, 116.3], abs=1e-12)


def test_a_stay_stays_within_reach_of_its_first_fix() -> None:
    # Walking north 15 m a minute for 40 minutes: fix k is 15 k m from fix 0, so fixes 0-13
    # (195 m) are within 200 m of fix 0 and fix 14 (210 m) is not. With a 10-minute minimum,
    # the walk is three stays anchored at minutes 0, 14 and 28.
    walk = [(m, north_of(39.9, 15.0 * m), 116.3) for m in range(40)]
    stays = detect_stay_points(track("u", walk), StayPointOptions(200.0, 10 * 60.0))
    minutes = (stays["time"] - T0) / pd.Timedelta(minutes=1)
    ends = (stays["end"] - T0) / pd.Timedelta(minutes=1)
    assert minutes.tolist() == [0, 14, 28]
    assert ends.tolist() == [13, 27, 39]
    assert stays["latitude"].iloc[0] == pytest.approx(north_of(39.9, 15.0 * 6.5), abs=1e-12)
    # With the 20-minute default no 13-minute run is long enough.
    assert len(detect_stay_points(track("u", walk), StayPointOptions())) == 0


def test_stay_points_respect_thresholds() -> None:
    times = pd.Series(pd.to_datetime(np.arange(0, 600, 10), unit="s", utc=True))
    fixes = pd.DataFrame({"user": "u", "time": times, "latitude": 10.0, "longitude": 10.0})
    assert len(detect_stay_points(fixes, StayPointOptions(min_duration_s=600))) == 0
    assert len(detect_stay_points(fixes, StayPointOptions(min_duration_s=590))) == 1


def test_users_are_separate_and_input_order_is_free() -> None:
    home = [(m, 39.9, 116.3) for m in range(30)]
    both = pd.concat([track("v", home), track("u", home[:10]), track("u", home[10:])])
    shuffled = both.sample(frac=1.0, random_state=1)
    stays = detect_stay_points(shuffled, StayPointOptions())
    assert stays["user"].tolist() == ["u", "v"]
    assert stays["time"].tolist() == [T0, T0]
    assert stays["end"].tolist() == [T0 + pd.Timedelta(minutes=29)] * 2


def test_no_fixes_no_stays() -> None:
    assert len(detect_stay_points(track("u", [(0, 39.9, 116.3)]), StayPointOptions())) == 0


# --------------------------------------------------------------------------------------------
# Times and radius of gyration


def test_unix_seconds_whatever_the_resolution() -> None:
    times = pd.Series([pd.Timestamp(0, tz="UTC"), pd.Timestamp("2024-01-01T00:00:00.5Z")])
    expected = [0.0, 1_704_067_200.5]
    units: tuple[Literal["ms", "us", "ns"], ...] = ("ms", "us", "ns")
    for unit in units:  # not "s": half a second does not fit
        assert unix_seconds(times.astype(pd.DatetimeTZDtype(unit, tz="UTC"))).tolist() == expected
    # A zone other than UTC names the same instants.
    assert unix_seconds(times.dt.tz_convert("Asia/Shanghai")).tolist() == expected


def test_radius_of_gyration_by_hand() -> None:
    lat = np.array([0.0, 1000.0 / M_PER_DEGREE])
    lon = np.zeros(2)
    # Two points 1 km apart: both 500 m from their centre.
    assert radius_of_gyration_m(lat, lon) == pytest.approx(500.0, rel=1e-6)
    # Weighted 3:1 the centre is 250 m from the first: sqrt((3 * 250^2 + 750^2) / 4) = 433.0.
    assert radius_of_gyration_m(lat, lon, np.array([3.0, 1.0])) == pytest.approx(
        math.sqrt(187_500.0), rel=1e-6
    )
    assert radius_of_gyration_m(np.array([5.0]), np.array([5.0])) == 0.0
    assert math.isnan(radius_of_gyration_m(np.array([]), np.array([])))


def _classic_stays(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, options) -> list:
    """The O(n^2) reading of Li et al. 2008: the oracle of the windowed search."""
    stays, i, n = [], 0, len(t)
    while i < n - 1:
        j = i + 1
        while j < n and haversine_m(lat[i], lon[i], lat[j], lon[j]) <= options.max_distance_m:
            j += 1
        if t[j - 1] - t[i] >= options.min_duration_s:
            stays.append((i, j))
            i = j
        else:
            i += 1
    return stays


@given(
    steps=st.lists(st.tuples(st.integers(1, 600), st.floats(-0.004, 0.004)), max_size=80),
    radius=st.sampled_from([50.0, 200.0]),
    minutes=st.sampled_from([5.0, 20.0]),
)
@settings(max_examples=150, deadline=None)
def test_windowed_stays_equal_the_classic_algorithm(steps, radius, minutes) -> None:
    from mcsim.data.geo import _stays_of_user

    t = np.cumsum([0, *(s for s, _ in steps)]).astype(float)
    lat = 40.0 + np.cumsum([0.0, *(d for _, d in steps)])
    lon = np.full(len(t), 116.0)
    options = StayPointOptions(radius, minutes * 60)
    assert _stays_of_user(t, lat, lon, options) == _classic_stays(t, lat, lon, options)


def test_dense_fixes_cost_no_distance_work_when_no_window_closes(monkeypatch) -> None:
    from mcsim.data import geo

    calls = []
    real = geo.haversine_m

    def counted(*a: np.ndarray | float) -> np.ndarray:
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(geo, "haversine_m", counted)
    n = 100_000  # one user, all within 10 minutes (the adversarial case: O(n^2) before)
    t = np.linspace(0.0, 600.0, n)
    lat, lon = np.full(n, 40.0), np.full(n, 116.0)
    assert geo._stays_of_user(t, lat, lon, StayPointOptions(200.0, 1200.0)) == []
    assert calls == []
    # The same fixes over 40 minutes: one stay, found with a few vector operations.
    t = np.linspace(0.0, 2400.0, n)
    assert geo._stays_of_user(t, lat, lon, StayPointOptions(200.0, 1200.0)) == [(0, n)]
    assert len(calls) < 40
