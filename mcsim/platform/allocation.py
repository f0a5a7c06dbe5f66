"""What a policy sees and what it returns: the platform's knowledge and the ATU matrix.

:class:`PlatformState` is everything the platform may know when it allocates a batch (mined
training knowledge, last reported locations, current loads, what each user already holds),
and nothing it may not (no peeking at the test day). :class:`Assignment` is the paper's 0/1
ATU matrix in sparse form, plus the coverage degree the policy claims for each pair, the
iterations it took and the copies it could not place. :func:`check_assignment` is the one
constraint check that every policy's output goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mcsim.errors import ConstraintViolation
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.mining.windows import VisitWindows
from mcsim.platform.tasks import TaskBatch


@dataclass(frozen=True, eq=False)
class PlatformState:
    """The platform's knowledge at a decision point (read-only for policies).

    Attributes:
        patterns: mined repetitive patterns of the training cycles.
        location_model: p(loc | u) of the training cycles.
        locations: coordinates of location codes (NaN where unknown).
        g: the workload cap: at most g tasks per user in total.
        load: tasks each user already holds (int32, per user code).
        last_location: each user's last reported location code, -1 if none (int32).
        held: (user, task id) pairs already assigned; a user never gets a task twice.
        now_s: the decision time [s from cycle start].
        windows: when each user was at each place in the training cycles (time-of-day
            visit statistics); None where the knowledge has none (states built by hand,
            plug-ins that predate it): policies that need it must say so.
    """

    patterns: PatternBase
    location_model: LocationModel
    locations: Locations
    g: int
    load: np.ndarray
    last_location: np.ndarray
    held: frozenset[tuple[int, int]] = frozenset()
    now_s: float = 0.0
    windows: VisitWindows | None = None

    def __post_init__(self) -> None:
        if self.g < 1:
            raise ValueError(f"g (tasks per user) must be >= 1, got {self.g}")
        n = self.n_users
        for name in ("load", "last_location"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"PlatformState.{name} has {len(getattr(self, name))} entries for {n} users"
                )
        if self.windows is not None and self.windows.n_users != n:
            raise ValueError(f"PlatformState.windows covers {self.windows.n_users} users, not {n}")

    @property
    def n_users(self) -> int:
        return len(self.patterns.users)

    @property
    def capacity(self) -> np.ndarray:
        """Tasks each user may still take (g minus load, never negative)."""
        return np.maximum(self.g - self.load, 0)


@dataclass(frozen=True, eq=False)
class Assignment:
    """A policy's answer for one batch: the sparse ATU matrix and how it got there.

    Attributes:
        user: user code of each assigned (user, task) pair.
        task: task id of each pair.
        coverage: the coverage degree the policy claims for the pair (e.g. the matched
            pattern's support, or p(loc | u)): a probability in [0, 1], never NaN (0 when
            the policy makes no claim).
        iterations: allocation iterations the policy ran (the paper's Fig. 8 measure).
        unassigned: task id -> copies the policy could not place.
        seconds: wall time of the allocation, filled in by the policy framework.
    """

    user: np.ndarray
    task: np.ndarray
    coverage: np.ndarray
    iterations: int
    unassigned: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def empty(cls, iterations: int = 0, unassigned: dict[int, int] | None = None) -> Assignment:
        return cls(
            np.zeros(0, np.int32),
            np.zeros(0, np.int64),
            np.zeros(0),
            iterations,
            dict(unassigned or {}),
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"user": self.user, "task": self.task, "coverage": self.coverage})

    def tasks_per_user(self) -> np.ndarray:
        """Number of tasks of each recruited user (users with none are left out)."""
        return np.unique(self.user, return_counts=True)[1]


def _check_types(a: Assignment) -> None:
    """The assignment's fields have the documented types (a plug-in may return anything)."""
    for name, kinds in (("user", "iu"), ("task", "iu"), ("coverage", "fiu")):
        value = getattr(a, name)
        if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in kinds:
            kind = "integer" if kinds == "iu" else "float"
            got = (
                f"a {value.ndim}-d {value.dtype} array"
                if isinstance(value, np.ndarray)
                else type(value).__name__
            )
            raise ConstraintViolation(f"assignment.{name} must be a 1-d {kind} array, got {got}")
    coverage = a.coverage.astype(np.float64)
    bad = np.isnan(coverage) | (coverage < 0) | (coverage > 1)
    if bad.any():
        raise ConstraintViolation(
            f"claimed coverage {float(coverage[np.argmax(bad)])} is not a probability in [0, 1]"
        )
    if isinstance(a.iterations, bool) or not isinstance(a.iterations, int | np.integer):
        raise ConstraintViolation(f"iterations must be an integer, got {a.iterations!r}")
    if a.iterations < 0:
        raise ConstraintViolation(f"iterations must be >= 0, got {a.iterations}")
    if not isinstance(a.unassigned, dict):
        raise ConstraintViolation(f"unassigned must be a dict, got {type(a.unassigned).__name__}")


def check_assignment(assignment: Assignment, tasks: TaskBatch, state: PlatformState) -> None:
    """Check an assignment against the paper's constraints; raise on the first violation.

    Rules: numpy arrays of the documented kinds (integer users and tasks, claimed coverage a
    probability in [0, 1], never NaN), a whole number of iterations >= 0; users and tasks
    exist; no (user, task) pair twice, nor one the user already held; at most ``c_i`` copies
    of each task; at most ``g`` tasks per user counting earlier load; unassigned copies
    reported exactly (``c_i`` - placed, for every task short of copies).
    """
    a = assignment
    _check_types(a)
    if not (len(a.user) == len(a.task) == len(a.coverage)):
        raise ConstraintViolation("assignment arrays differ in length")
    if len(a) and (a.user.min() < 0 or a.user.max() >= state.n_users):
        raise ConstraintViolation("assignment names a user code outside the population")
    position = {int(t): i for i, t in enumerate(tasks.id)}
    unknown = [int(t) for t in a.task if int(t) not in position]
    if unknown:
        raise ConstraintViolation(f"assignment names task {unknown[0]} not in the batch")
    pairs = set(zip(a.user.tolist(), a.task.tolist(), strict=True))
    if len(pairs) != len(a):
        raise ConstraintViolation("the same task is assigned twice to one user")
    again = pairs & state.held
    if again:
        user, task = min(again)
        raise ConstraintViolation(f"user {user} already holds task {task}")
    placed = np.zeros(len(tasks), dtype=np.int64)
    np.add.at(placed, [position[int(t)] for t in a.task], 1)
    over = np.flatnonzero(placed > tasks.copies)
    if len(over):
        i = over[0]
        raise ConstraintViolation(
            f"task {int(tasks.id[i])} got {placed[i]} copies but needs {int(tasks.copies[i])}"
        )
    load = state.load + np.bincount(a.user, minlength=state.n_users)
    if (load > state.g).any():
        user = int(np.argmax(load > state.g))
        raise ConstraintViolation(f"user {user} would hold {int(load[user])} tasks, g = {state.g}")
    expected = {
        int(tasks.id[i]): int(tasks.copies[i] - placed[i])
        for i in np.flatnonzero(placed < tasks.copies)
    }
    if a.unassigned != expected:
        raise ConstraintViolation(
            f"unassigned copies reported as {a.unassigned}, but the assignment leaves {expected}"
        )
