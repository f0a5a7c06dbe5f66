"""The ``mcsim`` command line: ``run``, ``validate``, ``allocate``, ``mine``, ``sensegen``,
``validator``, ``train-agent`` and ``evaluate``.

``main`` builds one argparse parser. ``run``, ``validate``, ``allocate`` and ``mine`` are
defined here and call the application layer (:func:`mcsim.app.runner.run_scenario`, the
scenario loader, the miner); ``sensegen`` and ``validator`` are registered by
:mod:`generators.sensegen.cli` and :mod:`generators.validators.cli`.
Errors that are the user's to fix (:class:`~mcsim.errors.MCSimError`) print as one line and
exit 1, without a traceback; Ctrl-C exits 130. Commands write their results folders atomically.

A SCENARIO argument is a YAML file or the name of a scenario shipped with the package
(``campus``, ``paper_table3``, ...: ``mcsim run campus``), which works from an installed wheel.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import yaml

from mcsim import __version__
from mcsim.app.scenario.loading import scenario_path
from mcsim.errors import CacheWarning, MCSimError, ReproducibilityWarning, ScenarioError

# Sub-command groups registered by the plug-in packages that implement them: "module:function".
COMMAND_MODULES = (
    "generators.sensegen.cli:register",
    "generators.validators.cli:register",
    "mcsim.envs.cli:register",
)
PRESETS = ("wtd", "wtd-extended")  # populations of `mcsim allocate` (the paper's two traces)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    """The scenario overrides of ``run`` and ``validate`` (validated exactly like the file)."""
    group = parser.add_argument_group(
        "overrides", "change the scenario without editing it (recorded in scenario.yaml and "
        "manifest.json; validated like the file, errors name the key)"
    )  # fmt: skip
    group.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="set a dotted key to a YAML value, e.g. --set tasks.count=60 --set g=8",
    )  # fmt: skip
    group.add_argument(
        "--sweep", action="append", default=[], metavar="KEY=V1,V2",
        help="sweep a key over values (replaces the file's sweep of that key), e.g. "
        "--sweep g=4,6,8 or --sweep 'tasks=[{count: 20, copies: 38}, {count: 40, copies: 78}]'",
    )  # fmt: skip
    group.add_argument(
        "--policies", default=None, metavar="LIST",
        help="comma-separated policies to run, e.g. MDP,IU1,mypkg.mod:MyPolicy",
    )  # fmt: skip
    group.add_argument("--seed", type=int, default=None, help="the scenario's one seed")


def _parse_value(option: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not YAML"
        raise MCSimError(f"{option}: cannot read {text!r} ({problem})") from None


def _split_assignment(option: str, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise MCSimError(f"{option} {text!r}: expected KEY=VALUE, e.g. {option} tasks.count=60")
    return key.strip(), value.strip()


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The command line's overrides as dotted key -> value (``sweep`` as a mapping)."""
    overrides: dict[str, Any] = {}
    for text in args.set:
        key, value = _split_assignment("--set", text)
        overrides[key] = _parse_value(f"--set {key}", value)
    for text in args.sweep:
        key, value = _split_assignment("--sweep", text)
        parsed = _parse_value(f"--sweep {key}", value if value.startswith("[") else f"[{value}]")
        if not isinstance(parsed, list) or not parsed:
            raise MCSimError(f"--sweep {key}: expected a non-empty list of values, got {value!r}")
        overrides[f"sweep.{key}"] = parsed
    if args.policies is not None:
        names = [name.strip() for name in args.policies.split(",") if name.strip()]
        if not names:
            raise MCSimError("--policies: expected a comma-separated list of policy names")
        overrides["policies"] = names
    if args.seed is not None:
        overrides["seed"] = args.seed
    return overrides


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a scenario: simulate every policy and write a results folder",
        description="Run SCENARIO (every sweep variant, repetition and policy) and write DIR "
        "atomically: scenario.yaml, metrics.csv, assignments.parquet, events.parquet, plots "
        "and manifest.json.",
    )
    run.add_argument("scenario", help="scenario YAML file, or the name of a shipped scenario")
    run.add_argument(
        "--out",
        default=None,
        help="results folder (default: the scenario's 'output', else runs/<name>)",
    )
    run.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    run.add_argument(
        "--workers", type=_positive, default=None, help="processes (results do not depend on it)"
    )
    run.add_argument(
        "--repetitions", type=_positive, default=None, help="simulated days per variant"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    run.add_argument(
        "--allow-large",
        action="store_true",
        help="run even when estimated past 8 GB or 1 hour (mcsim validate shows the estimate)",
    )
    run.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: local processes, or Ray tasks (the ray extra); results are identical",
    )
    run.add_argument(
        "--address",
        default=None,
        help="the Ray cluster to use (e.g. auto, or ray://head:10001); default: a local Ray",
    )
    run.add_argument(
        "--restart",
        action="store_true",
        help="discard the finished jobs of an interrupted run of --out instead of resuming",
    )
    _add_overrides(run)
    run.set_defaults(func=_run_command)
    validate = subparsers.add_parser(
        "validate",
        help="check a scenario file without running it",
        description="Parse and check SCENARIO; print what is wrong (file, line, key path, "
        "expected) or a one-line summary.",
    )
    validate.add_argument("scenario", help="scenario YAML file, or a shipped scenario's name")
    _add_overrides(validate)
    validate.set_defaults(func=_validate_command)


