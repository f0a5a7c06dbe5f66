"""A job: one (variant, repetition) of a scenario, every policy on the same day, tasks, phones.

A job is the runner's unit of work. Its policies all see the same inputs, so their rows can be
compared pairwise. In ``mode: simulate`` each policy runs its own, otherwise identical SimPy
world (:class:`~mcsim.sim.World`) through the day; in ``mode: allocate`` (the paper's
Figs. 5-8) each policy allocates the whole task pool once, at the start of the day, and the
allocation is scored on every held-out day (:func:`~mcsim.platform.metrics.allocation_metrics`).

A simulated job also returns the readings its platforms received (the windows and their index,
:mod:`mcsim.app.readings`) unless the scenario turns ``save_readings`` off; they travel with
its rows through the job store, so a resumed run writes the same sensed dataset.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mcsim.app.pipeline import Pipeline, PreparedCache
from mcsim.app.readings import no_windows, reading_table
from mcsim.app.scenario import Variant
from mcsim.errors import ReproducibilityWarning
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.metrics import allocation_metrics, day_metrics
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import run_day
from policies import BUILTIN_POLICIES, AllocationPolicy, make_policy
from policies.checker import same_answer


@dataclass(frozen=True)
class Job:
    """One (variant, repetition)."""

    variant: int
    repetition: int


@dataclass(frozen=True, eq=False)
class JobResult:
    """A job's rows of metrics.csv, assignments.parquet and events.parquet, in policy order,
    and its sensed data: ``readings`` (float32 (n, steps, 3) windows [g]) with one row of
    ``reading_index`` each (:func:`~mcsim.app.readings.reading_table`, plus variant,
    repetition and policy); both empty in ``mode: allocate`` or without ``save_readings``."""

    job: Job
    metrics: list[dict[str, Any]]
    assignments: pd.DataFrame
    events: pd.DataFrame
    seconds: float
    readings: np.ndarray = field(default_factory=no_windows)
    reading_index: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_job(
    variant: Variant, repetition: int, cache: PreparedCache, cache_dir: Path | None
) -> JobResult:
    """Run every policy of ``variant`` on its ``repetition``'s day, tasks and phones."""
    started = time.perf_counter()
    pipeline = Pipeline(variant.scenario, variant.index, cache=cache, cache_dir=cache_dir)
    run = _allocate if variant.scenario.mode == "allocate" else _simulate
    parts = run(pipeline, variant, repetition)
    return JobResult(
        Job(variant.index, repetition),
        parts.rows,
        pd.concat(parts.assignments, ignore_index=True),
        pd.concat(parts.events, ignore_index=True) if parts.events else pd.DataFrame(),
        time.perf_counter() - started,
        np.concatenate(parts.readings) if parts.readings else no_windows(),
        pd.concat(parts.index, ignore_index=True) if parts.index else pd.DataFrame(),
    )


def job_settings(pipeline: Pipeline, variant: Variant, day: str) -> dict[str, Any]:
    """The columns that describe the job: swept values, population, pool, g, source, day."""
    s, train = pipeline.scenario, pipeline.prepared.train
    return {
        **variant.settings,
        "users": len(train.users),
        "locations": len(train.locations),
        "tasks": s.tasks.count,
        "copies": s.tasks.copies,
        "g": s.g,
        "mobility": s.mobility.source,
        "day": day,
    }


class _FirstAnswerChecked:
    """A plug-in policy whose first answer is asked twice: if the two differ, the policy is
    not deterministic (unseeded randomness, hidden state) and the run cannot be reproduced,
    which is said once, as a warning naming the policy."""

    def __init__(self, policy: AllocationPolicy) -> None:
        self.policy = policy
        self._checked = False

    def allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        answer = self.policy.allocate(tasks, state)
        if not self._checked:
            self._checked = True
            again = self.policy.allocate(tasks, state)
            if not same_answer(answer, again):
                warnings.warn(
                    f"policy {self.policy.name} answered the same decision twice differently; "
                    "its results are not reproducible (seed its randomness; "
                    "policies.check_policy finds such problems)",
                    ReproducibilityWarning,
                    stacklevel=2,
                )
        return answer


