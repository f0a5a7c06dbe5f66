"""``mcsim run`` and ``mcsim validate``: a scenario file in, a complete results folder out.

Pipeline (ARCHITECTURE.md, "Data flow"): scenario -> trace -> train/test cycles -> mined
patterns (cached by content hash) and p(loc | u) -> for every (variant, repetition): one
simulated day and one task pool, on which *every* policy runs in its own, otherwise identical
SimPy world -> metrics, per-assignment records, events, plots and a manifest.

Randomness: every component draws from its own generator,
``SeedSequence(seed, spawn_key=(component, ...))``, keyed by what it depends on and never by
worker or execution order:

* trace generation: ``(TRACE,)`` (one population per scenario, shared by variants with the
  same trace settings, so their mined patterns are shared too); a virtual population
  (``mobility.users``): ``(POPULATION,)``;
* the order in which test days are replayed: ``(DAY_ORDER,)``;
* a simulated day: ``(DAY, repetition)`` (paired across task-pool variants);
* a task pool: ``(TASKS, variant, repetition)``; phones: ``(SENSOR, variant, repetition)``.

Hence the same scenario and seed give identical metrics (timings aside) whatever ``workers``
is. Results are written through :func:`mcsim.data.outputs.atomic_output_dir`: a failure or Ctrl-C
leaves no folder, and ``--overwrite`` replaces an old folder only after success.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mcsim.app.scenario import Scenario, ScenarioFile, Variant, dump_scenario, load_scenario
from mcsim.data.outputs import atomic_output_dir
from mcsim.data.traces import Trace
from mcsim.errors import MCSimError, ScenarioError
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles, split_cycles
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.platform.metrics import METRIC_COLUMNS, day_metrics
from mcsim.platform.tasks import TaskBatch, generate_task_pool
from mcsim.sim import (
    DayPlan,
    GroundTruthSource,
    Knowledge,
    MobilitySource,
    PatternDaySource,
    ReplaySource,
    World,
    WorldOptions,
    scale_population,
    simulate,
)

TRACE, DAY_ORDER, DAY, TASKS, SENSOR, POPULATION = range(6)  # RNG components (spawn keys)
SUMMARY_COLUMNS = (
    "completion_ratio",
    "completion_ratio_active",
    "completion_ratio_overall",
    "coverage",
    "coverage_empirical",
    "tasks_per_user",
    "users_recruited",
    "iterations",
    "alloc_seconds",
)


def default_cache_dir() -> Path:
    """Where mined patterns are cached: ``$MCSIM_CACHE_DIR`` or ``.mcsim-cache/`` (git-ignored)."""
    return Path(os.environ.get("MCSIM_CACHE_DIR", ".mcsim-cache"))


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """The generator of one component: ``SeedSequence(seed, spawn_key=key)``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def seed_for(seed: int, *key: int) -> int:
    """A 32-bit integer seed for components that take an int (generators, phones)."""
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


# ------------------------------------------------------------------------------ preparation


@dataclass(frozen=True, eq=False)
class Setting:
    """Everything a variant's repetitions share: the trace, its cycles and the mined knowledge."""

    trace: Trace
    train: CycleTable
    test: CycleTable
    knowledge: Knowledge
    test_model: LocationModel
    task_locations: np.ndarray  # candidate task location codes (seen in training)
    task_weights: np.ndarray | None  # sampling weights over them (None: uniform)
    source: MobilitySource


