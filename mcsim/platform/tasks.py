"""Sensing tasks: what the platform publishes and the policies allocate.

A task t_i = (loc_i, time_i) needs c_i independent measurements (copies), each from a different
user. Tasks travel through the pipeline as a columnar :class:`TaskBatch` (numpy arrays), not
as lists of objects: policies at 10,000 tasks index arrays, and the simulator publishes
slices of one pool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Task:
    """One task, for readable construction in tests and examples."""

    id: int
    location: int  # location code
    publish_s: float  # [s] from the start of the simulated cycle
    copies: int  # c_i: independent measurements still needed
    deadline_s: float = float("inf")  # [s] from the start of the simulated cycle
    context: int = 0  # sensing context code (index into mcsim.platform.validation.CONTEXTS)


@dataclass(frozen=True, eq=False)
class TaskBatch:
    """A set of tasks as parallel arrays, ordered by publish time then id.

    Attributes:
        id: unique task ids (int64).
        location: location code of each task (int32).
        publish_s: publish time [s from cycle start] (float64).
        copies: measurements still needed, >= 1 (int32).
        deadline_s: time after which a reading no longer counts [s] (float64, may be inf).
        context: the sensing context each task needs (int8 code, an index into
            :data:`mcsim.platform.validation.CONTEXTS`; None: 0, ``any``, for every task).
    """

    id: np.ndarray
    location: np.ndarray
    publish_s: np.ndarray
    copies: np.ndarray
    deadline_s: np.ndarray
    context: np.ndarray = None  # type: ignore[assignment]  # None -> zeros in __post_init__

    def __post_init__(self) -> None:
        n = len(self.id)
        if self.context is None:
            object.__setattr__(self, "context", np.zeros(n, dtype=np.int8))
        for name in ("location", "publish_s", "copies", "deadline_s", "context"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"TaskBatch.{name} has {len(getattr(self, name))} rows, id {n}")
        if n and len(np.unique(self.id)) != n:
            raise ValueError("TaskBatch ids must be unique")
        if n and self.copies.min() < 1:
            raise ValueError("every task in a batch needs at least one copy")

    @classmethod
    def from_tasks(cls, tasks: Iterable[Task]) -> TaskBatch:
        tasks = sorted(tasks, key=lambda t: (t.publish_s, t.id))
        return cls(
            id=np.array([t.id for t in tasks], dtype=np.int64),
            location=np.array([t.location for t in tasks], dtype=np.int32),
            publish_s=np.array([t.publish_s for t in tasks], dtype=np.float64),
            copies=np.array([t.copies for t in tasks], dtype=np.int32),
            deadline_s=np.array([t.deadline_s for t in tasks], dtype=np.float64),
            context=np.array([t.context for t in tasks], dtype=np.int8),
        )

    @classmethod
    def _valid(cls, *columns: np.ndarray) -> TaskBatch:
        """A batch of columns known to be valid (a subset of a valid batch, a pool drawn
        valid), unchecked: the checks cost a third of an RL episode's set-up, where a pool is
        drawn and the world cuts its open tasks out of it at every decision."""
        batch = object.__new__(cls)
        for field, column in zip(_FIELDS, columns, strict=True):
            object.__setattr__(batch, field, column)
        return batch

    @classmethod
    def empty(cls) -> TaskBatch:
        return cls.from_tasks(())

    def __len__(self) -> int:
        return len(self.id)

    def __iter__(self) -> Iterator[Task]:
        for i in range(len(self)):
            yield Task(
                int(self.id[i]),
                int(self.location[i]),
                float(self.publish_s[i]),
                int(self.copies[i]),
                float(self.deadline_s[i]),
                int(self.context[i]),
            )

    @property
    def total_copies(self) -> int:
        return int(self.copies.sum())

    def select(self, mask: np.ndarray) -> TaskBatch:
        """The tasks where ``mask`` (bool or index array) selects."""
        columns = (self.id[mask], self.location[mask], self.publish_s[mask], self.copies[mask],
                   self.deadline_s[mask], self.context[mask])  # fmt: skip
        if np.asarray(mask).dtype == bool:  # a subset of a valid batch is valid
            return TaskBatch._valid(*columns)
        return TaskBatch(*columns)  # an index array may repeat a task

    def with_copies(self, copies: np.ndarray) -> TaskBatch:
        """The same tasks needing ``copies`` each; tasks left with 0 are dropped."""
        keep = np.asarray(copies) > 0
        return TaskBatch._valid(
            self.id[keep],
            self.location[keep],
            self.publish_s[keep],
            np.asarray(copies, dtype=np.int32)[keep],
            self.deadline_s[keep],
            self.context[keep],
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "task": self.id,
                "location": self.location,
                "publish_s": self.publish_s,
                "copies": self.copies,
                "deadline_s": self.deadline_s,
            }
        )


def split_copies(
    n_tasks: int, total_copies: int, max_copies: int, rng: np.random.Generator
) -> np.ndarray:
    """Random c_i >= 1, each <= ``max_copies``, summing to ``total_copies``.

    The paper's task pools are written "20-38": 20 tasks needing 38 measurements in all, at
    most 3 per task. Extra copies beyond one per task go to uniformly drawn tasks with room.
    """
    if n_tasks < 1:
        raise ValueError(f"need at least one task, got {n_tasks}")
    if not n_tasks <= total_copies <= n_tasks * max_copies:
        raise ValueError(
            f"{n_tasks} tasks with 1..{max_copies} copies each need between {n_tasks} and "
            f"{n_tasks * max_copies} measurements in all, got {total_copies}"
        )
    # Each task owns (max_copies - 1) optional slots; choosing extra slots without
    # replacement spreads the extras uniformly while respecting the cap.
    slots = np.repeat(np.arange(n_tasks), max_copies - 1)
    extra = rng.choice(len(slots), size=total_copies - n_tasks, replace=False)
    return (1 + np.bincount(slots[extra], minlength=n_tasks)).astype(np.int32)


def generate_task_pool(
    *,
    n_tasks: int,
    total_copies: int,
    max_copies: int,
    locations: np.ndarray,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
    publish_window_s: tuple[float, float] = (0.0, 0.0),
    n_batches: int = 1,
    deadline_s: float = float("inf"),
) -> TaskBatch:
    """Draw a task pool: locations, copies, publish batches and deadlines.

    Args:
        n_tasks: number of tasks m.
        total_copies: sum of c_i.
        max_copies: cap on any c_i.
        locations: candidate location codes (e.g. the locations seen in training).
        rng: the pool's own generator (derived from the scenario seed).
        weights: optional sampling weights over ``locations`` (e.g. popularity).
        publish_window_s: first and last batch publish time [s from cycle start].
        n_batches: batches spread evenly over the window; tasks are dealt to them at random.
        deadline_s: lifetime of a task after its publication [s].
    """
    locations = np.asarray(locations)
    if len(locations) == 0:
        raise ValueError("no candidate locations for tasks")
    if n_batches < 1:
        raise ValueError(f"n_batches must be >= 1, got {n_batches}")
    first, last = publish_window_s
    if last < first:
        raise ValueError(f"publish window ends before it starts: {publish_window_s}")
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    where = rng.choice(locations, size=n_tasks, replace=True, p=p).astype(np.int32)
    copies = split_copies(n_tasks, total_copies, max_copies, rng)
    batch_times = np.linspace(first, last, n_batches)
    publish = np.sort(batch_times[rng.integers(0, n_batches, size=n_tasks)])
    # Valid by construction (distinct ids, c_i >= 1): unchecked, as an RL reset draws one.
    return TaskBatch._valid(
        np.arange(n_tasks, dtype=np.int64),
        where,
        publish.astype(np.float64),
        copies,
        publish + deadline_s,
        np.zeros(n_tasks, dtype=np.int8),
    )


_FIELDS = tuple(f.name for f in dataclasses.fields(TaskBatch))