def _run_command(args: argparse.Namespace) -> int:
    from mcsim.app.runner import run_scenario

    run_scenario(
        scenario_path(args.scenario),
        args.out,
        overwrite=args.overwrite,
        workers=args.workers,
        repetitions=args.repetitions,
        quiet=args.quiet,
        allow_large=args.allow_large,
        restart=args.restart,
        backend=args.backend,
        address=args.address,
        overrides=overrides_from(args),
    )
    return 0


def _validate_command(args: argparse.Namespace) -> int:
    from mcsim.app.estimate import estimate
    from mcsim.app.scenario import load_scenario

    try:
        file = load_scenario(scenario_path(args.scenario), overrides_from(args))
    except ScenarioError as exc:
        if not exc.others:
            raise
        problems = (exc.reason.split(" (and ")[0], *(o.reason for o in exc.others))
        where = [exc, *exc.others]
        print(f"mcsim: error: {exc.path}: {len(where)} problems", file=sys.stderr)
        for error, reason in zip(where, problems, strict=True):
            line = f"line {error.row}, " if error.row is not None else ""
            print(f"  {line}key {error.column!r}: {reason}", file=sys.stderr)
        return 1
    s = file.scenario
    size = estimate(file)
    print(
        f"{args.scenario}: ok ({s.name}: {len(file.variants)} variant(s) x "
        f"{s.repetitions} repetition(s) x {len(s.policies)} polic"
        f"{'y' if len(s.policies) == 1 else 'ies'})\n"
        f"estimate: {size}"
        + ("; past the limits: `mcsim run` needs --allow-large" if size.too_large else "")
    )
    return 0


def _add_compare(subparsers: argparse._SubParsersAction) -> None:
    compare = subparsers.add_parser(
        "compare",
        help="compare a metric across policies, variants and runs, with confidence intervals",
        description="Read the metrics of one or more results folders and print, per group, "
        "the mean, standard deviation, 95 %% confidence interval of the mean and n; draw the "
        "means with their intervals.",
    )
    compare.add_argument("folders", nargs="+", help="results folders of mcsim run")
    compare.add_argument("--metric", default="completion_ratio", help="metric to compare")
    compare.add_argument(
        "--by", default="policy", help="comma-separated grouping columns (e.g. policy,variant)"
    )
    compare.add_argument(
        "--plot", default=None, help="PNG to draw (default: compare_<metric>.png here)"
    )
    compare.set_defaults(func=_compare_command)


