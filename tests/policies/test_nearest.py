"""NA: nearest users by last known location, distinct users, g respected, ties by user code."""

from __future__ import annotations

import numpy as np

from policies import make_policy

# Four locations on a meridian, 0, 100, 200 and 300 m north of the first (about).
COORDS = [(32.8800 + k * 0.0009, -117.2340) for k in range(4)]


def test_na_takes_the_nearest_users(state_of, tasks_of):
    # Task at l0 needs 2 copies: u2 (at l0) and u0 (at l1) are nearest; u1 (l3) is not.
    # u3 has no known location and is never chosen.
    state = state_of(n_users=4, n_locations=4, g=2, coords=COORDS,
                     last_location=[1, 3, 0, -1], prob={(2, 0): 0.7})
    result = make_policy("NA").allocate(tasks_of((1, 0, 0.0, 2)), state)
    assert result.user.tolist() == [2, 0]
    assert result.coverage.tolist() == [0.7, 0.0]
    assert result.iterations == 1


def test_na_respects_g_held_pairs_and_publish_order(state_of, tasks_of):
    # g = 1. Task 5 (published first) takes u0, the nearest; task 4 then takes u1. u2 at the
    # same place as u0 holds task 4 already.
    state = state_of(n_users=3, n_locations=4, g=1, coords=COORDS, last_location=[0, 2, 0],
                     held=frozenset({(2, 4)}), load=[0, 0, 1])
    result = make_policy("NA").allocate(tasks_of((5, 0, 0.0, 1), (4, 0, 1.0, 1)), state)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == [(0, 5), (1, 4)]


def test_na_ties_go_to_the_lower_user_code(state_of, tasks_of):
    # u0 and u1 are equally far (same place, l2) from the task at l1: u0 wins.
    state = state_of(n_users=3, n_locations=4, g=1, coords=COORDS, last_location=[2, 2, 3])
    result = make_policy("NA").allocate(tasks_of((1, 1, 0.0, 1)), state)
    assert result.user.tolist() == [0]


def test_na_ties_across_places_go_to_the_lower_user_code(state_of, tasks_of):
    # l0 and l2 lie symmetric about l1 (exactly equal distances): u1 (at l0) and u0 (at l2)
    # tie, and u0 wins although its place comes later.
    coords = [(0.0, -0.001), (0.0, 0.0), (0.0, 0.001), (0.0, 0.01)]
    state = state_of(n_users=2, n_locations=4, g=1, coords=coords, last_location=[2, 0])
    distance = state.locations.distance_m(np.array([0, 2]), 1)
    assert distance[0] == distance[1]
    result = make_policy("NA").allocate(tasks_of((1, 1, 0.0, 1)), state)
    assert result.user.tolist() == [0]


def test_na_leaves_tasks_without_coordinates_unassigned(state_of, tasks_of):
    coords = [*COORDS[:3], (np.nan, np.nan)]
    state = state_of(n_users=2, n_locations=4, g=2, coords=coords, last_location=[0, 3])
    result = make_policy("NA").allocate(tasks_of((1, 3, 0.0, 1), (2, 1, 0.0, 2)), state)
    assert result.user.tolist() == [0]  # u1's place has no coordinates: never chosen
    assert result.unassigned == {1: 1, 2: 1}
