"""NA: nearest users by last known location, distinct users, g respected, ties by user code."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.platform.allocation import PlatformState
from mcsim.platform.tasks import TaskBatch
from policies import make_policy
from policies.base import publish_order

# Four locations on a meridian, 0, 100, 200 and 300 m north of the first (about).
COORDS = [(32.8800 + k * 0.0009, -117.2340) for k in range(4)]


def test_na_takes_the_nearest_users(state_of, tasks_of):
    # Task at l0 needs 2 copies: u2 (at l0) and u0 (at l1) are nearest; u1 (l3) is not.
    # u3 has no known location and is never chosen.
    state = state_of(
        n_users=4,
        n_locations=4,
        g=2,
        coords=COORDS,
        last_location=[1, 3, 0, -1],
        prob={(2, 0): 0.7},
    )
    result = make_policy("NA").allocate(tasks_of((1, 0, 0.0, 2)), state)
    assert result.user.tolist() == [2, 0]
    assert result.coverage.tolist() == [0.7, 0.0]
    assert result.iterations == 1


def test_na_respects_g_held_pairs_and_publish_order(state_of, tasks_of):
    # g = 1. Task 5 (published first) takes u0, the nearest; task 4 then takes u1. u2 at the
    # same place as u0 holds task 4 already.
    state = state_of(
        n_users=3,
        n_locations=4,
        g=1,
        coords=COORDS,
        last_location=[0, 2, 0],
        held=frozenset({(2, 4)}),
        load=[0, 0, 1],
    )
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


def brute_force_na(tasks: TaskBatch, state: PlatformState) -> list[tuple[int, int]]:
    """NA by its definition: per task in publish order, sort every user with room and a known
    place by (distance, user code) and take the first c_i that do not hold the task."""
    coords = state.locations
    known = np.isfinite(coords.latitude) & np.isfinite(coords.longitude)
    room = state.capacity.tolist()
    held = set(state.held)
    pairs = []
    for position in publish_order(tasks).tolist():
        task, location = int(tasks.id[position]), int(tasks.location[position])
        if not known[location]:
            continue
        users = [
            u
            for u in range(state.n_users)
            if state.last_location[u] >= 0 and known[state.last_location[u]]
        ]
        distance = {
            u: float(coords.distance_m(location, int(state.last_location[u]))) for u in users
        }
        chosen = [
            u
            for u in sorted(users, key=lambda u: (distance[u], u))
            if room[u] > 0 and (u, task) not in held
        ][: int(tasks.copies[position])]
        for user in chosen:
            room[user] -= 1
            held.add((user, task))
            pairs.append((user, task))
    return pairs


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_users=st.integers(1, 60),
    n_locations=st.integers(1, 40),
    n_tasks=st.integers(0, 30),
    g=st.integers(1, 3),
    grid=st.booleans(),
)
def test_na_matches_the_brute_force_definition(
    state_of, tasks_of, seed, n_users, n_locations, n_tasks, g, grid
):
    # On a grid many places are exactly equally far from a task (and some share coordinates);
    # off it, distances spread over a city, and a few places have no coordinates.
    rng = np.random.default_rng(seed)
    if grid:
        cells = rng.integers(-2, 3, size=(n_locations, 2)) * 0.001
        coords = [(float(a), float(b)) for a, b in cells]
    else:
        coords = [
            (float(rng.uniform(32.8, 32.9)), float(rng.uniform(-117.3, -117.2)))
            if rng.random() > 0.1
            else (np.nan, np.nan)
            for _ in range(n_locations)
        ]
    last = rng.integers(-1, n_locations, n_users).tolist()
    load = rng.integers(0, g + 1, n_users).tolist()
    rows = [
        (i, int(rng.integers(n_locations)), float(rng.integers(3)), int(rng.integers(1, 5)))
        for i in range(n_tasks)
    ]
    held = frozenset(
        (int(rng.integers(n_users)), int(rng.integers(max(n_tasks, 1))))
        for _ in range(n_users // 4)
    )
    state = state_of(
        n_users=n_users,
        n_locations=n_locations,
        g=g,
        coords=coords,
        last_location=last,
        load=load,
        held=held,
    )
    tasks = tasks_of(*rows)
    result = make_policy("NA").allocate(tasks, state)
    pairs = list(zip(result.user.tolist(), result.task.tolist(), strict=True))
    assert pairs == brute_force_na(tasks, state)
