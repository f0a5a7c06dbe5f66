"""MLP, MDP, IU1, IU2: hand-computed reference allocations and the lazy-heap engine's exactness.

The reference instance is small enough to work out from the definitions by hand (the expected
ATU matrices are written out below); the random instances compare the lazy max-heap engine
against a brute-force engine that rescans every pattern in every iteration.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import make_policy
from policies.checker import random_instance
from policies.pattern import IU1, IU2, MDP, MLP, PatternPolicy, greedy_match

A, B, C, D = 0, 1, 2, 3


@pytest.fixture
def four_way(state_of, tasks_of):
    """Tasks t0..t3 at A, B, C, D (one copy each, published in that order); g = 3.

    Patterns (holder, locations, support), with matlg / matdg / product against T*:
      p0: u0, A->B->C, 0.5  (3 / 0.5 / 1.5)
      p1: u1, A->B,    0.8  (2 / 0.8 / 1.6)
      p2: u2, A,       1.0  (1 / 1.0 / 1.0)
      p3: u3, D,       0.6  (1 / 0.6 / 0.6)
    """
    state = state_of(
        n_users=4,
        n_locations=4,
        g=3,
        patterns=[(0, [A, B, C], 0.5), (1, [A, B], 0.8), (2, [A], 1.0), (3, [D], 0.6)],
    )
    tasks = tasks_of((10, A, 0.0, 1), (11, B, 1.0, 1), (12, C, 2.0, 1), (13, D, 3.0, 1))
    return tasks, state


def atu(assignment) -> dict[int, list[int]]:
    """user -> sorted task ids: the ATU matrix's rows."""
    rows: dict[int, list[int]] = {}
    for user, task in zip(assignment.user.tolist(), assignment.task.tolist(), strict=True):
        rows.setdefault(user, []).append(task)
    return {user: sorted(tasks) for user, tasks in rows.items()}


@pytest.mark.parametrize(
    ("name", "rows", "iterations", "unassigned"),
    [
        # MLP: p0 (matlg 3) takes t10-t12; then only p3 matches (t13).
        ("MLP", {0: [10, 11, 12], 3: [13]}, 2, {}),
        # MDP: p2 (1.0) takes t10; p1 (0.8) now shares only t11; p3 (0.6) t13; p0 (0.5) t12.
        ("MDP", {2: [10], 1: [11], 3: [13], 0: [12]}, 4, {}),
        # IU1 (delta 0.7) keeps p1, p2 only; p1 (matlg 2) takes t10, t11; p2 then shares nothing.
        ("IU1", {1: [10, 11]}, 1, {12: 1, 13: 1}),
        # IU2: p1 (1.6) takes t10, t11; then p3 (0.6) beats p0 (1 x 0.5); then p0 takes t12.
        ("IU2", {1: [10, 11], 3: [13], 0: [12]}, 3, {}),
    ],
)
def test_the_four_strategies_pick_differently(four_way, name, rows, iterations, unassigned):
    tasks, state = four_way
    result = make_policy(name).allocate(tasks, state)
    assert atu(result) == rows
    assert result.iterations == iterations
    assert result.unassigned == unassigned


def test_coverage_claim_is_the_winning_patterns_support(four_way):
    tasks, state = four_way
    result = make_policy("MLP").allocate(tasks, state)
    claims = dict(zip(result.task.tolist(), result.coverage.tolist(), strict=True))
    assert claims == {10: 0.5, 11: 0.5, 12: 0.5, 13: 0.6}


def test_capacity_caps_the_match_keeping_the_earliest_published(state_of, tasks_of):
    # u0 has room for 2 (g = 3, load 1): of the three tasks at A it takes the two published
    # first; equal publish times fall back to the lower id.
    state = state_of(n_users=1, n_locations=1, g=3, load=[1], patterns=[(0, [A], 0.9)])
    tasks = tasks_of((7, A, 5.0, 1), (3, A, 1.0, 1), (5, A, 1.0, 1))
    result = make_policy("MLP").allocate(tasks, state)
    assert sorted(result.task.tolist()) == [3, 5]
    assert result.unassigned == {7: 1}


