"""Throughput of the synthetic mobility generator against its targets and a numpy floor.

Target (from the project brief): 100,000 users x 30 days in under 60 s and 4 GB on 2 cores.
The same run also times ``rng.random`` drawing as many variates as the generator consumes
(``DAY_VARIATES`` per user-day), the floor any generator that draws its randomness with numpy pays;
the ratio says how much the routine logic costs on top. Nothing is asserted: timings depend
on the machine.

    python benchmarks/bench_mobility.py [--users 100000] [--days 30] [--preset city] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace

import numpy as np

from generators.mobility import DAY_VARIATES, CampusConfig, generate_campus

TARGET_S = 60.0  # [s] for 100,000 users x 30 days
TARGET_BYTES = 4 * 1024**3  # [B]


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--preset", default="city", choices=CampusConfig.PRESETS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    config = replace(CampusConfig.preset(args.preset), n_users=args.users, n_days=args.days)
    rss_before = _peak_rss_bytes()
    t0 = time.perf_counter()
    campus = generate_campus(config, seed=args.seed)
    t_layout = time.perf_counter() - t0
    trace = campus.trace
    elapsed = time.perf_counter() - t0
    peak = _peak_rss_bytes()
    rows = len(trace)

    n_variates = args.users * (args.days + 2) * DAY_VARIATES
    rng = np.random.default_rng(args.seed)
    t1 = time.perf_counter()
    for start in range(0, n_variates, 10_000_000):  # in blocks, to keep the floor's memory low
        rng.random(min(10_000_000, n_variates - start))
    floor = time.perf_counter() - t1

    scale = args.users * args.days / (100_000 * 30)  # the targets scale with user-days
    print(
        f"preset {args.preset}: {args.users:,} users x {args.days} days, "
        f"{config.n_aps:,} APs, seed {args.seed}"
    )
    print(f"rows (visits)          {rows:,}  ({rows / (args.users * args.days):.2f} per user-day)")
    print(f"layout + routines      {t_layout:8.2f} s")
    print(
        f"total generation       {elapsed:8.2f} s   target {TARGET_S * scale:6.1f} s   "
        f"ratio {elapsed / (TARGET_S * scale):.2f}"
    )
    print(
        f"peak RSS (process)     {peak / 1024**3:8.2f} GB  target {TARGET_BYTES / 1024**3:6.1f} GB"
        f"   ratio {peak / TARGET_BYTES:.2f}   (before: {rss_before / 1024**3:.2f} GB)"
    )
    print(f"trace frame in memory  {trace.frame.memory_usage(deep=True).sum() / 1024**2:8.1f} MB")
    print(
        f"numpy floor            {floor:8.2f} s   (rng.random of {n_variates:,} variates)   "
        f"generator / floor {elapsed / floor:.1f}x"
    )


if __name__ == "__main__":
    main()
