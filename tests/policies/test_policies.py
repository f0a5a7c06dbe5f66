"""Every registered policy: the problem's constraints as properties, determinism, read-only
inputs, and ``check_policy`` (which must also catch policies that break the rules)."""

from __future__ import annotations

from collections import Counter
from itertools import count

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.errors import PolicyError
from mcsim.platform.allocation import ConstraintViolation
from policies import AllocationPolicy, available_policies, check_policy, make_policy
from policies.base import build_assignment, publish_order
from policies.checker import random_instance

NAMES = available_policies()


@pytest.mark.parametrize("name", NAMES)
def test_check_policy_passes_for_every_registered_policy(name):
    check_policy(make_policy(name), seed=1, n_instances=40)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    name=st.sampled_from(NAMES),
    n_users=st.integers(1, 8),
    n_locations=st.integers(1, 6),
    n_tasks=st.integers(0, 12),
    g=st.integers(1, 5),
)
def test_constraints_hold_on_random_instances(seed, name, n_users, n_locations, n_tasks, g):
    tasks, state = random_instance(
        np.random.default_rng(seed), n_users=n_users, n_locations=n_locations, n_tasks=n_tasks, g=g
    )
    result = make_policy(name).allocate(tasks, state)
    pairs = list(zip(result.user.tolist(), result.task.tolist(), strict=True))
    # No (user, task) twice, and never a pair the user held before.
    assert len(set(pairs)) == len(pairs)
    assert not set(pairs) & state.held
    # At most g tasks per user, counting what it held before.
    per_user = Counter(result.user.tolist())
    assert all(state.load[u] + k <= state.g for u, k in per_user.items())
    # Copies never exceed c_i, and every missing copy is reported.
    per_task = Counter(result.task.tolist())
    for task, copies in zip(tasks.id.tolist(), tasks.copies.tolist(), strict=True):
        assert per_task[task] <= copies
        assert result.unassigned.get(task, 0) == copies - per_task[task]
    # Deterministic: a second policy object gives exactly the same answer.
    again = make_policy(name).allocate(tasks, state)
    assert again.user.tolist() == result.user.tolist()
    assert again.task.tolist() == result.task.tolist()
    assert again.iterations == result.iterations
    assert result.seconds >= 0


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_batch_gives_an_empty_assignment(name):
    tasks, state = random_instance(np.random.default_rng(0), n_tasks=0)
    result = make_policy(name).allocate(tasks, state)
    assert len(result) == 0
    assert result.unassigned == {}


def _place_nothing(tasks):
    order = publish_order(tasks)
    return build_assignment(tasks, order, [], [], [], tasks.copies[order], 0)


class WritesLoad(AllocationPolicy):
    def _allocate(self, tasks, state):
        state.load[0] += 1
        return _place_nothing(tasks)


class WritesSupport(AllocationPolicy):
    def _allocate(self, tasks, state):
        state.patterns.support[:] = 1.0
        return _place_nothing(tasks)


class Restless(AllocationPolicy):
    """Gives a different answer on every call (a hidden counter instead of a seeded RNG)."""

    calls = count()

    def _allocate(self, tasks, state):
        order = publish_order(tasks)
        if next(self.calls) % 2 or not len(tasks):
            return _place_nothing(tasks)
        remaining = tasks.copies[order].copy()
        users = np.flatnonzero(state.capacity > 0)
        free = [u for u in users.tolist() if (u, int(tasks.id[order[0]])) not in state.held]
        if not free:
            return _place_nothing(tasks)
        remaining[0] -= 1
        return build_assignment(tasks, order, [free[0]], [0], [np.nan], remaining, 1)


class Greedy(AllocationPolicy):
    """Ignores g: gives every task to user 0."""

    def _allocate(self, tasks, state):
        order = publish_order(tasks)
        remaining = tasks.copies[order] - 1
        return build_assignment(
            tasks,
            order,
            [0] * len(tasks),
            list(range(len(tasks))),
            [np.nan] * len(tasks),
            remaining,
            1,
        )


def test_hooks_get_read_only_state_arrays():
    tasks, state = random_instance(np.random.default_rng(0))
    with pytest.raises(ValueError, match="read-only"):
        WritesLoad().allocate(tasks, state)


def test_check_policy_catches_mutation_nondeterminism_and_violations():
    with pytest.raises(PolicyError, match=r"check_policy\(WritesSupport\).*changed its input"):
        check_policy(WritesSupport(), n_instances=5)
    with pytest.raises(PolicyError, match=r"check_policy\(Restless\).*differ"):
        check_policy(Restless(), n_instances=20)
    with pytest.raises(ConstraintViolation, match="policy Greedy: "):
        check_policy(Greedy(), n_instances=20)


def test_allocate_rejects_tasks_outside_the_state():
    tasks, state = random_instance(np.random.default_rng(0), n_locations=3, n_tasks=4)
    bad = type(tasks)(tasks.id, tasks.location + 3, tasks.publish_s, tasks.copies, tasks.deadline_s)
    with pytest.raises(PolicyError, match="policy MLP: a task location code"):
        make_policy("MLP").allocate(bad, state)
