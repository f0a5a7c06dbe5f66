"""The allocation-policy contract: one base class and the helpers every policy shares.

A policy has one job: given a batch of tasks and the platform's knowledge
(:class:`~mcsim.platform.allocation.PlatformState`), return an :class:`~mcsim.platform.allocation.Assignment`.
:class:`AllocationPolicy` follows the template-method shape of Stable-Baselines3's
``predict``/``_predict``: the public :meth:`AllocationPolicy.allocate` validates the input, hands
the hook read-only views of the batch and of the state's per-user arrays (load, last location),
times the hook and runs the one constraint check (:func:`~mcsim.platform.allocation.check_assignment`)
on what it returns, so a subclass writes only :meth:`AllocationPolicy._allocate` and cannot
forget the checks. The pattern base and location model are shared, not copied; ``check_policy``
verifies that a policy leaves them unchanged.

The small helpers below (publish order, held pairs, building the answer) exist because every
built-in policy needs exactly them; keeping one copy keeps the policies' conventions equal
(e.g. "earliest published, then lowest id" means the same thing everywhere).
"""

from __future__ import annotations

import abc
import dataclasses
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from mcsim.errors import ConstraintViolation, MCSimError, PolicyError
from mcsim.platform.allocation import (
    Assignment,
    PlatformState,
    check_assignment,
)
from mcsim.platform.tasks import TaskBatch


class AllocationPolicy(abc.ABC):
    """Base class of every allocation policy (built-in or plug-in).

    Subclasses implement :meth:`_allocate` only. They must not mutate their inputs (batch,
    load and last-location arrays arrive read-only), must be deterministic (take a ``seed`` constructor keyword and
    build their own ``numpy.random.Generator`` from it if they need randomness) and should
    document how they break ties. Constructor parameters are keyword-only so that
    :func:`policies.make_policy` can pass them by name and reject unknown ones.

    Example:
        >>> from policies import make_policy
        >>> make_policy("iu1", delta=0.8)
        IU1(delta=0.8)
    """

    #: Display name used in error messages, tables and plots (defaults to the class name).
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        """Allocate one batch and return the checked assignment.

        Args:
            tasks: the batch; every task needs at least one copy.
            state: what the platform knows now (patterns, p(loc | u), loads, held pairs).

        Returns:
            The assignment, with ``seconds`` set to the wall time of the policy's own work
            (input validation and the constraint check are not counted).

        Raises:
            PolicyError: the input does not fit the state (e.g. a task location unknown to it),
                or the policy failed (raised, exited, recursed without end, wrote into its
                read-only input): named, with the original error chained.
            ConstraintViolation: the policy broke a constraint (a bug in the policy).
        """
        self._validate(tasks, state)
        tasks_ro, state_ro = _read_only(tasks), _read_only_state(state)
        start = time.perf_counter()
        try:
            result = self._allocate(tasks_ro, state_ro)
        except MCSimError:
            raise
        except (Exception, SystemExit) as exc:  # a plug-in's bug, not the platform's
            raise PolicyError(f"policy {self.name} failed: {describe(exc)}") from exc
        seconds = time.perf_counter() - start
        if not isinstance(result, Assignment):
            raise PolicyError(
                f"policy {self.name}: _allocate returned "
                f"{type(result).__name__}, expected an Assignment"
            )
        try:
            check_assignment(result, tasks, state)
        except ConstraintViolation as exc:
            raise ConstraintViolation(f"policy {self.name}: {exc}") from exc
        return dataclasses.replace(result, seconds=seconds)

    @abc.abstractmethod
    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        """The policy itself: arrays of ``tasks`` and ``state`` are read-only here."""

    def _validate(self, tasks: TaskBatch, state: PlatformState) -> None:
        if not isinstance(tasks, TaskBatch):
            raise PolicyError(
                f"policy {self.name}: tasks must be a TaskBatch, got {type(tasks).__name__}"
            )
        if not isinstance(state, PlatformState):
            raise PolicyError(
                f"policy {self.name}: state must be a PlatformState, got {type(state).__name__}"
            )
        n_locations = len(state.patterns.locations)
        if len(tasks) and (tasks.location.min() < 0 or tasks.location.max() >= n_locations):
            raise PolicyError(
                f"policy {self.name}: a task location code lies outside the "
                f"state's {n_locations} locations"
            )
        if len(state.locations) != n_locations:
            raise PolicyError(
                f"policy {self.name}: the state has coordinates for "
                f"{len(state.locations)} locations, its patterns {n_locations}"
            )
        if state.location_model.shape != (state.n_users, n_locations):
            raise PolicyError(
                f"policy {self.name}: the location model is "
                f"{state.location_model.shape}, the state has "
                f"{state.n_users} users x {n_locations} locations"
            )

    def _parameters(self) -> dict[str, object]:
        """The constructor parameters, for ``repr``; policies with parameters override it."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self._parameters().items())
        return f"{self.name}({args})"


def describe(exc: BaseException) -> str:
    """An exception in one line: its type and message (``SystemExit``: "called exit(...)")."""
    if isinstance(exc, SystemExit):
        return f"called exit({exc.code!r})"
    if isinstance(exc, RecursionError):
        return "RecursionError: maximum recursion depth exceeded"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _read_only(tasks: TaskBatch) -> TaskBatch:
    return TaskBatch(*(_frozen(getattr(tasks, f.name)) for f in dataclasses.fields(tasks)))


def _read_only_state(state: PlatformState) -> PlatformState:
    return dataclasses.replace(
        state, load=_frozen(state.load), last_location=_frozen(state.last_location)
    )


def check_unit_interval(policy: str, parameter: str, value: float) -> float:
    """``value`` as a float in [0, 1], or a :class:`PolicyError` naming policy and parameter."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PolicyError(
            f"policy {policy}: parameter {parameter} must be a number in [0, 1], got {value!r}"
        ) from None
    if not 0.0 <= number <= 1.0:
        raise PolicyError(
            f"policy {policy}: parameter {parameter} must be in [0, 1], got {value!r}"
        )
    return number