def _setting_key(scenario: Scenario) -> str:
    """Hash of the settings that determine a :class:`Setting` (not tasks, policies, g...)."""
    parts = {
        k: scenario.model_dump(mode="json")[k]
        for k in ("seed", "trace", "cycles", "mining", "split", "mobility")
    }
    parts["task_locations"] = scenario.tasks.locations
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def prepare(
    scenario: Scenario, *, cache_dir: Path | None = None, workers: int = 1, progress: bool = False
) -> Setting:
    """Build the trace, cut and split it, mine it (cached) and set up the mobility source.

    Raises:
        MCSimError: a trace that cannot be read, or a split that leaves no training or test
            cycles (naming the scenario key to change).
    """
    from mcsim.mining.patterns import mine_patterns

    campus = None
    if scenario.trace.synthetic is not None:
        from generators.mobility import generate_campus

        campus = generate_campus(
            scenario.trace.synthetic.campus_config(), seed=seed_for(scenario.seed, TRACE)
        )
        trace = campus.trace
    else:
        from mcsim.data.geo import GridSpec, StayPointOptions
        from mcsim.data.traces import load_trace

        spec = scenario.trace.file
        assert spec is not None
        trace = load_trace(
            spec.path,
            format=spec.format,
            timezone=spec.timezone,
            grid=GridSpec(spec.grid_m),
            stay_points=StayPointOptions(spec.stay_radius_m, spec.stay_min_s),
        )
    c = scenario.cycles
    options = CycleOptions(
        length_h=c.length_h,
        origin_hour=c.origin_hour,
        timezone=scenario.cycle_timezone(),
        min_dwell_s=c.min_dwell_s,
    )
    cycles = cut_cycles(trace, options)
    train, test = _split(cycles, scenario)
    if len(train) == 0:
        raise ScenarioError("the split leaves no training cycles", column="split")
    if len(test) == 0 and scenario.mobility.source == "replay":
        raise ScenarioError(
            f"the split leaves no test cycles to replay (the trace spans "
            f"{len(np.unique(cycles.cycle))} cycles); expected fewer "
            "training cycles",
            column="split",
        )

    def mine(cycles: CycleTable) -> PatternBase:
        return mine_patterns(
            cycles,
            scenario.mining.minsup,
            max_length=scenario.mining.max_length,
            workers=workers,
            cache_dir=cache_dir,
            progress=progress,
        )

    patterns = mine(train)
    if scenario.mobility.users is not None:
        # A virtual population driven by the trace's pattern model, mined like a trace.
        first_test = int(test.cycle.min()) if len(test) else int(train.cycle.max()) + 1
        n_train = first_test - int(train.cycle.min())
        n_test = int(test.cycle.max()) - first_test + 1 if len(test) else 1
        population = scale_population(
            train,
            patterns,
            scenario.mobility.users,
            n_train + n_test,
            rng_for(scenario.seed, POPULATION),
        )
        train, test = split_cycles(population, train_cycles=n_train)
        patterns = mine(train)
    knowledge = Knowledge.from_training(train, patterns, Locations.from_trace(trace))
    if scenario.tasks.locations == "frequent":
        seen, visits = np.unique(patterns.items, return_counts=True)
    else:
        seen, visits = np.unique(train.location, return_counts=True)
    source: MobilitySource
    if scenario.mobility.source == "replay":
        source = ReplaySource(test, rng_for(scenario.seed, DAY_ORDER))
    elif scenario.mobility.source == "patterns":
        source = PatternDaySource(train, patterns)
    else:
        assert campus is not None
        source = GroundTruthSource(
            partial(_ground_truth_day, campus, options), first_day=campus.config.n_days
        )
    return Setting(
        trace,
        train,
        test,
        knowledge,
        LocationModel.from_cycles(test),
        seen.astype(np.int32),
        visits.astype(float) if scenario.tasks.locations == "visits" else None,
        source,
    )


def _split(cycles: CycleTable, scenario: Scenario) -> tuple[CycleTable, CycleTable]:
    """Train/test cycles; ``test_from`` becomes a number of training cycles."""
    split = scenario.split
    if split.test_from is None:
        return split_cycles(
            cycles, train_cycles=split.train_cycles, train_fraction=split.train_fraction
        )
    if len(cycles) == 0:
        return cycles, cycles
    starts = cycles.start_times()
    first_test = pd.Timestamp(split.test_from).tz_localize(scenario.cycle_timezone())
    boundary = cycles.cycle[np.asarray(starts >= first_test)]
    if len(boundary) == 0:
        raise ScenarioError(
            f"no cycle starts on or after {split.test_from}; expected a date within the trace",
            column="split.test_from",
        )
    train_cycles = int(boundary.min() - cycles.cycle.min())
    if train_cycles < 1:
        raise ScenarioError(
            f"no cycle starts before {split.test_from}; expected a date within the trace",
            column="split.test_from",
        )
    return split_cycles(cycles, train_cycles=train_cycles)


def _ground_truth_day(campus: Any, options: CycleOptions, day: int) -> DayPlan:
    """The synthetic campus's day ``day`` for every user, cut like the training trace."""
    cycles = cut_cycles(campus.visits(range(day, day + 1)), options)
    rows = np.flatnonzero(cycles.cycle == cycles.cycle.min()) if len(cycles) else np.zeros(0, int)
    return DayPlan.from_cycles(cycles, rows, label=f"ground-truth day {day}")