def _compare_command(args: argparse.Namespace) -> int:
    from mcsim.app.compare import STAT_COLUMNS, caption, compare, plot_comparison

    by = [column.strip() for column in args.by.split(",") if column.strip()]
    table = compare(args.folders, args.metric, by)
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    plot = Path(args.plot or f"compare_{args.metric}.png")
    groups = [c for c in table.columns if c not in STAT_COLUMNS]
    plot_comparison(table, args.metric, groups, caption(args.folders), plot)
    print(f"wrote {plot}")
    return 0


def _add_allocate(subparsers: argparse._SubParsersAction) -> None:
    allocate = subparsers.add_parser(
        "allocate",
        help="reproduce the paper's allocation experiments (Figs. 5-8) on a synthetic campus",
        description="Run the shipped scenario paper_figs5_8 (allocate-only: 30 training days "
        "mined at minsup 0.5, every policy allocates the paper's task pools, scored on 10 "
        "held-out days) and write DIR: metrics.csv, summary.csv, the Fig. 5-8 style plots, "
        "assignments.parquet, scenario.yaml and manifest.json.",
    )
    allocate.add_argument("--out", required=True, help="results folder (created atomically)")
    allocate.add_argument(
        "--preset",
        choices=PRESETS,
        default="wtd",
        help="wtd: 68 users / 124 APs; wtd-extended: 168 users / 284 APs",
    )
    allocate.add_argument(
        "--repetitions", type=int, default=10, help="task pools drawn per setting"
    )
    allocate.add_argument("--seed", type=int, default=0, help="the one seed of the run")
    allocate.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    allocate.add_argument("--quiet", action="store_true", help="no progress bar")
    allocate.set_defaults(func=_allocate_command)


def _allocate_command(args: argparse.Namespace) -> int:
    """``mcsim allocate``: a thin alias of ``mcsim run paper_figs5_8`` with its three knobs."""
    from mcsim.app.runner import run_scenario
    from mcsim.app.scenario import shipped_scenario

    if args.repetitions < 1:
        raise MCSimError(f"--repetitions must be >= 1, got {args.repetitions}")
    if args.seed < 0:
        raise MCSimError(f"--seed must be >= 0, got {args.seed}")
    run_scenario(
        shipped_scenario("paper_figs5_8"),
        args.out,
        overwrite=args.overwrite,
        repetitions=args.repetitions,
        quiet=args.quiet,
        overrides={"trace.synthetic.preset": args.preset, "seed": args.seed},
    )
    return 0


def _add_mine(subparsers: argparse._SubParsersAction) -> None:
    from mcsim.data.traces import FORMATS

    mine = subparsers.add_parser(
        "mine",
        help="cut a trace into cycles and mine repetitive mobility patterns",
        description="Cut TRACE into daily cycles and mine each user's repetitive patterns "
        "(breadth-first, Wang et al. 2018 Alg. 1). Writes DIR/cycles.parquet and "
        "DIR/patterns.parquet.",
    )
    mine.add_argument("trace", help="CSV/Parquet trace (AP log or GPS) or a GeoLife folder")
    mine.add_argument("--minsup", type=float, required=True, help="minimum support in (0, 1]")
    mine.add_argument("--max-length", type=int, default=None, help="longest pattern mined")
    mine.add_argument("--format", choices=FORMATS, default=None, help="force the trace format")
    mine.add_argument("--out", required=True, help="results folder (created atomically)")
    mine.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    mine.add_argument(
        "--timezone", default="UTC", help="zone of naive times and of the cycle origin (IANA name)"
    )
    mine.add_argument("--cycle-hours", type=float, default=24.0, help="cycle length C_len [h]")
    mine.add_argument(
        "--origin-hour", type=float, default=4.0, help="local hour at which cycles start"
    )
    mine.add_argument(
        "--min-dwell", type=float, default=0.0, help="drop visits shorter than this [s]"
    )
    mine.add_argument(
        "--grid-m", type=float, default=200.0, help="grid cell size for GPS input [m]"
    )
    mine.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    mine.add_argument("--cache-dir", default=None, help="cache mined patterns by content hash")
    mine.add_argument("--quiet", action="store_true", help="no progress bar")
    mine.set_defaults(func=_run_mine)


