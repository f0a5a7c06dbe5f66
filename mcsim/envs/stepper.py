"""One decision answered one task copy at a time: the env's step logic, shared with agents run
as policies.

At a decision the platform must answer a batch of tasks with an assignment. :class:`DecisionSteps`
factors it into small choices: the decision's (task, copy) items are queued in publish order
(then task id; all copies of a task in a row), and for the current item one of K candidate
users is picked or the copy is left unassigned. The Gym env drives it with the agent's actions;
:class:`~mcsim.envs.agent_policy.AgentPolicy` drives it with a trained model inside
``mcsim run``. Both therefore see the same candidates and observations for the same decision.

**Candidates.** Users with capacity left (load, counting this decision's picks, below g) who
do not hold the task, ranked by ``p_window`` (the share of training days on which the user was
at the task's place inside its sensing window; highest first), then p(loc | u), then
``bundle``, then distance from the last reported location (nearest first; unknown last), then
user code. The first K are
offered; with fewer, the rest are padded and masked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mcsim.envs.features import CANDIDATE_FEATURES, TASK_FEATURES, CandidateFeatures, LocationView
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch


@dataclass(frozen=True)
class ObservationLayout:
    """What fixes an observation's size and scaling; saved beside a trained agent so that it is
    run on observations like those it learned from.

    Attributes:
        n_candidates: K, candidate users offered per copy.
        max_distance_km: D, where ``distance_km`` is clipped [km].
        max_copies: the scenario's ``tasks.max_copies`` (``copies_left`` is a share of it).
        day_length_s: the cycle length [s] (times are shares of it).
        task_features, candidate_features: the feature names, in order.
    """

    n_candidates: int
    max_distance_km: float
    max_copies: int
    day_length_s: float
    task_features: tuple[str, ...] = TASK_FEATURES
    candidate_features: tuple[str, ...] = CANDIDATE_FEATURES

    @property
    def size(self) -> int:
        """Length of an observation vector."""
        return len(self.task_features) + self.n_candidates * len(self.candidate_features)

    def high(self) -> np.ndarray:
        """Upper bounds of the observation (lower bounds are 0)."""
        per_candidate = [self.max_distance_km if f == "distance_km" else 1.0
                         for f in self.candidate_features]  # fmt: skip
        return np.concatenate(
            [np.ones(len(self.task_features)), np.tile(per_candidate, self.n_candidates)]
        ).astype(np.float32)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> ObservationLayout:
        """The layout :meth:`to_dict` wrote.

        Raises:
            KeyError, TypeError, ValueError: a missing or malformed field.
        """
        return cls(
            n_candidates=int(fields["n_candidates"]),
            max_distance_km=float(fields["max_distance_km"]),
            max_copies=int(fields["max_copies"]),
            day_length_s=float(fields["day_length_s"]),
            task_features=tuple(fields["task_features"]),
            candidate_features=tuple(fields["candidate_features"]),
        )


#: Populations up to this size rank every user at once (:class:`_TaskPlan`).
EAGER_RANKING = 256


@dataclass(eq=False)
class _TaskPlan:
    """A task's fixed facts during one decision (see :meth:`DecisionSteps._plan_of`).

    In a large population the ranking comes in two parts: the users ever at the place inside
    the window (``p_window > 0``), who rank first, sorted at once; the others sorted only when
    the first part runs out of eligible users (with 1,000 users it rarely does). In a small one
    (at most :data:`EAGER_RANKING` users) everyone is sorted at once, which is cheaper than
    walking two parts at every step.
    """

    location: int
    position: int
    window: tuple[float, float]  # [s] sensing window (max(publish, now), deadline)
    p: np.ndarray  # p(loc | u) per user
    static: np.ndarray  # float32 (n_users, 8): the candidate features, load column 0
    head: np.ndarray  # users with p_window > 0, best candidate first
    keys: tuple[np.ndarray, ...]  # the sort keys of the others (lexsort order)
    tail: np.ndarray | None = None  # the others, best first, once needed

    def rest(self) -> np.ndarray:
        """The users after :attr:`head`, best first (sorted on first use)."""
        if self.tail is None:
            others = np.flatnonzero(self.keys[-1] >= 0)  # -p_window: p_window == 0
            self.tail = others[np.lexsort(tuple(k[others] for k in self.keys))]
        return self.tail


class DecisionSteps:
    """The items of one decision, answered one copy at a time.

    Args:
        tasks: the decision's open tasks.
        state: the platform's state at the decision.
        now_s: the decision time [s from cycle start].
        features: per-user features of task locations (cached per location across decisions).
        layout: K and the observation's scaling.
    """

    def __init__(
        self,
        tasks: TaskBatch,
        state: PlatformState,
        now_s: float,
        features: CandidateFeatures,
        layout: ObservationLayout,
    ) -> None:
        self.tasks = tasks
        self.state = state
        self.now_s = now_s
        self.features = features
        self.layout = layout
        order = np.lexsort((tasks.id, tasks.publish_s))
        ids: list[int] = tasks.id.tolist()
        self._position = dict(zip(ids, range(len(ids)), strict=True))
        copies = tasks.copies[order]
        self.queue = np.repeat(tasks.id[order], copies)
        # Read at every step, so kept as lists: each item's task, and the copies of that task
        # still to answer from it on (its own included: copies of a task come in a row).
        self._queue: list[int] = self.queue.tolist()
        self._copies_left: list[int] = []
        for c in copies.tolist():
            self._copies_left += range(c, 0, -1)
        self.item = 0
        self.steps = 0
        self.load = state.load.astype(np.int64)
        # Per task, who may take a copy now, as a mask over users: capacity left (load below
        # g) and not holding it (a user never gets a task twice). Kept up to date by answer(),
        # so that a step filters a ranking with one look-up.
        room = self.load < state.g
        self._takers = {t: room.copy() for t in ids}
        for user, task in state.held:
            if task in self._takers:
                self._takers[task][user] = False
        self._picks: list[tuple[int, int, float]] = []
        self._views: dict[int, LocationView] = {}
        self._tasks_at = np.bincount(tasks.location, minlength=features.n_locations)
        self.candidates = np.full(layout.n_candidates, -1, dtype=np.int64)
        self.mask = np.zeros(layout.n_candidates + 1, dtype=bool)
        self.mask[-1] = True
        self._size, self._n_task = layout.size, len(layout.task_features)
        self._slots_shape = (layout.n_candidates, len(layout.candidate_features))
        self._chosen = np.zeros(0, dtype=np.int64)
        self._plans: dict[int, _TaskPlan] = {}
        self._plan: _TaskPlan | None = None

    def _plan_of(self, task: int) -> _TaskPlan:
        """What stays fixed for a task during the decision: its place and window, every
        user's static features and the users' ranking (computed once per task)."""
        plan = self._plans.get(task)
        return self._new_plan(task) if plan is None else plan

    def _new_plan(self, task: int) -> _TaskPlan:
        position = self._position[task]
        loc = int(self.tasks.location[position])
        start = max(float(self.tasks.publish_s[position]), self.now_s)
        window = (start, float(self.tasks.deadline_s[position]))
        if loc not in self._views:
            self._views[loc] = self.features.view(loc, self._tasks_at, self.state.last_location)
        view = self._views[loc]
        window_p, eta = self.features.window(
            self.state.windows, loc, window, self.now_s, self.layout.day_length_s
        )
        n = len(view.p)
        # Filled feature by feature (rows of the transpose are contiguous: 2x faster).
        static_t = np.empty((len(self.layout.candidate_features), n), dtype=np.float32)
        static_t[0], static_t[1], static_t[2], static_t[3] = view.p, view.bundle, view.support, 0.0
        np.minimum(view.distance, self.layout.max_distance_km, out=static_t[4])
        static_t[5], static_t[6], static_t[7] = window_p, eta, 1.0
        static = static_t.T
        # Best first: p_window, then p(loc | u), then bundle (descending), distance, user code.
        keys = (np.arange(n), view.distance, -view.bundle, -view.p, -window_p)
        if n <= EAGER_RANKING:
            head = np.lexsort(keys)
        else:
            seen = np.flatnonzero(window_p > 0)
            head = seen[np.lexsort(tuple(k[seen] for k in keys))]
        plan = _TaskPlan(loc, position, window, view.p, static, head, keys)
        if n <= EAGER_RANKING:
            plan.tail = head[:0]  # everyone is in the head
        self._plans[task] = plan
        return plan

    # ------------------------------------------------------------------ the current item

    @property
    def task(self) -> int:
        """Id of the task whose copy is being answered."""
        return self._queue[self.item]

    @property
    def position(self) -> int:
        """Row of the current task in :attr:`tasks`."""
        return self._plan_of(self.task).position

    @property
    def location(self) -> int:
        """Location code of the current task."""
        return self._plan_of(self.task).location

    def window(self) -> tuple[float, float]:
        """The current copy's sensing window [s]: (max(publish, now), deadline)."""
        return self._plan_of(self.task).window

    def next_offer(self) -> bool:
        """Move to the first item from the current one that has an eligible user and offer its
        candidates; False when the decision's queue is done."""
        while self.item < len(self.queue):
            if self._offer():
                return True
            self.item += 1
        return False

    def _offer(self) -> bool:
        task = self.task
        plan = self._plan_of(task)
        k = self.layout.n_candidates
        chosen = self._eligible(plan.head, task)[:k]
        if len(chosen) < k and len(plan.head) < len(plan.p):
            chosen = np.concatenate([chosen, self._eligible(plan.rest(), task)[: k - len(chosen)]])
        n = len(chosen)
        if n == 0:
            return False
        self.candidates[:] = -1
        self.candidates[:n] = chosen
        self.mask[:] = False
        self.mask[:n] = True
        self.mask[-1] = True
        self._plan = plan
        self._chosen = chosen
        return True

    def _eligible(self, ranked: np.ndarray, task: int) -> np.ndarray:
        """The users of ``ranked`` (in order) with capacity left who do not hold ``task``."""
        return ranked[self._takers[task][ranked]]

    def observation(self) -> np.ndarray:
        """The current item's observation (:class:`ObservationLayout`; padded slots are 0)."""
        layout = self.layout
        obs = np.zeros(self._size, dtype=np.float32)  # a new array: a step never changes it
        plan, chosen = self._plan, self._chosen
        assert plan is not None
        now, length, item, items = self.now_s, layout.day_length_s, self.item, len(self._queue)
        obs[0] = min(now / length, 1.0)
        obs[1] = min(self._copies_left[item] / layout.max_copies, 1.0)
        obs[2] = min(max((plan.window[1] - now) / length, 0.0), 1.0)
        obs[3] = (items - item) / items
        slots = obs[self._n_task :].reshape(self._slots_shape)
        n = len(chosen)
        slots[:n] = plan.static[chosen]
        slots[:n, 3] = self.load[chosen] / self.state.g
        return obs

    # ------------------------------------------------------------------ answers

    def valid(self, k: int) -> bool:
        """Whether slot ``k`` (K: skip) is a valid answer now."""
        return bool(self.mask[k])

    def answer(self, k: int) -> tuple[int, float]:
        """Pick candidate ``k``, or skip the copy when ``k`` is K or masked; returns the user
        picked (-1 for a skip) and its p(loc | u)."""
        user, p = -1, 0.0
        if k < self.layout.n_candidates and self.mask[k]:
            assert self._plan is not None
            user = int(self.candidates[k])
            p = float(self._plan.p[user])
            task = self.task
            self._picks.append((user, task, p))
            self._takers[task][user] = False
            self.load[user] += 1
            if self.load[user] >= self.state.g:  # full: no task of the decision may take it
                for takers in self._takers.values():
                    takers[user] = False
        self.steps += 1
        self.item += 1
        return user, p

    def assignment(self) -> Assignment:
        """The decision's picks as an :class:`Assignment` (``iterations``: copies answered;
        ``coverage``: p(loc | u) of each pick; exact unassigned copies)."""
        tasks = self.tasks
        placed = np.zeros(len(tasks), dtype=np.int64)
        for _, task, _ in self._picks:
            placed[self._position[task]] += 1
        short = tasks.copies - placed
        return Assignment(
            user=np.array([u for u, _, _ in self._picks], dtype=np.int32),
            task=np.array([t for _, t, _ in self._picks], dtype=np.int64),
            coverage=np.array([c for _, _, c in self._picks], dtype=np.float64),
            iterations=self.steps,
            unassigned={int(tasks.id[i]): int(short[i]) for i in np.flatnonzero(short > 0)},
        )