def task_pool(scenario: Scenario, setting: Setting, rng: np.random.Generator) -> TaskBatch:
    """The repetition's task pool (paper: m tasks needing ``copies`` measurements in all)."""
    t = scenario.tasks
    start = t.publish.start_h * 3600.0  # [s]
    end = (t.publish.end_h if t.publish.end_h is not None else t.publish.start_h) * 3600.0
    try:
        return generate_task_pool(
            n_tasks=t.count,
            total_copies=t.copies,
            max_copies=t.max_copies,
            locations=setting.task_locations,
            rng=rng,
            weights=setting.task_weights,
            publish_window_s=(start, end),
            n_batches=t.publish.batches,
            deadline_s=float("inf") if t.deadline_h is None else t.deadline_h * 3600.0,
        )
    except ValueError as exc:
        raise ScenarioError(str(exc), column="tasks") from None


# ------------------------------------------------------------------------------ repetitions


@dataclass(frozen=True)
class Job:
    """One (variant, repetition): every policy on the same day, tasks and phones."""

    variant: int
    repetition: int


@dataclass(frozen=True, eq=False)
class JobResult:
    """A job's rows of metrics.csv, assignments.parquet and events.parquet."""

    job: Job
    metrics: list[dict[str, Any]]
    assignments: pd.DataFrame
    events: pd.DataFrame
    seconds: float


_SETTINGS: dict[str, Setting] = {}  # per-process memo: variants sharing a trace share it
_SETTINGS_KEPT = 4  # settings kept in the memo (a 100,000-user setting holds ~1 GB)
_SENSORS: dict[str, Any] = {}  # per-process memo of loaded sensor models


def _setting(
    scenario: Scenario, cache_dir: Path | None, workers: int = 1, progress: bool = False
) -> Setting:
    key = _setting_key(scenario)
    if key not in _SETTINGS:
        while len(_SETTINGS) >= _SETTINGS_KEPT:
            del _SETTINGS[next(iter(_SETTINGS))]  # the oldest
        _SETTINGS[key] = prepare(scenario, cache_dir=cache_dir, workers=workers, progress=progress)
    return _SETTINGS[key]


def _sensor(spec: str) -> Any:
    """The loaded sensor model (memoised per process).

    A SenseGen model runs torch single-threaded: the simulator's batches are tens of phones,
    and with two OpenMP threads on a busy 2-core machine a 128-step roll-out took ~30x longer
    (measured 14 s instead of 0.4 s for 30 phones).
    """
    from generators.sensors import load_sensor

    if spec not in _SENSORS:
        if spec != "none":
            import torch

            torch.set_num_threads(1)
        _SENSORS[spec] = load_sensor(spec)
    return _SENSORS[spec]


def world_options(scenario: Scenario) -> WorldOptions:
    """The rules of a simulated day that a scenario sets (shared by the runner and the env)."""
    return WorldOptions(
        g=scenario.g,
        reading_s=scenario.reading_s,
        walking_dwell_s=scenario.walking_dwell_s,
        condition_on_activity=scenario.sensor_activity,
        carry_over=scenario.tasks.carry_over,
    )


def run_job(variant: Variant, repetition: int, cache_dir: Path | None) -> JobResult:
    """Simulate one repetition of one variant for every policy; results in policy order."""
    from policies import make_policy

    started = time.perf_counter()
    scenario = variant.scenario
    setting = _setting(scenario, cache_dir)
    seed = scenario.seed
    day = setting.source.day(repetition, rng_for(seed, DAY, repetition))
    tasks = task_pool(scenario, setting, rng_for(seed, TASKS, variant.index, repetition))
    options = world_options(scenario)
    sensor = _sensor(scenario.sensor)
    settings = {
        **variant.settings,
        "users": len(setting.train.users),
        "locations": len(setting.train.locations),
        "tasks": scenario.tasks.count,
        "copies": scenario.tasks.copies,
        "g": scenario.g,
        "mobility": scenario.mobility.source,
        "day": day.label,
    }
    rows, assignments, events = [], [], []
    for spec in scenario.policies:
        policy = make_policy(spec.name, **spec.params)
        world = World(
            day,
            tasks,
            setting.knowledge,
            options,
            sensor=sensor,
            sensor_seed=seed_for(seed, SENSOR, variant.index, repetition),
        )
        result = simulate(world, policy)
        rows.append(
            {
                "variant": variant.index,
                "repetition": repetition,
                "policy": spec.display,
                **settings,
                **day_metrics(result, setting.test_model),
            }
        )
        pairs = result.pairs.assign(
            variant=variant.index, repetition=repetition, policy=spec.display
        )
        assignments.append(pairs)
        log = result.events
        is_visit = (log["kind"] == "visit").to_numpy()
        # Visits are the same for every policy (one day): keep them once, under policy "*".
        if spec is scenario.policies[0] and scenario.log_visits:
            events.append(
                log[is_visit].assign(variant=variant.index, repetition=repetition, policy="*")
            )
        events.append(
            log[~is_visit].assign(variant=variant.index, repetition=repetition, policy=spec.display)
        )
    return JobResult(
        Job(variant.index, repetition),
        rows,
        pd.concat(assignments, ignore_index=True),
        pd.concat(events, ignore_index=True),
        time.perf_counter() - started,
    )