def _run_mine(args: argparse.Namespace) -> int:
    from mcsim.data.geo import GridSpec
    from mcsim.data.outputs import atomic_output_dir, check_output_target
    from mcsim.data.traces import load_trace
    from mcsim.mining.cycles import CycleOptions, cut_cycles
    from mcsim.mining.patterns import mine_patterns

    try:
        options = CycleOptions(
            length_h=args.cycle_hours,
            origin_hour=args.origin_hour,
            timezone=args.timezone,
            min_dwell_s=args.min_dwell,
        )
        grid = GridSpec(args.grid_m)
        if not 0 < args.minsup <= 1:
            raise ValueError(f"--minsup must be in (0, 1], got {args.minsup}")
        if args.max_length is not None and args.max_length < 1:
            raise ValueError(f"--max-length must be >= 1, got {args.max_length}")
    except ValueError as exc:
        raise MCSimError(str(exc)) from exc
    check_output_target(args.out, overwrite=args.overwrite)
    started = time.perf_counter()
    trace = load_trace(args.trace, format=args.format, grid=grid, timezone=args.timezone)
    cycles = cut_cycles(trace, options)
    if len(cycles) == 0:
        raise MCSimError(f"{args.trace}: no valid cycles after cutting (min dwell too long?)")
    patterns = mine_patterns(
        cycles,
        args.minsup,
        max_length=args.max_length,
        workers=args.workers,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
    )
    with atomic_output_dir(args.out, overwrite=args.overwrite) as work:
        cycles.to_frame().to_parquet(work / "cycles.parquet", index=False)
        patterns.to_frame().to_parquet(work / "patterns.parquet", index=False)
    n_cycles = cycles.n_cycles()
    active = n_cycles[n_cycles > 0]
    intra = patterns.intra_closed()
    print(
        f"{len(trace):,} rows, {len(active):,} users, {len(cycles.locations):,} locations, "
        f"{len(cycles):,} valid cycles (N(u) median {int(sorted(active)[len(active) // 2])}, "
        f"max {int(active.max())})\n"
        f"patterns at minsup {args.minsup:g}: {len(patterns):,} total, {len(intra):,} "
        f"user intra-closed, {len(intra.inter_closed()):,} user inter-closed\n"
        f"wrote {Path(args.out) / 'cycles.parquet'} and {Path(args.out) / 'patterns.parquet'} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcsim",
        description="Mobile crowdsensing simulator: mobility patterns, task allocation "
        "policies, SenseGen phones, SimPy engine.",
    )
    parser.add_argument("--version", action="version", version=f"mcsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(subparsers)
    _add_compare(subparsers)
    _add_allocate(subparsers)
    _add_mine(subparsers)
    for entry in COMMAND_MODULES:
        module, function = entry.split(":")
        getattr(importlib.import_module(module), function)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    # Like ``python -m``: plug-in policies named "module:Class" in a scenario are importable
    # from the folder the command runs in, whichever way mcsim was started.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return int(args.func(args) or 0)
        except MCSimError as exc:
            if args.debug:
                raise
            hint = " (--debug shows the traceback)" if exc.__cause__ is not None else ""
            print(f"mcsim: error: {exc}{hint}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                "mcsim: interrupted; nothing was written (a run keeps its finished jobs: "
                "the same command resumes it)",
                file=sys.stderr,
            )
            return 130


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """mcsim's own warnings as one line on stderr; others as Python prints them."""
    if issubclass(category, CacheWarning | ReproducibilityWarning):
        print(f"mcsim: warning: {message}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr)
