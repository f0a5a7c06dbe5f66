"""Runner throughput: a 40-job campus sweep on 1 and 2 local workers and on Ray, and resumption.

The sweep is the campus as shipped (SenseGen phones, about 0.3 s a job since SenseGen runs in
numpy, 0.8 s with torch, 3-4 s before a job generated all its policies' readings in one
call): 5 task-pool variants x 8
repetitions, all seven policies each. Its jobs are real ones on
purpose: with ``sensor: none`` a job takes 0.1-0.2 s, and the ratios below would measure the
fixed start-up of a run (imports, preparation, starting workers: 2-3 s) rather than how the
runner spreads and resumes jobs.

Every measurement is taken ``--rounds`` times (default 2), interleaved, and the best of each
kind is compared: on this project's shared 2-core machine the same run's wall time varied by
up to a third from one quarter of an hour to the next. Prints each round, then (timings are
printed, never asserted), with the load average before and after (above ~0.5, other work
competes for the 2 cores):

* 2 local workers against 1 (target: at least 1.7x), beside the ceiling this machine puts on
  that ratio: the same campus jobs run in one process, then in two processes at once (each
  timing its own jobs), and the ratio of their throughputs is the most 2 workers can gain;
* the ray backend's overhead per job against 2 local workers (a local Ray instance);
* a run killed (SIGKILL) when half its jobs are done, then resumed: the resumed run's wall
  time against an uninterrupted run's (target: at most 60 %).

    python benchmarks/bench_runner.py [--skip-ray] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from generators.sensegen import THREADS_VARIABLE

REPO = Path(__file__).resolve().parents[1]
POOLS = (
    "tasks=[{count: 20, copies: 38}, {count: 30, copies: 65}, {count: 40, copies: 78}, "
    "{count: 50, copies: 100}, {count: 60, copies: 120}]"
)
# 5 variants x 8 repetitions = 40 jobs, all seven policies each, SenseGen phones
SWEEP = ["--set", "trace.synthetic.days=35", "--repetitions", "8", "--sweep", POOLS]
JOBS = 40


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
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "MCSIM_CACHE_DIR": str(root / "cache"),
               "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # fmt: skip
        print(f"load average before: {_load()}")
        # Mine once (5 jobs without phones): every later run reads the mining cache.
        _timed(root / "warm", env, "--repetitions", "1", "--set", "sensor=none")
        times: dict[str, list[float]] = defaultdict(list)
        for n in range(args.rounds):
            times["1 worker"].append(_timed(root / f"one{n}", env, "--workers", "1"))
            times["2 workers"].append(_timed(root / f"two{n}", env, "--workers", "2"))
            if not args.skip_ray:
                on_ray = ("--backend", "ray", "--workers", "2")
                times["ray"].append(_timed(root / f"ray{n}", env, *on_ray))
            times["resumed"].append(_killed_and_resumed(root / f"killed{n}", env))
            print(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items())
                  + f" (load average {_load()})")  # fmt: skip
            times["ceiling"].append(-_ceiling())  # the best is the highest ratio
        best = {key: min(values) for key, values in times.items()}
        one, two = best["1 worker"], best["2 workers"]
        print(
            f"{JOBS}-job sweep, best of {args.rounds}: 1 worker {one:.1f} s, 2 workers "
            f"{two:.1f} s: speed-up {one / two:.2f}x (target >= 1.7x; the same jobs in 2 "
            f"processes at once run {-best['ceiling']:.2f}x one process)"
        )
        if not args.skip_ray:
            ray = best["ray"]
            print(f"ray backend (local instance, 2 CPUs): {ray:.1f} s, overhead per job "
                  f"against 2 local workers {(ray - two) / JOBS * 1000:+.0f} ms")  # fmt: skip
        resumed = best["resumed"]
        print(f"resume after a kill at 50 %: {resumed:.1f} s = {resumed / one:.0%} of an "
              f"uninterrupted run ({one:.1f} s; target <= 60 %)")  # fmt: skip
        print(f"load average after: {_load()}")


def _killed_and_resumed(out: Path, env: dict[str, str]) -> float:
    """A 1-worker run SIGKILLed once half its jobs are done; the wall time of its resumption."""
    run = subprocess.Popen(_command(out, "--workers", "1"), env=env, cwd=out.parent)
    jobs = out.parent / f".{out.name}.jobs"
    while len(list(jobs.glob("*.metrics.parquet"))) < JOBS // 2 and run.poll() is None:
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    return _timed(out, env, "--workers", "1")


def _jobs(first: int, repeats: int) -> float:
    """Seconds this process takes for campus jobs ``first .. first + repeats`` (SenseGen
    phones, all policies, as the sweep runs them), preparation and a first job excluded."""
    from mcsim.app.jobs import run_job
    from mcsim.app.pipeline import PreparedCache, default_cache_dir
    from mcsim.app.scenario import load_scenario, shipped_scenario

    variant = load_scenario(shipped_scenario("campus"), {"trace.synthetic.days": 35}).variants[0]
    cache = PreparedCache()
    run_job(variant, first + repeats, cache, default_cache_dir())
    started = time.perf_counter()
    for repetition in range(first, first + repeats):
        run_job(variant, repetition, cache, default_cache_dir())
    return time.perf_counter() - started


def _ceiling(repeats: int = 4) -> float:
    """The most 2 workers can gain on these jobs here: the same jobs' throughput in 2
    processes at once over 1 process alone (each process times its own jobs). The one alone
    computes on every core, as a 1-worker run does; the two at once on one core each, as
    the runner's 2 workers do (``_start_worker``: SenseGen's threads and numpy's BLAS)."""
    code = ("import sys; sys.path.insert(0, {repo!r}); from benchmarks.bench_runner import "
            "_jobs; print(_jobs({first}, {n}))")  # fmt: skip

    def command(first: int) -> list[str]:
        return [sys.executable, "-c", code.format(repo=str(REPO), first=first, n=repeats)]

    alone = float(subprocess.run(command(0), check=True, capture_output=True, text=True).stdout)
    share = {**os.environ, THREADS_VARIABLE: "1", "OPENBLAS_NUM_THREADS": "1"}
    pair = [
        subprocess.Popen(command(0), stdout=subprocess.PIPE, text=True, env=share) for _ in range(2)
    ]
    together = max(float(p.communicate()[0]) for p in pair)
    return 2 * alone / together


def _load() -> str:
    """The 1, 5 and 15-minute load averages (2 cores: above ~0.5 other work competes)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