def _checked(policy: AllocationPolicy, name: str) -> AllocationPolicy | _FirstAnswerChecked:
    """Built-in policies are known to be deterministic; plug-ins are checked once."""
    return policy if name.upper() in BUILTIN_POLICIES else _FirstAnswerChecked(policy)


@dataclass
class _Parts:
    """What a job's policies produced, one entry per policy (events: two for the first)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[pd.DataFrame] = field(default_factory=list)
    events: list[pd.DataFrame] = field(default_factory=list)
    readings: list[np.ndarray] = field(default_factory=list)
    index: list[pd.DataFrame] = field(default_factory=list)


def _simulate(pipeline: Pipeline, variant: Variant, repetition: int) -> _Parts:
    """Each policy through its own SimPy world of the job's day."""
    scenario, prepared = pipeline.scenario, pipeline.prepared
    day = pipeline.day(repetition)
    tasks = pipeline.tasks(repetition)
    job: dict[str, Any] = {"variant": variant.index, "repetition": repetition}
    settings = job_settings(pipeline, variant, day.label)
    parts = _Parts()
    patterns = prepared.knowledge.patterns
    # Every policy's day first, then the results: the first result generates the readings of
    # all of them in one batch (each window is the same as it would be alone).
    readings = pipeline.readings(repetition)
    worlds = []
    for spec in scenario.policies:
        policy = _checked(make_policy(spec.name, **spec.params), spec.name)
        world = pipeline.world(repetition, day=day, tasks=tasks, readings=readings)
        run_day(world, policy)
        worlds.append(world)
    for spec, world in zip(scenario.policies, worlds, strict=True):
        result = world.result()
        mine: dict[str, Any] = {**job, "policy": spec.display}
        metrics = day_metrics(result, prepared.test_model, patterns=patterns)
        parts.rows.append({**mine, **settings, **metrics})
        parts.assignments.append(result.pairs.assign(**mine))
        log = result.events
        is_visit = (log["kind"] == "visit").to_numpy()
        # Visits are the same for every policy (one day): keep them once, under policy "*".
        if spec is scenario.policies[0] and scenario.log_visits:
            parts.events.append(log[is_visit].assign(**job, policy="*"))
        parts.events.append(log[~is_visit].assign(**mine))
        if scenario.save_readings:
            index = reading_table(result)
            parts.readings.append(result.readings[index.pop("window").to_numpy()])
            parts.index.append(index.assign(**mine))
    return parts


def _allocate(pipeline: Pipeline, variant: Variant, repetition: int) -> _Parts:
    """Each policy allocates the whole pool once; scored on every held-out day."""
    scenario, prepared = pipeline.scenario, pipeline.prepared
    tasks = pipeline.tasks(repetition)
    state = prepared.knowledge.initial_state(scenario.g)
    held_out = prepared.held_out()
    days = prepared.test_days
    label = f"held-out days {days.min()}-{days.max()}" if len(days) else "no held-out day"
    job: dict[str, Any] = {"variant": variant.index, "repetition": repetition}
    settings = job_settings(pipeline, variant, label)
    parts = _Parts()
    location_of = pd.Series(tasks.location, index=tasks.id)
    patterns = prepared.knowledge.patterns
    for spec in scenario.policies:
        result = _checked(make_policy(spec.name, **spec.params), spec.name).allocate(tasks, state)
        mine: dict[str, Any] = {**job, "policy": spec.display}
        metrics = allocation_metrics(result, tasks, held_out, patterns=patterns)
        parts.rows.append({**mine, **settings, **metrics})
        pairs = pd.DataFrame(
            {
                "user": result.user,
                "task": result.task,
                "location": location_of.loc[result.task].to_numpy(),
                "coverage": result.coverage,
            }
        )
        parts.assignments.append(pairs.assign(**mine))
    return parts
