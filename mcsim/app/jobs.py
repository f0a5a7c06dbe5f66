"""A job: one (variant, repetition) of a scenario, every policy on the same day, tasks, phones.

A job is the runner's unit of work. Its policies all see the same inputs, so their rows can be
compared pairwise. In ``mode: simulate`` each policy runs its own, otherwise identical SimPy
world (:class:`~mcsim.sim.World`) through the day; in ``mode: allocate`` (the paper's
Figs. 5-8) each policy allocates the whole task pool once, at the start of the day, and the
allocation is scored on every held-out day (:func:`~mcsim.platform.metrics.allocation_metrics`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mcsim.app.pipeline import Pipeline, PreparedCache
from mcsim.app.scenario import Variant
from mcsim.errors import ReproducibilityWarning
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.metrics import allocation_metrics, day_metrics
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import simulate
from policies import BUILTIN_POLICIES, AllocationPolicy, make_policy
from policies.checker import same_answer


@dataclass(frozen=True)
class Job:
    """One (variant, repetition)."""

    variant: int
    repetition: int


@dataclass(frozen=True, eq=False)
class JobResult:
    """A job's rows of metrics.csv, assignments.parquet and events.parquet, in policy order."""

    job: Job
    metrics: list[dict[str, Any]]
    assignments: pd.DataFrame
    events: pd.DataFrame
    seconds: float


def run_job(
    variant: Variant, repetition: int, cache: PreparedCache, cache_dir: Path | None
) -> JobResult:
    """Run every policy of ``variant`` on its ``repetition``'s day, tasks and phones."""
    started = time.perf_counter()
    pipeline = Pipeline(variant.scenario, variant.index, cache=cache, cache_dir=cache_dir)
    run = _allocate if variant.scenario.mode == "allocate" else _simulate
    rows, assignments, events = run(pipeline, variant, repetition)
    return JobResult(
        Job(variant.index, repetition),
        rows,
        pd.concat(assignments, ignore_index=True),
        pd.concat(events, ignore_index=True) if events else pd.DataFrame(),
        time.perf_counter() - started,
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


Rows = tuple[list[dict[str, Any]], list[pd.DataFrame], list[pd.DataFrame]]


def _simulate(pipeline: Pipeline, variant: Variant, repetition: int) -> Rows:
    """Each policy through its own SimPy world of the job's day."""
    scenario, prepared = pipeline.scenario, pipeline.prepared
    day = pipeline.day(repetition)
    tasks = pipeline.tasks(repetition)
    job: dict[str, Any] = {"variant": variant.index, "repetition": repetition}
    settings = job_settings(pipeline, variant, day.label)
    rows, assignments, events = [], [], []
    for spec in scenario.policies:
        policy = _checked(make_policy(spec.name, **spec.params), spec.name)
        result = simulate(pipeline.world(repetition, day=day, tasks=tasks), policy)
        mine: dict[str, Any] = {**job, "policy": spec.display}
        rows.append({**mine, **settings, **day_metrics(result, prepared.test_model)})
        assignments.append(result.pairs.assign(**mine))
        log = result.events
        is_visit = (log["kind"] == "visit").to_numpy()
        # Visits are the same for every policy (one day): keep them once, under policy "*".
        if spec is scenario.policies[0] and scenario.log_visits:
            events.append(log[is_visit].assign(**job, policy="*"))
        events.append(log[~is_visit].assign(**mine))
    return rows, assignments, events


def _allocate(pipeline: Pipeline, variant: Variant, repetition: int) -> Rows:
    """Each policy allocates the whole pool once; scored on every held-out day."""
    scenario, prepared = pipeline.scenario, pipeline.prepared
    tasks = pipeline.tasks(repetition)
    state = prepared.knowledge.initial_state(scenario.g)
    held_out = prepared.held_out()
    days = prepared.test_days
    label = f"held-out days {days.min()}-{days.max()}" if len(days) else "no held-out day"
    job: dict[str, Any] = {"variant": variant.index, "repetition": repetition}
    settings = job_settings(pipeline, variant, label)
    rows, assignments = [], []
    location_of = pd.Series(tasks.location, index=tasks.id)
    for spec in scenario.policies:
        result = _checked(make_policy(spec.name, **spec.params), spec.name).allocate(tasks, state)
        mine: dict[str, Any] = {**job, "policy": spec.display}
        rows.append({**mine, **settings, **allocation_metrics(result, tasks, held_out)})
        pairs = pd.DataFrame(
            {
                "user": result.user,
                "task": result.task,
                "location": location_of.loc[result.task].to_numpy(),
                "coverage": result.coverage,
            }
        )
        assignments.append(pairs.assign(**mine))
    return rows, assignments, []