def publish_order(tasks: TaskBatch) -> np.ndarray:
    """Task positions ordered by publish time, then lowest id: every policy's task order."""
    return np.lexsort((tasks.id, tasks.publish_s))


def held_ranks(tasks: TaskBatch, state: PlatformState, order: np.ndarray) -> dict[int, set[int]]:
    """user code -> publish ranks of the batch tasks that user already holds."""
    if not state.held:
        return {}
    rank_of = {int(t): r for r, t in enumerate(tasks.id[order].tolist())}
    held: defaultdict[int, set[int]] = defaultdict(set)
    for user, task in state.held:
        rank = rank_of.get(task)
        if rank is not None:
            held[user].add(rank)
    return dict(held)


def build_assignment(
    tasks: TaskBatch,
    order: np.ndarray,
    user: Sequence[int] | np.ndarray,
    rank: Sequence[int] | np.ndarray,
    coverage: Sequence[float] | np.ndarray,
    remaining: np.ndarray,
    iterations: int,
) -> Assignment:
    """The :class:`Assignment` of (user, task rank) pairs, with the copies left unplaced.

    Policies work on tasks by publish rank (see :func:`publish_order`); this maps back.

    Args:
        tasks: the batch.
        order: rank -> task position, as returned by :func:`publish_order`.
        user, rank, coverage: one entry per assigned pair, in assignment order.
        remaining: copies still needed per task rank after the allocation.
        iterations: the policy's iteration count.
    """
    position = order[np.asarray(rank, dtype=np.int64)]
    short = np.flatnonzero(remaining > 0)
    return Assignment(
        user=np.asarray(user, dtype=np.int32),
        task=tasks.id[position].astype(np.int64),
        coverage=np.asarray(coverage, dtype=np.float64),
        iterations=int(iterations),
        unassigned={int(tasks.id[order[i]]): int(remaining[i]) for i in short},
    )