def _run_jobs(
    file: ScenarioFile,
    repetitions: int,
    workers: int,
    cache_dir: Path | None,
    on_done: Callable[[], None],
) -> list[JobResult]:
    jobs = [(v, r) for v in file.variants for r in range(repetitions)]
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for variant, repetition in jobs:
            results.append(run_job(variant, repetition, cache_dir))
            on_done()
        return results
    # "spawn": workers must not inherit torch/OpenMP thread state from this process.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = [pool.submit(run_job, v, r, cache_dir) for v, r in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            on_done()
    return results


# ----------------------------------------------------------------------------------- output


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run produced (also written to the results folder)."""

    metrics: pd.DataFrame
    assignments: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    seconds: float


def _setting_value(scenario: Scenario, key: str) -> Any:
    """The value at dotted ``key`` of a resolved scenario (e.g. ``tasks.max_copies``)."""
    value: Any = scenario.model_dump(mode="json")
    for part in key.split("."):
        value = value[part]
    return value


def summarize(metrics: pd.DataFrame, settings: Iterable[str]) -> pd.DataFrame:
    """Mean of the main metrics over repetitions, per variant setting and policy."""
    keys = [*dict.fromkeys(["variant", *settings]), "policy"]
    # Rows come in (variant, repetition, policy) order; groups keep their first appearance.
    return (
        metrics.groupby(keys, sort=False, dropna=False)[list(SUMMARY_COLUMNS)].mean().reset_index()
    )


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (
        "mcsim",
        "numpy",
        "pandas",
        "scipy",
        "simpy",
        "pydantic",
        "pyyaml",
        "pyarrow",
        "matplotlib",
        "torch",
        "gymnasium",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_scenario(
    path: str | Path,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    repetitions: int | None = None,
    quiet: bool = False,
    overrides: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
) -> RunResult:
    """Run every variant, repetition and policy of a scenario and write the results folder.

    Args:
        path: the scenario file.
        out: results folder; default the scenario's ``output``.
        overwrite: replace an existing folder (only after the new results are complete).
        workers, repetitions: override the scenario's values (results do not depend on
            ``workers``).
        quiet: no progress bar and no summary table.
        overrides: key path -> value applied to the scenario before validation.
        cache_dir: mining cache (default :func:`default_cache_dir`).

    Raises:
        MCSimError: a bad scenario or trace, or ``out`` exists without ``overwrite``; nothing
            is created then.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    merged = dict(overrides or {})
    if workers is not None:
        merged["workers"] = workers
    if repetitions is not None:
        merged["repetitions"] = repetitions
    file = load_scenario(path, merged)
    scenario = file.scenario
    if out is None:
        if scenario.output is None:
            raise MCSimError(f"{path}: no results folder; give --out or the scenario's 'output'")
        out = scenario.output
    out = Path(out)
    if out.exists() and not overwrite:
        raise MCSimError(f"{out} already exists; choose another --out or pass --overwrite")
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    # Mine every distinct setting once, here, so that worker processes only read the cache.
    t0 = time.perf_counter()
    try:
        for variant in file.variants:
            _setting(variant.scenario, cache_dir, workers=scenario.workers, progress=not quiet)
    except ScenarioError as exc:
        if exc.path is not None:
            raise
        raise ScenarioError(exc.reason, path=str(path), column=exc.column) from None
    prepare_s = time.perf_counter() - t0
    total = len(file.variants) * scenario.repetitions
    from tqdm import tqdm

    with tqdm(total=total, unit="day", desc="simulating", disable=quiet) as bar:
        t0 = time.perf_counter()
        results = _run_jobs(
            file, scenario.repetitions, scenario.workers, cache_dir, lambda: bar.update(1)
        )
        simulate_s = time.perf_counter() - t0
    results.sort(key=lambda r: (r.job.variant, r.job.repetition))
    metrics = pd.DataFrame([row for r in results for row in r.metrics])
    setting_columns = list(dict.fromkeys(k for v in file.variants for k in v.settings))
    for key in setting_columns:  # every variant's own value, also where it is not swept
        values = {v.index: _setting_value(v.scenario, key) for v in file.variants}
        metrics[key] = metrics["variant"].map(values)
    front = ["variant", "repetition", "policy", *setting_columns]
    metrics = metrics[
        front
        + [c for c in metrics.columns if c not in front and c not in METRIC_COLUMNS]
        + list(METRIC_COLUMNS)
    ]
    assignments = pd.concat([r.assignments for r in results], ignore_index=True)
    events = pd.concat([r.events for r in results], ignore_index=True)
    front = ["variant", "repetition", "policy"]
    assignments = assignments[front + [c for c in assignments.columns if c not in front]]
    events = events[front + [c for c in events.columns if c not in front]]
    summary = summarize(metrics, setting_columns)
    t0 = time.perf_counter()
    resolved = dump_scenario(scenario)
    with atomic_output_dir(out, overwrite=overwrite) as work:
        (work / "scenario.yaml").write_text(resolved, encoding="utf-8")
        metrics.to_csv(work / "metrics.csv", index=False)
        assignments.to_parquet(work / "assignments.parquet", index=False)
        events.to_parquet(work / "events.parquet", index=False)
        from mcsim.app.report import write_plots

        plots = write_plots(metrics, work, setting_columns)
        manifest = {
            "scenario": str(Path(path).resolve()),
            "scenario_sha256": hashlib.sha256(resolved.encode()).hexdigest(),
            "seed": scenario.seed,
            "variants": len(file.variants),
            "repetitions": scenario.repetitions,
            "policies": [p.display for p in scenario.policies],
            "workers": scenario.workers,
            "command": sys.argv,
            "versions": _versions(),
            "started_at": started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timings_s": {
                "prepare": round(prepare_s, 3),
                "simulate": round(simulate_s, 3),
                "write": round(time.perf_counter() - t0, 3),
                "total": round(time.perf_counter() - started, 3),
                "jobs": [round(r.seconds, 3) for r in results],
            },
            "files": [
                "scenario.yaml",
                "metrics.csv",
                "assignments.parquet",
                "events.parquet",
                *plots,
                "manifest.json",
            ],
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        with pd.option_context(
            "display.width", 160, "display.max_columns", 30, "display.float_format", "{:.4f}".format
        ):
            print(summary.to_string(index=False))
        print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    return RunResult(metrics, assignments, events, summary, out, time.perf_counter() - started)


