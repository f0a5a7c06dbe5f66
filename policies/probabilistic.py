"""The paper's probabilistic baselines IGA and BGA (Wang et al. 2018, Sec. 5.2.2).

Both work on the same bipartite graph: an edge joins user u and task t when u *qualifies*,
p(loc_t | u) > P_thld (the :class:`~mcsim.mining.locations.LocationModel` probability, 0.5 in the
paper), u has capacity left and does not hold t yet. :func:`qualified_edges` builds it once,
vectorised, for both; they differ only in how they walk it. The coverage degree each claims
for a pair is p(loc_t | u).

Decisions where the paper is vague (tested in tests/policies):

* IGA's "best valid pair" is the one with the highest p; ties go to the earliest-published
  task (then lowest id), then the lower user code. Since p never changes and a pair only ever
  becomes invalid (task filled, user full), one sort of all edges and one pass that skips
  invalid pairs fixes the same pairs in the same order as rescanning per iteration. The
  iteration count is still the paper's: one per fixed pair (= placed copies).
* BGA's "most connections" is a user's current degree: its edges to tasks that still need
  copies (tasks filled by earlier users no longer count). Ties go to the lower user code. The
  chosen user gets its edges up to its capacity, highest p first, then publish order; then it
  leaves the graph. One iteration per user taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from policies.base import (
    AllocationPolicy,
    build_assignment,
    check_unit_interval,
    held_ranks,
    publish_order,
)


@dataclass(frozen=True, eq=False)
class Edges:
    """Qualified (task, user) edges: parallel arrays, one row per edge.

    Attributes:
        rank: the task's publish rank (0 = earliest published, ties by lowest id).
        user: user code.
        p: p(loc_t | u), > the threshold.
        order: rank -> task position in the batch.
    """

    rank: np.ndarray
    user: np.ndarray
    p: np.ndarray
    order: np.ndarray


def qualified_edges(tasks: TaskBatch, state: PlatformState, threshold: float) -> Edges:
    """All (task, user) pairs with p(loc_t | u) > threshold, room at the user and not held."""
    order = publish_order(tasks)
    location = tasks.location[order]
    places, which = np.unique(location, return_inverse=True)
    users_at = [state.location_model.users_at(int(place), threshold) for place in places]
    per_place = np.array([len(users) for users, _ in users_at], dtype=np.int64)
    place_users = np.concatenate([users for users, _ in users_at] or [np.zeros(0, np.int64)])
    place_p = np.concatenate([p for _, p in users_at] or [np.zeros(0)])
    starts = np.cumsum(per_place) - per_place
    counts = per_place[which]
    rank = np.repeat(np.arange(len(tasks)), counts)
    first = np.cumsum(counts) - counts
    element = np.repeat(starts[which] - first, counts) + np.arange(len(rank))
    user = place_users[element].astype(np.int64)
    p = place_p[element].astype(np.float64)
    keep = state.capacity[user] > 0
    held = held_ranks(tasks, state, order)
    if held:
        taken = np.array(
            [u * len(tasks) + r for u, ranks in held.items() for r in ranks], dtype=np.int64
        )
        keep &= ~np.isin(user * len(tasks) + rank, taken)
    return Edges(rank[keep], user[keep], p[keep], order)


class _Qualified(AllocationPolicy):
    """A baseline that allocates over the qualified-edge graph with threshold ``p_threshold``.

    Args:
        p_threshold: P_thld in [0, 1]; a user qualifies when p(loc | u) > p_threshold.
    """

    def __init__(self, *, p_threshold: float = 0.5) -> None:
        self.p_threshold = check_unit_interval(self.name, "p_threshold", p_threshold)

    def _parameters(self) -> dict[str, object]:
        return {"p_threshold": self.p_threshold}


class IGA(_Qualified):
    """Incremental greedy assignment: each iteration fixes the single best valid pair.

    Best = highest p(loc | u); ties: earliest-published task (then lowest id), then lower user
    code. Iterations = pairs fixed = copies placed.
    """

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        edges = qualified_edges(tasks, state, self.p_threshold)
        # Python lists, not arrays: the pass below reads and writes one scalar at a time.
        remaining = tasks.copies[edges.order].tolist()
        capacity = state.capacity.tolist()
        best_first = np.lexsort((edges.user, edges.rank, -edges.p))
        users: list[int] = []
        ranks: list[int] = []
        coverage: list[float] = []
        for rank, user, p in zip(
            edges.rank[best_first].tolist(),
            edges.user[best_first].tolist(),
            edges.p[best_first].tolist(),
            strict=True,
        ):
            if remaining[rank] > 0 and capacity[user] > 0:
                remaining[rank] -= 1
                capacity[user] -= 1
                users.append(user)
                ranks.append(rank)
                coverage.append(p)
        return build_assignment(
            tasks, edges.order, users, ranks, coverage, np.asarray(remaining), len(users)
        )


class BGA(_Qualified):
    """Bipartite-graph assignment: the most-connected user first takes its edges.

    Each iteration takes the user with the highest current degree (edges to tasks still
    needing copies; ties: lower user code), gives it its edges up to its capacity (highest p
    first, then publish order), and removes it. Iterations = users taken.
    """

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        edges = qualified_edges(tasks, state, self.p_threshold)
        n_users = state.n_users
        remaining = tasks.copies[edges.order].astype(np.int64)
        capacity = state.capacity.astype(np.int64)
        # Edges grouped by user, each user's best first; and the users of each task.
        by_user = np.lexsort((edges.rank, -edges.p, edges.user))
        user_bounds = np.searchsorted(edges.user[by_user], np.arange(n_users + 1))
        by_task = np.argsort(edges.rank, kind="stable")
        task_bounds = np.searchsorted(edges.rank[by_task], np.arange(len(tasks) + 1))
        degree = np.bincount(edges.user, minlength=n_users).astype(np.int64)
        users: list[int] = []
        ranks: list[int] = []
        coverage: list[float] = []
        iterations = 0
        while len(degree) and degree.max() > 0:
            user = int(np.argmax(degree))  # first maximum: the lower user code wins ties
            iterations += 1
            degree[user] = -1  # taken: out of the graph
            mine = by_user[user_bounds[user] : user_bounds[user + 1]]
            mine = mine[remaining[edges.rank[mine]] > 0][: capacity[user]]
            for rank, p in zip(edges.rank[mine].tolist(), edges.p[mine].tolist(), strict=True):
                users.append(user)
                ranks.append(rank)
                coverage.append(p)
                remaining[rank] -= 1
                if remaining[rank] == 0:
                    others = edges.user[by_task[task_bounds[rank] : task_bounds[rank + 1]]]
                    others = others[degree[others] > 0]
                    degree[others] -= 1
        return build_assignment(tasks, edges.order, users, ranks, coverage, remaining, iterations)
