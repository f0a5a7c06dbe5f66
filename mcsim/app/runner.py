"""``mcsim run``: a scenario file in, a complete results folder out.

A run is the set of jobs (variant, repetition) of a scenario (:mod:`mcsim.app.jobs`), each
prepared by the one pipeline (:mod:`mcsim.app.pipeline`): every distinct setting is prepared
(and mined) once, here, so that worker processes only read the mining cache; the jobs then run
in this process or in a pool of ``workers`` processes; their rows are put in (variant,
repetition, policy) order and written, with plots and a manifest, through
:func:`mcsim.data.outputs.atomic_output_dir` (a failure or Ctrl-C leaves no folder, and
``overwrite`` replaces an old folder only after success).

Every job draws from its own seed streams (:mod:`mcsim.seeding`), keyed by what it depends on
and never by worker or execution order, so the same scenario and seed give identical metrics
(timings aside) whatever ``workers`` is.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from mcsim.app.backends import WorkerLost, make_backend
from mcsim.app.compare import run_summary
from mcsim.app.estimate import check_size
from mcsim.app.jobs import Job, JobResult
from mcsim.app.jobstore import JobStore
from mcsim.app.pipeline import Pipeline, PreparedCache, default_cache_dir
from mcsim.app.plots import write_plots
from mcsim.app.readings import write_readings
from mcsim.app.scenario import Scenario, ScenarioFile, Variant, dump_scenario, load_scenario
from mcsim.data.outputs import atomic_output_dir, check_output_target
from mcsim.errors import ScenarioError
from mcsim.platform.metrics import ALLOCATION_METRIC_COLUMNS, METRIC_COLUMNS

SUMMARY_COLUMNS = (
    "completion_ratio", "completion_ratio_active", "completion_ratio_overall", "fulfillment",
    "coverage", "coverage_empirical", "tasks_per_user", "users_recruited", "iterations",
    "alloc_seconds", "incentive_per_completed_usd", "energy_per_user_j",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run produced (also written to the results folder)."""

    metrics: pd.DataFrame
    assignments: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    seconds: float


def _prepare_all(
    file: ScenarioFile, path: str | Path, cache: PreparedCache, cache_dir: Path, quiet: bool
) -> None:
    """Prepare (and mine) every distinct setting, and load its phones' model and its
    validator, once, before any job runs: a bad trace or checkpoint fails here, not in the
    middle of the jobs."""
    workers = file.scenario.workers
    try:
        for variant in file.variants:
            pipeline = Pipeline(
                variant.scenario,
                variant.index,
                cache=cache,
                cache_dir=cache_dir,
                workers=workers,
                progress=not quiet,
            )
            pipeline.prepared  # noqa: B018 (built for its side effect: the cache)
            pipeline.sensor()
            cache.validator(variant.scenario.validation.validator)
    except ScenarioError as exc:
        if exc.path is not None:
            raise
        raise ScenarioError(exc.reason, path=str(path), column=exc.column) from None


# ---------------------------------------------------------------------------------- tables


def _setting_value(variant: Variant, key: str) -> Any:
    """The value at dotted ``key`` of a variant's resolved scenario (``tasks.max_copies``)."""
    value: Any = variant.scenario.model_dump(mode="json")
    for part in key.split("."):
        value = value[part]
    return value


