"""IGA and BGA: hand-computed reference allocations from the definitions, and IGA against a
literal one-pair-per-iteration rescan."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import make_policy
from policies.checker import random_instance
from policies.probabilistic import IGA, qualified_edges

A, B, C = 0, 1, 2


def test_iga_fixes_one_pair_per_iteration_best_p_first(state_of, tasks_of):
    # Edges with p > 0.5: (u0,t1) 0.9, (u2,t2) 0.8, (u1,t1) 0.7, (u0,t2) 0.6; u2's 0.4 at A
    # does not qualify. g = 1: u0-t1, u2-t2, u1-t1; (u0,t2) is then invalid (u0 full, t2 done).
    state = state_of(
        n_users=3,
        n_locations=2,
        g=1,
        prob={(0, A): 0.9, (0, B): 0.6, (1, A): 0.7, (2, B): 0.8, (2, A): 0.4},
    )
    tasks = tasks_of((1, A, 0.0, 2), (2, B, 0.0, 1))
    result = make_policy("IGA").allocate(tasks, state)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == [
        (0, 1),
        (2, 2),
        (1, 1),
    ]
    assert result.coverage.tolist() == [0.9, 0.8, 0.7]
    assert result.iterations == 3 == tasks.total_copies
    assert result.unassigned == {}


def test_iga_threshold_is_strict_and_unqualified_copies_are_reported(state_of, tasks_of):
    state = state_of(n_users=2, n_locations=1, g=3, prob={(0, A): 0.5, (1, A): 0.51})
    result = make_policy("IGA").allocate(tasks_of((1, A, 0.0, 2)), state)
    assert result.user.tolist() == [1]
    assert result.iterations == 1
    assert result.unassigned == {1: 1}


def test_iga_ties_go_to_the_earlier_task_then_the_lower_user(state_of, tasks_of):
    state = state_of(
        n_users=2, n_locations=2, g=1, prob={(0, A): 0.8, (0, B): 0.8, (1, A): 0.8, (1, B): 0.8}
    )
    tasks = tasks_of((5, B, 0.0, 1), (4, A, 1.0, 1))  # task 5 is published first
    result = make_policy("IGA").allocate(tasks, state)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == [(0, 5), (1, 4)]


def test_bga_takes_the_most_connected_user_first(state_of, tasks_of):
    # Qualified edges: u0: A, B (degree 2); u1: A, B, C (degree 3); u2: C (degree 1). g = 2.
    # u1 goes first and takes its two best edges: A (0.9) and C (0.7). t1 and t3 are then
    # full, so u0's degree falls to 1 (B) and u2's to 0. u0 goes next and takes B.
    state = state_of(
        n_users=3,
        n_locations=3,
        g=2,
        prob={(0, A): 0.8, (0, B): 0.9, (1, A): 0.9, (1, B): 0.6, (1, C): 0.7, (2, C): 0.95},
    )
    tasks = tasks_of((1, A, 0.0, 1), (2, B, 0.0, 1), (3, C, 0.0, 1))
    result = make_policy("BGA").allocate(tasks, state)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == [
        (1, 1),
        (1, 3),
        (0, 2),
    ]
    assert result.iterations == 2
    assert result.coverage.tolist() == [0.9, 0.7, 0.9]


def test_bga_breaks_degree_ties_by_lower_user_code(state_of, tasks_of):
    state = state_of(n_users=3, n_locations=1, g=1, prob={(1, A): 0.6, (2, A): 0.9})
    result = make_policy("BGA").allocate(tasks_of((1, A, 0.0, 1)), state)
    assert result.user.tolist() == [1]


def test_qualified_edges_skip_full_users_and_held_pairs(state_of, tasks_of):
    state = state_of(
        n_users=3,
        n_locations=1,
        g=2,
        load=[2, 0, 0],
        held=frozenset({(1, 7)}),
        prob={(0, A): 0.9, (1, A): 0.9, (2, A): 0.9},
    )
    edges = qualified_edges(tasks_of((7, A, 0.0, 1), (8, A, 0.0, 1)), state, 0.5)
    assert sorted(zip(edges.rank.tolist(), edges.user.tolist(), strict=True)) == [
        (0, 2),
        (1, 1),
        (1, 2),
    ]


def literal_iga(tasks, state, threshold):
    """IGA as written: every iteration scans all valid pairs for the single best one."""
    order = sorted(range(len(tasks)), key=lambda i: (tasks.publish_s[i], tasks.id[i]))
    rank = {i: r for r, i in enumerate(order)}
    remaining = {i: int(tasks.copies[i]) for i in order}
    capacity = state.capacity.astype(int)
    held = {(u, i) for u, t in state.held for i in order if tasks.id[i] == t}
    chosen = []
    while True:
        valid = [
            (-float(state.location_model.prob(u, int(tasks.location[i]))), rank[i], u, i)
            for i in order
            for u in range(state.n_users)
            if remaining[i] > 0
            and capacity[u] > 0
            and (u, i) not in held
            and state.location_model.prob(u, int(tasks.location[i])) > threshold
        ]
        if not valid:
            return chosen
        _, _, u, i = min(valid)
        chosen.append((u, int(tasks.id[i])))
        held.add((u, i))
        remaining[i] -= 1
        capacity[u] -= 1


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tasks=st.integers(0, 8), g=st.integers(1, 4))
def test_iga_sorted_pass_equals_the_literal_rescan(seed, n_tasks, g):
    tasks, state = random_instance(np.random.default_rng(seed), n_tasks=n_tasks, g=g)
    result = IGA().allocate(tasks, state)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == literal_iga(
        tasks, state, 0.5
    )
    assert result.iterations == len(result)
