"""The policy framework (policies/base.py): every registered policy keeps the problem's
constraints (properties on random instances), is deterministic, gets read-only inputs, and
``allocate`` validates what it is given."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.errors import PolicyError
from policies import BUILTIN_POLICIES, AllocationPolicy, make_policy
from policies.checker import random_instance
from tests.policies.helpers import place_nothing

# Every policy that can be made without parameters: the built-ins (installed plug-ins such as
# the trained-agent policy `agent` need theirs, and have their own tests).
NAMES = list(BUILTIN_POLICIES)


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


class WritesLoad(AllocationPolicy):
    def _allocate(self, tasks, state):
        state.load[0] += 1
        return place_nothing(tasks)


def test_hooks_get_read_only_state_arrays():
    tasks, state = random_instance(np.random.default_rng(0))
    with pytest.raises(PolicyError, match=r"policy WritesLoad failed: ValueError: .*read-only"):
        WritesLoad().allocate(tasks, state)


def test_allocate_rejects_tasks_outside_the_state():
    tasks, state = random_instance(np.random.default_rng(0), n_locations=3, n_tasks=4)
    bad = type(tasks)(tasks.id, tasks.location + 3, tasks.publish_s, tasks.copies, tasks.deadline_s)
    with pytest.raises(PolicyError, match="policy MLP: a task location code"):
        make_policy("MLP").allocate(bad, state)
