"""The ``mcsim`` command line.

``main`` builds one argparse parser whose sub-commands live beside the code they drive
(``run``/``validate`` in :mod:`mcsim.app.runner`, ``allocate`` in :mod:`mcsim.app.experiments`,
``sensegen`` in :mod:`generators.sensegen.cli`); ``mine`` lives here. Errors that are the
user's to fix (:class:`~mcsim.errors.MCSimError`) print as one line and exit 1, without a
traceback; Ctrl-C exits 130. Commands write their results folders atomically.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mcsim import __version__
from mcsim.errors import MCSimError

# Sub-command groups registered by the modules that implement them: "module:function".
COMMAND_MODULES = (
    "mcsim.app.runner:register",
    "mcsim.app.experiments:register",
    "generators.sensegen.cli:register",
)


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
    from mcsim.data.outputs import atomic_output_dir
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    try:
        return int(args.func(args) or 0)
    except MCSimError as exc:
        print(f"mcsim: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mcsim: interrupted; nothing was written", file=sys.stderr)
        return 130
