"""Where locations are and how likely users visit them (mcsim.mining.locations): p(loc | u)
from hand-made cycles against hand-computed shares, and coordinates from a trace."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from mcsim.data.geo import EARTH_RADIUS_M
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleTable
from mcsim.mining.locations import LocationModel, Locations

Table = Callable[..., CycleTable]
M_PER_DEGREE = math.pi / 180 * EARTH_RADIUS_M

# u0: 4 cycles; location 0 in 3 of them (twice in the first, counted once), 1 in 2, 2 in 2.
# u1: 2 cycles; 2 in both, 0 in one. u2: no cycles at all.
CYCLES = [[[0, 1, 0], [0], [1, 2], [0, 2]], [[2], [2, 0]], []]
EXPECTED = np.array([[3 / 4, 2 / 4, 2 / 4], [1 / 2, 0.0, 1.0], [0.0, 0.0, 0.0]])


@pytest.fixture
def model(table: Table) -> LocationModel:
    return LocationModel.from_cycles(table(CYCLES, 3))


def test_probability_is_share_of_valid_cycles(model: LocationModel) -> None:
    assert model.shape == (3, 3)
    np.testing.assert_array_equal(model.probability.toarray(), EXPECTED)
    for u in range(3):
        for loc in range(3):
            assert model.prob(u, loc) == EXPECTED[u, loc]


def test_prob_broadcasts(model: LocationModel) -> None:
    grid = model.prob(np.array([[0], [1], [2]]), np.array([0, 1, 2]))
    assert grid.shape == (3, 3)
    np.testing.assert_array_equal(grid, EXPECTED)
    np.testing.assert_array_equal(model.prob(np.array([0, 1]), 2), [0.5, 1.0])


def test_users_at(model: LocationModel) -> None:
    users, probs = model.users_at(2)
    assert users.tolist() == [0, 1] and probs.tolist() == [0.5, 1.0]
    users, probs = model.users_at(2, threshold=0.5)  # strictly above the threshold
    assert users.tolist() == [1] and probs.tolist() == [1.0]
    users, probs = model.users_at(0)
    assert users.tolist() == [0, 1] and probs.tolist() == [0.75, 0.5]


def test_unvisited_locations_and_empty_users(table: Table) -> None:
    model = LocationModel.from_cycles(table([[[0]], []], 4))
    assert model.shape == (2, 4)
    np.testing.assert_array_equal(model.probability.toarray(), [[1, 0, 0, 0], [0, 0, 0, 0]])
    assert len(model.users_at(3)[0]) == 0


def gps_trace() -> Trace:
    frame = pd.DataFrame(
        {
            "user": ["u", "u", "v", "v"],
            "location": ["lab", "home", "lab", "cafe"],
            "time": pd.to_datetime(
                ["2024-03-01T09:00Z", "2024-03-01T19:00Z", "2024-03-01T10:00Z", "2024-03-01T12:00Z"]
            ),
            "latitude": [39.90, 39.95, 39.92, 39.90],
            "longitude": [116.30, 116.30, 116.30, 116.31],
        }
    )
    return Trace.from_frame(frame)


def test_locations_from_a_trace_average_its_sightings() -> None:
    trace = gps_trace()
    places = Locations.from_trace(trace)
    assert list(places.ids) == ["cafe", "home", "lab"] and len(places) == 3
    np.testing.assert_allclose(places.latitude, [39.90, 39.95, 39.91])
    np.testing.assert_allclose(places.longitude, [116.31, 116.30, 116.30])
    assert places.known
    lab, home = 2, 1
    # Along a meridian: 0.04 degrees of latitude.
    assert places.distance_m(lab, home) == pytest.approx(0.04 * M_PER_DEGREE, rel=1e-9)
    d = places.distance_m(np.array([0, 1, 2]), lab)
    assert d.shape == (3,) and d[2] == 0.0 and d[1] == pytest.approx(0.04 * M_PER_DEGREE)


def test_locations_without_coordinates_are_unknown() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u", "u"],
            "location": ["AP1", "AP2"],
            "time": pd.to_datetime(["2024-03-01T09:00Z", "2024-03-01T10:00Z"]),
        }
    )
    places = Locations.from_trace(Trace.from_frame(frame))
    assert len(places) == 2 and not places.known
    assert np.isnan(places.latitude).all() and np.isnan(places.distance_m(0, 1))