def test_ties_go_to_the_lower_holder_then_the_lower_pattern(state_of, tasks_of):
    # Three identical patterns of u1 (two) and u2; one task with one copy: u1's first wins.
    state = state_of(
        n_users=3,
        n_locations=2,
        g=2,
        patterns=[(1, [A, B], 0.7), (1, [B, A], 0.7), (2, [A, B], 0.7)],
    )
    result = greedy_match(tasks_of((1, A, 0.0, 1)), state, MLP.utility)
    assert result.user.tolist() == [1]


def test_copies_go_to_distinct_users_and_held_pairs_are_skipped(state_of, tasks_of):
    # Task 1 needs 3 copies; u0 already holds it, so u1 and u2 (and only they) take it.
    state = state_of(
        n_users=3,
        n_locations=1,
        g=2,
        held=frozenset({(0, 1)}),
        patterns=[(0, [A], 1.0), (1, [A], 0.9), (2, [A], 0.8)],
    )
    result = make_policy("MDP").allocate(tasks_of((1, A, 0.0, 3)), state)
    assert result.user.tolist() == [1, 2]
    assert result.unassigned == {1: 1}


def test_a_full_holder_has_no_patterns_left(state_of, tasks_of):
    # u0 (g = 1) wins t1 with p0 and is then full: its p1 must not take t2.
    state = state_of(
        n_users=2, n_locations=2, g=1, patterns=[(0, [A], 1.0), (0, [B], 0.95), (1, [B], 0.6)]
    )
    result = make_policy("MDP").allocate(tasks_of((1, A, 0.0, 1), (2, B, 1.0, 1)), state)
    assert atu(result) == {0: [1], 1: [2]}


def test_iu1_keeps_patterns_exactly_at_delta(state_of, tasks_of):
    state = state_of(n_users=1, n_locations=1, g=1, patterns=[(0, [A], 0.7)])
    assert len(IU1(delta=0.7).allocate(tasks_of((1, A, 0.0, 1)), state)) == 1
    assert len(IU1(delta=0.71).allocate(tasks_of((1, A, 0.0, 1)), state)) == 0


def brute_force(tasks, state, policy: PatternPolicy):
    """Algorithm 2 taken literally: rescan every pattern in every iteration."""
    base = state.patterns
    eligible = policy._eligible(state)
    order = sorted(range(len(tasks)), key=lambda i: (tasks.publish_s[i], tasks.id[i]))
    remaining = {i: int(tasks.copies[i]) for i in order}
    capacity = state.capacity.astype(int)
    held = {(u, i) for u, t in state.held for i in order if tasks.id[i] == t}
    users, task_ids, coverage, iterations = [], [], [], 0
    while True:
        best = None
        for p in range(len(base)):
            if eligible is not None and not eligible[p]:
                continue
            h, locations = int(base.holder[p]), set(base.pattern(p).tolist())
            shared = [
                i
                for i in order
                if remaining[i] > 0 and tasks.location[i] in locations and (h, i) not in held
            ][: max(int(capacity[h]), 0)]
            if shared:
                first, second = type(policy).utility(np.float64(len(shared)), base.support[p])
                key = (float(first), float(second), -h, -p)
                if best is None or key > best[0]:
                    best = (key, p, h, shared)
        if best is None:
            break
        _, p, h, shared = best
        iterations += 1
        capacity[h] -= len(shared)
        for i in shared:
            users.append(h)
            task_ids.append(int(tasks.id[i]))
            coverage.append(float(base.support[p]))
            held.add((h, i))
            remaining[i] -= 1
    unassigned = {int(tasks.id[i]): r for i, r in remaining.items() if r > 0}
    return users, task_ids, coverage, iterations, unassigned


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from([MLP(), MDP(), IU2(), IU1()]),
    n_users=st.integers(1, 8),
    n_locations=st.integers(1, 6),
    n_tasks=st.integers(0, 12),
    g=st.integers(1, 5),
)
def test_lazy_heap_equals_brute_force_rescanning(seed, policy, n_users, n_locations, n_tasks, g):
    tasks, state = random_instance(
        np.random.default_rng(seed),
        n_users=n_users,
        n_locations=n_locations,
        n_tasks=n_tasks,
        g=g,
        max_patterns_per_user=5,
    )
    result = policy.allocate(tasks, state)
    users, task_ids, coverage, iterations, unassigned = brute_force(tasks, state, policy)
    assert result.user.tolist() == users
    assert result.task.tolist() == task_ids
    assert result.coverage.tolist() == coverage
    assert result.iterations == iterations
    assert result.unassigned == unassigned
