"""Runner throughput: a 40-job campus sweep on 1 and 2 local workers and on Ray, and resumption.

Prints, each measured in this run (timings are printed, never asserted):

* 2 local workers against 1 (target: at least 1.7x);
* the ray backend's overhead per job against 2 local workers (a local Ray instance);
* a run killed (SIGKILL) when half its jobs are done, then resumed: the resumed run's wall
  time against an uninterrupted run's (target: at most 60 %).

    python benchmarks/bench_runner.py [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POOLS = (
    "tasks=[{count: 20, copies: 38}, {count: 30, copies: 65}, {count: 40, copies: 78}, "
    "{count: 50, copies: 100}, {count: 60, copies: 120}]"
)
# 5 variants x 8 repetitions = 40 jobs, all seven policies each
SWEEP = ["--set", "sensor=none", "--set", "trace.synthetic.days=35", "--repetitions", "8",
         "--sweep", POOLS]  # fmt: skip


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mcsim", "run", "campus", "--out", str(out), "--quiet",
            *SWEEP, *extra]  # fmt: skip


def _timed(out: Path, env: dict[str, str], *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(_command(out, *extra), check=True, env=env, cwd=out.parent)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-ray", action="store_true", help="no Ray measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "MCSIM_CACHE_DIR": str(root / "cache"),
               "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # fmt: skip
        _timed(root / "warm", env)  # mine once: every later run reads the cache
        one = _timed(root / "one", env, "--workers", "1")
        two = _timed(root / "two", env, "--workers", "2")
        print(f"40-job sweep: 1 worker {one:.1f} s, 2 workers {two:.1f} s: "
              f"speed-up {one / two:.2f}x (target >= 1.7x)")  # fmt: skip
        if not args.skip_ray:
            ray = _timed(root / "ray", env, "--backend", "ray", "--workers", "2")
            print(f"ray backend (local instance, 2 CPUs): {ray:.1f} s, overhead per job "
                  f"against 2 local workers {(ray - two) / 40 * 1000:+.0f} ms")  # fmt: skip
        out = root / "killed"
        run = subprocess.Popen(_command(out, "--workers", "1"), env=env, cwd=root)
        jobs = root / ".killed.jobs"
        while len(list(jobs.glob("*.metrics.parquet"))) < 20 and run.poll() is None:
            time.sleep(0.05)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        resumed = _timed(out, env, "--workers", "1")
        print(f"resume after a kill at 50 %: {resumed:.1f} s = {resumed / one:.0%} of an "
              f"uninterrupted run ({one:.1f} s; target <= 60 %)")  # fmt: skip


if __name__ == "__main__":
    main()
