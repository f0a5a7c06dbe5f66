"""TW (policies/window.py): a hand-made campus where the answer is known, the threshold as a
prefix of the greedy order, a literal rescanning greedy as the oracle on random instances,
and the refusal of a state without visit windows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.errors import PolicyError
from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.windows import VisitWindows
from mcsim.platform.allocation import PlatformState
from mcsim.platform.tasks import Task, TaskBatch
from policies import make_policy
from policies.base import publish_order
from policies.checker import random_instance
from policies.window import TW

HOUR = 3600.0
Visit = tuple[int, int, int, float, float]

# (user, day, location, arrival [h], departure [h]) over 4 training days:
# L0: u0 09-10 on days 0-2; u1 13-15 on days 0-1; u2 07-08 on day 3.
# L1: u1 and u2 09-12 every day; u3 never anywhere (absent every day).
VISITS: list[Visit] = [
    *[(0, d, 0, 9, 10) for d in range(3)],
    *[(1, d, 0, 13, 15) for d in range(2)],
    *[(u, d, 1, 9, 12) for u in (1, 2) for d in range(4)],
    (2, 3, 0, 7, 8),
]


def windows_of(visits: list[Visit], n_users: int) -> VisitWindows:
    visits = sorted(visits, key=lambda v: (v[0], v[1], v[3]))
    heads = [i for i, v in enumerate(visits) if i == 0 or v[:2] != visits[i - 1][:2]]
    table = CycleTable(
        users=pd.Index([f"u{u}" for u in range(n_users)]),
        locations=pd.Index(["l0", "l1"]),
        user=np.array([visits[i][0] for i in heads], dtype=np.int32),
        cycle=np.array([visits[i][1] for i in heads], dtype=np.int64),
        offsets=np.array([*heads, len(visits)], dtype=np.int64),
        location=np.array([v[2] for v in visits], dtype=np.int32),
        arrival=np.array([v[3] * HOUR for v in visits], dtype=np.float32),
        departure=np.array([v[4] * HOUR for v in visits], dtype=np.float32),
        options=CycleOptions(),
    )
    return VisitWindows.from_cycles(table, period=(0, 4))


@pytest.fixture
def state(state_of) -> PlatformState:
    base = state_of(n_users=4, n_locations=2, g=2)
    return dataclasses.replace(base, windows=windows_of(VISITS, 4))


def batch(*rows: tuple[int, int, float, int, float]) -> TaskBatch:
    """Tasks from (id, location, publish [h], copies, deadline [h]) rows."""
    return TaskBatch.from_tasks(Task(i, loc, p * HOUR, c, d * HOUR) for i, loc, p, c, d in rows)


def pairs(result) -> list[tuple[int, int, float]]:
    return list(
        zip(result.user.tolist(), result.task.tolist(), result.coverage.tolist(), strict=True)
    )


def test_copies_go_to_the_users_most_often_there_in_the_window(state) -> None:
    # Window 08:00-14:00 at L0: u0 3/4, u1 2/4, u2 1/4 (its visit ends exactly at 08:00).
    result = TW(min_prob=0.0).allocate(batch((7, 0, 8, 2, 14)), state)
    assert pairs(result) == [(0, 7, 0.75), (1, 7, 0.5)]
    assert result.unassigned == {} and result.iterations == 2
    # Published earlier but decided at 08:30: the window starts at the decision, u2 is gone.
    later = dataclasses.replace(state, now_s=8.5 * HOUR)
    result = TW(min_prob=0.0).allocate(batch((7, 0, 6, 3, 14)), later)
    assert pairs(result) == [(0, 7, 0.75), (1, 7, 0.5)]
    assert result.unassigned == {7: 1}  # u3 was never there: never picked, even at 0


def test_the_threshold_skips_weak_pairs(state) -> None:
    result = TW(min_prob=0.6).allocate(batch((7, 0, 8, 3, 14)), state)
    assert pairs(result) == [(0, 7, 0.75)]
    assert result.unassigned == {7: 2}
    # q equal to the threshold is kept.
    assert len(TW(min_prob=0.5).allocate(batch((7, 0, 8, 3, 14)), state)) == 2


def test_greedy_over_all_pairs_with_ties_by_user_code(state) -> None:
    # L1 09:00-12:00: u1 and u2 both 1.0 (a tie: u1 first); L0 until 16:00: u0 .75, u1 .5.
    # g = 2 and u1 already holds one task: u1 takes the L1 task only, so the L0 task's
    # second copy falls to u2 (1/4), the next best with room.
    held = dataclasses.replace(state, load=np.array([0, 1, 0, 0], dtype=np.int32))
    result = TW(min_prob=0.0).allocate(batch((3, 1, 9, 1, 12), (4, 0, 8, 2, 16)), held)
    assert pairs(result) == [(1, 3, 1.0), (0, 4, 0.75), (2, 4, 0.25)]


def test_held_tasks_and_full_users_are_skipped(state) -> None:
    busy = dataclasses.replace(
        state, load=np.array([2, 0, 0, 0], dtype=np.int32), held=frozenset({(1, 7)})
    )
    result = TW(min_prob=0.0).allocate(batch((7, 0, 8, 3, 14)), busy)
    assert pairs(result) == [(2, 7, 0.25)]


def test_a_state_without_windows_is_refused(state) -> None:
    bare = dataclasses.replace(state, windows=None)
    with pytest.raises(PolicyError, match="policy TW: the platform's knowledge lacks visit"):
        TW().allocate(batch((7, 0, 8, 1, 14)), bare)


def test_parameters() -> None:
    assert repr(make_policy("tw", min_prob=0.25)) == "TW(min_prob=0.25)"
    with pytest.raises(PolicyError, match="min_prob must be in"):
        make_policy("TW", min_prob=1.5)


def literal_tw(tasks: TaskBatch, state: PlatformState, min_prob: float) -> list[tuple[int, int]]:
    """The definition, literally: rescan every valid pair, fix the best, until none is left."""
    assert state.windows is not None
    order = publish_order(tasks)
    q = [
        state.windows.prob(
            int(tasks.location[i]), max(float(tasks.publish_s[i]), state.now_s), tasks.deadline_s[i]
        )
        for i in order
    ]
    remaining = tasks.copies[order].astype(int).tolist()
    capacity = state.capacity.astype(int).tolist()
    held = {(u, int(tasks.id[i])) for u in range(state.n_users) for i in order} & state.held
    chosen: list[tuple[int, int]] = []
    while True:
        valid = [
            (-q[r][u], u, r)
            for r in range(len(tasks))
            for u in range(state.n_users)
            if remaining[r] > 0
            and capacity[u] > 0
            and q[r][u] > 0
            and q[r][u] >= min_prob
            and (u, int(tasks.id[order[r]])) not in held
        ]
        if not valid:
            return chosen
        _, u, r = min(valid)
        chosen.append((u, int(tasks.id[order[r]])))
        held.add((u, int(tasks.id[order[r]])))
        remaining[r] -= 1
        capacity[u] -= 1


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_tasks=st.integers(0, 8),
    g=st.integers(1, 4),
    min_prob=st.sampled_from([0.0, 0.2, 0.4, 0.6, 1.0]),
    now_h=st.sampled_from([0.0, 6.0, 12.0]),
    deadline_h=st.sampled_from([6.0, 12.0, 18.0]),
)
def test_sorted_pass_equals_the_literal_rescan(seed, n_tasks, g, min_prob, now_h, deadline_h):
    tasks, state = random_instance(np.random.default_rng(seed), n_tasks=n_tasks, g=g)
    tasks = dataclasses.replace(tasks, deadline_s=tasks.publish_s + deadline_h * HOUR)
    state = dataclasses.replace(state, now_s=now_h * HOUR)
    result = TW(min_prob=min_prob).allocate(tasks, state)
    expected = literal_tw(tasks, state, min_prob)
    assert list(zip(result.user.tolist(), result.task.tolist(), strict=True)) == expected
    # A higher threshold keeps a prefix of the same greedy order.
    stricter = TW(min_prob=min(1.0, min_prob + 0.3)).allocate(tasks, state)
    assert stricter.user.tolist() == result.user.tolist()[: len(stricter)]
    assert stricter.task.tolist() == result.task.tolist()[: len(stricter)]