def _tables(
    file: ScenarioFile, results: list[JobResult]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """metrics, assignments and events in (variant, repetition, policy) order."""
    results = sorted(results, key=lambda r: (r.job.variant, r.job.repetition))
    metrics = pd.DataFrame([row for r in results for row in r.metrics])
    setting_columns = list(dict.fromkeys(k for v in file.variants for k in v.settings))
    for key in setting_columns:  # every variant's own value, also where it is not swept
        values = {v.index: _setting_value(v, key) for v in file.variants}
        metrics[key] = metrics["variant"].map(values)
    measures = ALLOCATION_METRIC_COLUMNS if file.scenario.mode == "allocate" else METRIC_COLUMNS
    front = ["variant", "repetition", "policy", *setting_columns]
    middle = [c for c in metrics.columns if c not in front and c not in measures]
    metrics = metrics[front + middle + list(measures)]
    front = ["variant", "repetition", "policy"]
    tables = []
    for frames in ([r.assignments for r in results], [r.events for r in results]):
        table = pd.concat(frames, ignore_index=True)
        if len(table.columns):
            table = table[front + [c for c in table.columns if c not in front]]
        tables.append(table)
    return metrics, tables[0], tables[1], setting_columns


def summarize(metrics: pd.DataFrame, settings: Iterable[str]) -> pd.DataFrame:
    """Mean of the main metrics over repetitions, per variant setting and policy."""
    keys = [*dict.fromkeys(["variant", *settings]), "policy"]
    columns = [c for c in SUMMARY_COLUMNS if c in metrics.columns]
    # Rows come in (variant, repetition, policy) order; groups keep their first appearance.
    return metrics.groupby(keys, sort=False, dropna=False)[columns].mean().reset_index()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (
        "mcsim", "numpy", "pandas", "scipy", "simpy", "pydantic", "pyyaml", "pyarrow",
        "matplotlib", "torch", "gymnasium",
    ):  # fmt: skip
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# ------------------------------------------------------------------------------------- run


def resolve_out(path: str | Path, file: ScenarioFile, out: str | Path | None) -> Path:
    """The results folder: ``out``, else the scenario's ``output``, else ``runs/<name>``."""
    if out is not None:
        return Path(out)
    if file.scenario.output is not None:
        return file.scenario.output
    return Path("runs") / file.scenario.name


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
    allow_large: bool = False,
    restart: bool = False,
    backend: str = "local",
    address: str | None = None,
) -> RunResult:
    """Run every variant, repetition and policy of a scenario and write the results folder.

    Args:
        path: the scenario file.
        out: results folder; default the scenario's ``output``, else ``runs/<name>``.
        overwrite: replace an existing folder (only after the new results are complete).
        workers, repetitions: override the scenario's values (results do not depend on
            ``workers``).
        quiet: no progress bar and no summary table.
        overrides: key path -> value applied to the scenario before validation.
        cache_dir: mining cache (default :func:`~mcsim.app.pipeline.default_cache_dir`).
        allow_large: run even when the estimate is past the documented limits
            (:mod:`mcsim.app.estimate`).
        restart: discard the finished jobs of an earlier, interrupted run of ``out``
            (without it they are resumed, and a changed scenario is refused).
        backend, address: where jobs run (:mod:`mcsim.app.backends`: ``local`` or ``ray``,
            with the Ray cluster's address); results do not depend on it.

    Raises:
        MCSimError: a bad scenario or trace, ``out`` exists without ``overwrite``, or the run
            is estimated too large; nothing is created then.
        WorkerLost: a worker died in the middle of a job; the finished jobs are kept, and
            the same call resumes the run.
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
    out = resolve_out(path, file, out)
    check_output_target(out, overwrite=overwrite)
    check_size(file, allow_large=allow_large)
    runner = make_backend(backend, address)
    store = JobStore(out, _jobs_key(scenario), restart=restart)  # before any work
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    cache = PreparedCache()
    t0 = time.perf_counter()
    try:
        _prepare_all(file, path, cache, cache_dir, quiet)
    except BaseException:
        store.remove_if_empty()
        raise
    prepare_s = time.perf_counter() - t0
    from tqdm import tqdm

    resolved = dump_scenario(scenario)
    jobs = [Job(v.index, r) for v in file.variants for r in range(scenario.repetitions)]
    finished = set(store.done(jobs))
    pending = _longest_first([job for job in jobs if job not in finished], file)
    unit = "allocation" if scenario.mode == "allocate" else "day"
    try:
        with tqdm(
            total=len(jobs), initial=len(finished), unit=unit, desc=scenario.mode, disable=quiet
        ) as bar:
            t0 = time.perf_counter()
            runner.run(file, pending, cache, cache_dir, partial(_keep, store, bar))
            simulate_s = time.perf_counter() - t0
        # Always assembled from the shards, so a resumed run equals an uninterrupted one.
        results = [store.load(job) for job in jobs]
        metrics, assignments, events, settings = _tables(file, results)
        summary = summarize(metrics, settings)
        t0 = time.perf_counter()
        with atomic_output_dir(out, overwrite=overwrite) as work:
            files = _write_tables(
                work, scenario.mode, resolved, metrics, assignments, events, settings
            )
            files += write_readings(work, scenario, results)  # the sensed dataset
            files += write_plots(
                metrics, work, settings, mode=scenario.mode, title=scenario.name,
                checked=any(_checked(v.scenario) for v in file.variants),
            )  # fmt: skip
            timings = {
                "prepare": prepare_s,
                "simulate": simulate_s,
                "write": time.perf_counter() - t0,
                "total": time.perf_counter() - started,
            }
            manifest = _manifest(path, file, resolved, started_at, timings, results, files)
            manifest.update(overrides=merged, resumed_jobs=len(finished), backend=backend)
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    except KeyboardInterrupt:
        raise  # the finished jobs stay in the store: the same command resumes them
    except WorkerLost as exc:  # like an interruption: what finished is kept for resuming
        kept = len(store.done(jobs))
        raise WorkerLost(
            f"{exc}; the {kept} finished jobs are kept: run the same command again to run "
            f"the other {len(jobs) - kept}"
        ) from None
    except BaseException:
        store.remove()  # an error, not an interruption: nothing half-written stays
        raise
    store.remove()
    if not quiet:
        with pd.option_context(
            "display.width", 160, "display.max_columns", 30,
            "display.float_format", "{:.4f}".format,
        ):  # fmt: skip
            print(summary.to_string(index=False))
        print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    return RunResult(metrics, assignments, events, summary, out, time.perf_counter() - started)


def _keep(store: JobStore, bar: Any, result: JobResult) -> None:
    """A finished job: its shard is written before the progress bar moves."""
    store.save(result)
    bar.update(1)


def _jobs_key(scenario: Scenario) -> str:
    """What finished jobs depend on: the resolved scenario, except ``workers``."""
    resolved = scenario.model_dump(mode="json", exclude={"workers"})
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()


def _manifest(
    path: str | Path,
    file: ScenarioFile,
    resolved: str,
    started_at: str,
    timings: dict[str, float],
    results: list[JobResult],
    files: list[str],
) -> dict[str, Any]:
    """What a run was: the scenario and its hash, seed, sizes, versions, timings, files."""
    scenario = file.scenario
    return {
        "scenario": str(Path(path).resolve()),
        "scenario_sha256": hashlib.sha256(resolved.encode()).hexdigest(),
        "mode": scenario.mode,
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
            **{name: round(seconds, 3) for name, seconds in timings.items()},
            "jobs": [round(r.seconds, 3) for r in results],
        },
        "files": [*files, "manifest.json"],
    }


def _write_tables(
    work: Path,
    mode: str,
    resolved: str,
    metrics: pd.DataFrame,
    assignments: pd.DataFrame,
    events: pd.DataFrame,
    settings: list[str],
) -> list[str]:
    """The resolved scenario and the tables of a run; returns the file names written."""
    (work / "scenario.yaml").write_text(resolved, encoding="utf-8")
    metrics.to_csv(work / "metrics.csv", index=False)
    metrics.to_parquet(work / "metrics.parquet", index=False)  # types kept: "NA" is a name
    measures = ALLOCATION_METRIC_COLUMNS if mode == "allocate" else METRIC_COLUMNS
    run_summary(metrics, settings, measures).to_csv(work / "summary.csv", index=False)
    assignments.to_parquet(work / "assignments.parquet", index=False)
    files = ["scenario.yaml", "metrics.csv", "metrics.parquet", "summary.csv",
             "assignments.parquet"]  # fmt: skip
    if mode == "allocate":  # no simulated day, so no event log
        return files
    events.to_parquet(work / "events.parquet", index=False)
    return [*files, "events.parquet"]


def _checked(scenario: Scenario) -> bool:
    """Whether a scenario judges its readings or has dishonest users."""
    return scenario.validation.validator != "none" or scenario.dishonest.share > 0


def _longest_first(jobs: list[Job], file: ScenarioFile) -> list[Job]:
    """The jobs, those expected to take longest first (more copies to place and sense, more
    policies), file order among equals: with several workers the last job to start is then
    a short one, so no worker idles long at the end (on a 40-job campus sweep the largest
    pools' jobs take 3x the smallest's). The results do not depend on the order."""
    scenarios = {v.index: v.scenario for v in file.variants}

    def weight(job: Job) -> int:
        scenario = scenarios[job.variant]
        return scenario.tasks.copies * len(scenario.policies)

    return sorted(jobs, key=weight, reverse=True)
