"""``check_policy``: the checker a researcher runs on a policy before trusting its numbers.

Like Gymnasium's ``check_env``, it exercises a policy on many small random instances and
fails loudly on the first problem: a constraint broken (through
:meth:`AllocationPolicy.allocate`, which runs :func:`~mcsim.platform.allocation.check_assignment`),
two same-seed runs that differ, or an input the policy changed. :func:`random_instance` is
public so that property tests draw their instances from the same generator.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from mcsim.errors import PolicyError
from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.mining.windows import VisitWindows
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from policies.base import AllocationPolicy

# Supports and probabilities come from a coarse grid so that ties, the cases where
# tie-breaking rules matter, are common.
_GRID = np.array([0.2, 0.4, 0.5, 0.6, 0.8, 1.0])


def random_instance(
    rng: np.random.Generator,
    *,
    n_users: int = 6,
    n_locations: int = 5,
    n_tasks: int = 6,
    g: int = 3,
    max_copies: int = 3,
    max_patterns_per_user: int = 4,
    max_pattern_length: int = 3,
) -> tuple[TaskBatch, PlatformState]:
    """A small random (tasks, state) pair that exercises every constraint.

    Loads, held pairs (some for tasks outside the batch), unknown last locations, a location
    without coordinates, repeated locations inside a pattern and tied publish times, supports
    and probabilities all occur. The state's visit windows come from random training days
    (drawn last, so the rest of an instance does not depend on them).
    """
    holders, items, offsets, support = [], [], [0], []
    n_valid = rng.integers(2, 11, size=n_users)
    for user in range(n_users):
        for _ in range(int(rng.integers(0, max_patterns_per_user + 1))):
            length = int(rng.integers(1, max_pattern_length + 1))
            items.extend(rng.integers(0, n_locations, size=length).tolist())
            offsets.append(len(items))
            holders.append(user)
            support.append(float(rng.choice(_GRID[2:])))
    support_array = np.array(support, dtype=np.float64)
    holder = np.array(holders, dtype=np.int32)
    n_cycles = n_valid[holder].astype(np.int32)
    patterns = PatternBase(
        users=pd.Index([f"u{u}" for u in range(n_users)]),
        locations=pd.Index([f"l{loc}" for loc in range(n_locations)]),
        holder=holder,
        offsets=np.array(offsets, dtype=np.int64),
        items=np.array(items, dtype=np.int32),
        support=support_array,
        count=np.round(support_array * n_cycles).astype(np.int32),
        n_cycles=n_cycles,
        minsup=0.5,
        max_length=max_pattern_length,
    )
    dense = rng.choice(_GRID, size=(n_users, n_locations)) * (
        rng.random((n_users, n_locations)) < 0.5
    )
    model = LocationModel(sparse.csr_matrix(dense))
    latitude = 32.88 + rng.integers(0, 4, size=n_locations) * 1e-3
    longitude = -117.23 + rng.integers(0, 4, size=n_locations) * 1e-3
    if n_locations > 1 and rng.random() < 0.5:
        latitude[rng.integers(n_locations)] = np.nan
    locations = Locations(patterns.locations, latitude, longitude)

    ids = rng.permutation(10 * max(n_tasks, 1))[:n_tasks].astype(np.int64)
    publish = np.sort(rng.integers(0, 3, size=n_tasks).astype(np.float64))
    tasks = TaskBatch(
        id=ids,
        location=rng.integers(0, n_locations, size=n_tasks).astype(np.int32),
        publish_s=publish * 60.0,
        copies=rng.integers(1, max_copies + 1, size=n_tasks).astype(np.int32),
        deadline_s=np.full(n_tasks, np.inf),
    )
    load = rng.integers(0, g + 1, size=n_users).astype(np.int32)
    held = set()
    for _ in range(int(rng.integers(0, n_users + 1))):
        user = int(rng.integers(n_users))
        if n_tasks and rng.random() < 0.8:
            held.add((user, int(rng.choice(ids))))
        else:
            held.add((user, int(10 * max(n_tasks, 1) + rng.integers(5))))  # outside the batch
    last = rng.integers(-1, n_locations, size=n_users).astype(np.int32)
    state = PlatformState(
        patterns=patterns,
        location_model=model,
        locations=locations,
        g=g,
        load=load,
        last_location=last,
        held=frozenset(held),
        windows=_random_windows(rng, patterns),
    )
    return tasks, state


def _random_windows(rng: np.random.Generator, patterns: PatternBase) -> VisitWindows:
    """Visit windows of random training days: each user absent on some, else 1-3 visits at
    whole hours (so overlaps that only touch a window's end occur)."""
    n_users, n_locations, n_days = len(patterns.users), len(patterns.locations), 5
    user, cycle, lengths, location, times = [], [], [], [], []
    for u in range(n_users):
        for day in range(n_days):
            if rng.random() < 0.3:
                continue  # absent that day
            k = int(rng.integers(1, 4))
            user.append(u)
            cycle.append(day)
            lengths.append(k)
            location.extend(rng.integers(0, n_locations, size=k).tolist())
            times.extend((np.sort(rng.integers(0, 25, size=2 * k)) * 3600.0).tolist())
    span = np.array(times, dtype=np.float32).reshape(-1, 2)
    table = CycleTable(
        users=patterns.users,
        locations=patterns.locations,
        user=np.array(user, dtype=np.int32),
        cycle=np.array(cycle, dtype=np.int64),
        offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        location=np.array(location, dtype=np.int32),
        arrival=span[:, 0].copy(),
        departure=span[:, 1].copy(),
        options=CycleOptions(),
    )
    return VisitWindows.from_cycles(table, period=(0, n_days))


def check_policy(policy: AllocationPolicy, *, seed: int = 0, n_instances: int = 50) -> None:
    """Run ``policy`` on random small instances and raise on the first problem found.

    Checks, per instance: the assignment satisfies every constraint (``allocate`` runs the
    constraint check), a deep copy of the policy made before the first run returns exactly the
    same assignment (determinism given the policy's seed), and no input array, pattern, model
    or held set is changed.

    Args:
        policy: the policy under test (it is deep-copied once, not modified).
        seed: seed of the instance generator.
        n_instances: number of random instances.

    Raises:
        PolicyError: naming the policy, the instance and the problem.
        ConstraintViolation: from ``allocate``, when a constraint is broken.
    """
    twin = copy.deepcopy(policy)
    streams = np.random.SeedSequence(seed).spawn(n_instances)
    for index, stream in enumerate(streams):
        rng = np.random.default_rng(stream)
        tasks, state = random_instance(
            rng,
            n_users=int(rng.integers(1, 9)),
            n_locations=int(rng.integers(1, 7)),
            n_tasks=int(rng.integers(0, 10)),
            g=int(rng.integers(1, 5)),
        )
        where = f"check_policy({policy.name}): instance {index} (seed {seed})"
        before = _snapshot(tasks, state)
        first = policy.allocate(tasks, state)
        if not _same_inputs(before, _snapshot(tasks, state)):
            raise PolicyError(f"{where}: the policy changed its input")
        second = twin.allocate(tasks, state)
        if not same_answer(first, second):
            raise PolicyError(f"{where}: two runs from the same seed differ")


def _snapshot(tasks: TaskBatch, state: PlatformState) -> dict[str, Any]:
    p, m, loc = state.patterns, state.location_model.probability, state.locations
    arrays = {
        "tasks.id": tasks.id,
        "tasks.location": tasks.location,
        "tasks.publish_s": tasks.publish_s,
        "tasks.copies": tasks.copies,
        "tasks.deadline_s": tasks.deadline_s,
        "load": state.load,
        "last_location": state.last_location,
        "patterns.holder": p.holder,
        "patterns.offsets": p.offsets,
        "patterns.items": p.items,
        "patterns.support": p.support,
        "model.data": m.data,
        "model.indices": m.indices,
        "model.indptr": m.indptr,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
    }
    snapshot: dict[str, Any] = {key: np.array(value, copy=True) for key, value in arrays.items()}
    snapshot["held"] = frozenset(state.held)
    snapshot["g"] = state.g
    return snapshot


def _same_inputs(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return all(
        np.array_equal(value, after[key], equal_nan=value.dtype.kind == "f")
        if isinstance(value, np.ndarray)
        else value == after[key]
        for key, value in before.items()
    )


def same_answer(a: Assignment, b: Assignment) -> bool:
    """Two assignments are the same answer (pairs, claims, iterations, unassigned copies)."""
    return (
        np.array_equal(a.user, b.user)
        and np.array_equal(a.task, b.task)
        and np.array_equal(a.coverage, b.coverage, equal_nan=True)
        and a.iterations == b.iterations
        and a.unassigned == b.unassigned
    )