# -------------------------------------------------------------------------------- commands


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _run_command(args: argparse.Namespace) -> int:
    run_scenario(
        args.scenario,
        args.out,
        overwrite=args.overwrite,
        workers=args.workers,
        repetitions=args.repetitions,
        quiet=args.quiet,
    )
    return 0


def _validate_command(args: argparse.Namespace) -> int:
    file = load_scenario(args.scenario)
    s = file.scenario
    print(
        f"{args.scenario}: ok ({s.name}: {len(file.variants)} variant(s) x "
        f"{s.repetitions} repetition(s) x {len(s.policies)} polic"
        f"{'y' if len(s.policies) == 1 else 'ies'})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``validate`` sub-commands to the ``mcsim`` parser."""
    run = subparsers.add_parser(
        "run",
        help="run a scenario: simulate every policy and write a results folder",
        description="Run SCENARIO (every sweep variant, repetition and policy) and write DIR "
        "atomically: scenario.yaml, metrics.csv, assignments.parquet, events.parquet, plots "
        "and manifest.json.",
    )
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument(
        "--out", default=None, help="results folder (default: the scenario's 'output')"
    )
    run.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    run.add_argument(
        "--workers", type=_positive, default=None, help="processes (results do not depend on it)"
    )
    run.add_argument(
        "--repetitions", type=_positive, default=None, help="simulated days per variant"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    run.set_defaults(func=_run_command)
    validate = subparsers.add_parser(
        "validate",
        help="check a scenario file without running it",
        description="Parse and check SCENARIO; print what is wrong (file, line, key path, "
        "expected) or a one-line summary.",
    )
    validate.add_argument("scenario", help="scenario YAML file")
    validate.set_defaults(func=_validate_command)
