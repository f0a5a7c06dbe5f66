"""The one constraint check every policy's output goes through: each rule, one violation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.platform.allocation import (
    Assignment,
    ConstraintViolation,
    PlatformState,
    check_assignment,
)
from mcsim.platform.tasks import Task, TaskBatch

N_USERS, N_LOCATIONS = 3, 2


def state(
    load: list[int] | None = None, held: frozenset = frozenset(), g: int = 2
) -> PlatformState:
    users = pd.Index([f"u{i}" for i in range(N_USERS)])
    locations = pd.Index([f"L{i}" for i in range(N_LOCATIONS)])
    empty = np.zeros(0)
    patterns = PatternBase(
        users,
        locations,
        empty.astype(np.int32),
        np.zeros(1, np.int64),
        empty.astype(np.int32),
        empty,
        empty.astype(np.int32),
        empty.astype(np.int32),
        0.5,
        None,
    )
    return PlatformState(
        patterns=patterns,
        location_model=LocationModel(sparse.csr_matrix((N_USERS, N_LOCATIONS))),
        locations=Locations(locations, np.zeros(N_LOCATIONS), np.zeros(N_LOCATIONS)),
        g=g,
        load=np.array(load or [0] * N_USERS, dtype=np.int32),
        last_location=np.full(N_USERS, -1, dtype=np.int32),
        held=held,
    )


TASKS = TaskBatch.from_tasks([Task(10, 0, 0.0, 2), Task(11, 1, 0.0, 1)])


def answer(pairs: list[tuple[int, int]], unassigned: dict[int, int]) -> Assignment:
    users = np.array([u for u, _ in pairs], dtype=np.int32)
    tasks = np.array([t for _, t in pairs], dtype=np.int64)
    return Assignment(users, tasks, np.full(len(pairs), 0.5), 1, unassigned)


def test_a_valid_assignment_passes() -> None:
    check_assignment(answer([(0, 10), (1, 10), (0, 11)], {}), TASKS, state())
    check_assignment(answer([(0, 10)], {10: 1, 11: 1}), TASKS, state())
    check_assignment(Assignment.empty(0, {10: 2, 11: 1}), TASKS, state())


@pytest.mark.parametrize(
    ("pairs", "unassigned", "kwargs", "fragment"),
    [
        ([(0, 10), (0, 10)], {11: 1}, {}, "twice"),
        ([(0, 10), (1, 10), (2, 10)], {11: 1}, {}, "got 3 copies but needs 2"),
        ([(0, 10), (0, 11)], {10: 1}, {"load": [1, 0, 0]}, "would hold 3 tasks, g = 2"),
        ([(0, 10)], {10: 1, 11: 1}, {"held": frozenset({(0, 10)})}, "already holds task 10"),
        ([(0, 12)], {}, {}, "task 12 not in the batch"),
        ([(5, 10)], {}, {}, "outside the population"),
        ([(0, 10)], {11: 1}, {}, "unassigned copies reported"),
    ],
)
def test_each_rule_is_enforced(
    pairs: list[tuple[int, int]], unassigned: dict[int, int], kwargs: dict, fragment: str
) -> None:
    with pytest.raises(ConstraintViolation, match=fragment):
        check_assignment(answer(pairs, unassigned), TASKS, state(**kwargs))


def test_state_rejects_bad_g_and_shapes() -> None:
    with pytest.raises(ValueError, match="g"):
        state(g=0)
    with pytest.raises(ValueError, match="load"):
        state(load=[0])
