"""``check_policy`` (policies/checker.py): it passes every registered policy and catches
policies that change their input, answer differently to the same input or break a rule."""

from __future__ import annotations

from itertools import count

import numpy as np
import pytest

from mcsim.errors import PolicyError
from mcsim.platform.allocation import ConstraintViolation
from policies import (
    BUILTIN_POLICIES,
    AllocationPolicy,
    check_policy,
    make_policy,
)
from policies.base import build_assignment, publish_order
from tests.policies.helpers import place_nothing

# Every policy that can be made without parameters: the built-ins (installed plug-ins such as
# the trained-agent policy `agent` need theirs, and have their own tests).
NAMES = list(BUILTIN_POLICIES)


@pytest.mark.parametrize("name", NAMES)
def test_check_policy_passes_for_every_registered_policy(name):
    check_policy(make_policy(name), seed=1, n_instances=40)


class WritesSupport(AllocationPolicy):
    def _allocate(self, tasks, state):
        state.patterns.support[:] = 1.0
        return place_nothing(tasks)


class Restless(AllocationPolicy):
    """Gives a different answer on every call (a hidden counter instead of a seeded RNG)."""

    calls = count()

    def _allocate(self, tasks, state):
        order = publish_order(tasks)
        if next(self.calls) % 2 or not len(tasks):
            return place_nothing(tasks)
        remaining = tasks.copies[order].copy()
        users = np.flatnonzero(state.capacity > 0)
        free = [u for u in users.tolist() if (u, int(tasks.id[order[0]])) not in state.held]
        if not free:
            return place_nothing(tasks)
        remaining[0] -= 1
        return build_assignment(tasks, order, [free[0]], [0], [0.0], remaining, 1)


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
            [0.0] * len(tasks),
            remaining,
            1,
        )


def test_check_policy_catches_mutation_nondeterminism_and_violations():
    with pytest.raises(PolicyError, match=r"policy WritesSupport failed: ValueError.*read-only"):
        check_policy(WritesSupport(), n_instances=5)
    with pytest.raises(PolicyError, match=r"check_policy\(Restless\).*differ"):
        check_policy(Restless(), n_instances=20)
    with pytest.raises(ConstraintViolation, match="policy Greedy: "):
        check_policy(Greedy(), n_instances=20)
