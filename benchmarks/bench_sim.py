"""Benchmarks of the SimPy world; prints figures and ratios, asserts nothing about timings.

1. A day's visits per second through :class:`mcsim.sim.World` (no tasks; building the world,
   running the day and building its result with the visit log) against a bare SimPy loop
   with one process per user and one timeout per visit at the same times, measured in the
   same run, and the SimPy events each processes. The bare loop is the least that simulating
   each visit costs, as the world did until it read the visits off the day plan (it then ran
   at 0.8x that loop); the world now costs O(decisions + sensed copies) events, so the ratio
   says how far below that floor it is. Target (set for the per-visit world): ratio >= 0.3.
2. A simulated day of ``scenarios/scale_100k.yaml`` (100,000 users, 10,000 tasks) end to end,
   mining excluded: trace, cycles, knowledge (patterns read from the mining cache, warmed in
   a separate process so that its memory does not count), day, task pool, world, allocation,
   sensing and metrics. Target: under 60 s and 8 GB (peak RSS of this process). The same day
   with SenseGen phones against ``sensor: none``: ``bench_scale_sensing.py``.

Run: ``PYTHONPATH=. python benchmarks/bench_sim.py [--users N] [--visits K] [--skip-scale]``.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

REPO = Path(__file__).resolve().parents[1]
SCALE = REPO / "scenarios" / "scale_100k.yaml"


def _day(n_users: int, visits: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random sorted arrival times [s] (n_users, visits) and locations over one day."""
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.uniform(0, 86_400.0, (n_users, visits)), axis=1)
    location = rng.integers(0, 500, (n_users, visits))
    return arrival, location


def bare_simpy(arrival: np.ndarray) -> tuple[float, int]:
    """(seconds, timeouts) of plain SimPy processes sleeping until each arrival time.

    The cyclic GC is paused here too, as the World pauses it, so the ratio compares the
    per-event work and not the collector.
    """
    gc.disable()
    try:
        return _bare(arrival)
    finally:
        gc.enable()


def _bare(arrival: np.ndarray) -> tuple[float, int]:
    env = simpy.Environment()

    def walker(env: simpy.Environment, times: list[float]) -> Generator[simpy.Event, None, None]:
        for t in times:
            yield env.timeout(t - env.now)

    start = time.perf_counter()
    for row in arrival.tolist():
        env.process(walker(env, row))
    env.run()
    return time.perf_counter() - start, arrival.size


def world_visits(arrival: np.ndarray, location: np.ndarray) -> tuple[float, int, int]:
    """(seconds, visits, SimPy events) of a World replaying the same day with no tasks, its
    result (with the visit log) included."""
    from mcsim.mining.cycles import CycleOptions, CycleTable
    from mcsim.mining.locations import Locations
    from mcsim.mining.patterns import mine_patterns
    from mcsim.platform.tasks import TaskBatch
    from mcsim.sim import DayPlan, Knowledge, World

    n_users, visits = arrival.shape
    user = np.repeat(np.arange(n_users), visits)
    departure = np.minimum(arrival + 60.0, 86_400.0)
    day = DayPlan.build(
        user,
        location.ravel(),
        arrival.ravel(),
        departure.ravel(),
        n_users=n_users,
        length_s=86_400.0,
    )
    users = pd.Index([f"u{i}" for i in range(n_users)])
    locations = pd.Index([f"l{i:03d}" for i in range(500)])
    cycles = CycleTable(
        users,
        locations,
        np.arange(n_users, dtype=np.int32),
        np.zeros(n_users, dtype=np.int64),
        np.arange(n_users + 1, dtype=np.int64) * visits,
        location.ravel().astype(np.int32),
        arrival.ravel().astype(np.float32),
        departure.ravel().astype(np.float32),
        CycleOptions(),
    )
    knowledge = Knowledge.from_training(
        cycles,
        mine_patterns(cycles, 1.0, max_length=1, workers=1),
        Locations(locations, np.full(500, np.nan), np.full(500, np.nan)),
    )
    start = time.perf_counter()
    world = World(day, TaskBatch.empty(), knowledge)
    if world.run_until_decision() is not None:  # no tasks: the day runs straight through
        raise RuntimeError("a world without tasks asked for a decision")
    visits = world.result().visits
    seconds = time.perf_counter() - start
    return seconds, visits, _events_processed(world.env)


def _events_processed(env: simpy.Environment) -> int:
    """Events an environment has queued (SimPy numbers them; all are processed once it has
    run out of events)."""
    return next(env._eid)


def warm_cache() -> None:
    """Mine the scale scenario once (cached), in this process."""
    from mcsim.app.pipeline import default_cache_dir, prepare
    from mcsim.app.scenario import load_scenario

    prepare(load_scenario(SCALE).variants[0].scenario, cache_dir=default_cache_dir(), workers=2)


def scale_day() -> None:
    """Time each stage of one 100,000-user day end to end (mining read from the cache)."""
    from mcsim.app.pipeline import Pipeline, default_cache_dir
    from mcsim.app.scenario import load_scenario
    from mcsim.platform.metrics import day_metrics
    from mcsim.sim import simulate
    from policies import make_policy

    subprocess.run([sys.executable, __file__, "--warm-cache"], check=True, cwd=REPO)
    stages: dict[str, float] = {}
    t0 = start = time.perf_counter()
    scenario = load_scenario(SCALE).variants[0].scenario
    pipeline = Pipeline(scenario, cache_dir=default_cache_dir())
    setting = pipeline.prepared
    stages["trace, cycles, knowledge"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    day, tasks = pipeline.day(0), pipeline.tasks(0)
    stages["day and task pool"] = time.perf_counter() - t0
    spec = scenario.policies[0]
    t0 = time.perf_counter()
    world = pipeline.world(0, day=day, tasks=tasks)
    stages["world (plan index, phones)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = simulate(world, make_policy(spec.name, **spec.params))
    alloc = float(result.decisions["seconds"].sum())
    stages[f"simulate: allocation ({spec.display})"] = alloc
    stages["simulate: SimPy day, sensing"] = time.perf_counter() - t0 - alloc
    t0 = time.perf_counter()
    metrics = day_metrics(result, setting.test_model)
    stages["metrics"] = time.perf_counter() - t0
    total = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"\n100,000-user day ({len(day):,} visits, {len(tasks):,} tasks, "
        f"{metrics['assigned']:,} copies assigned, {metrics['readings']:,} readings):"
    )
    for name, seconds in stages.items():
        print(f"  {name:<40} {seconds:8.2f} s")
    print(
        f"  {'total (mining excluded)':<40} {total:8.2f} s   target < 60 s: "
        f"{total / 60:.2f}x of the budget"
    )
    print(f"  {'peak RSS':<40} {peak_gb:8.2f} GB  target < 8 GB: {peak_gb / 8:.2f}x of the budget")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000, help="processes in the ratio test")
    parser.add_argument("--visits", type=int, default=10, help="visits per user")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 100,000-user day")
    parser.add_argument("--warm-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm_cache:
        warm_cache()
        return
    arrival, location = _day(args.users, args.visits)
    bare_s, bare_n = bare_simpy(arrival)
    world_s, world_n, world_events = world_visits(arrival, location)
    bare_rate, world_rate = bare_n / bare_s, world_n / world_s
    print(
        f"bare SimPy loop : {bare_n:,} visits in {bare_s:.2f} s = {bare_rate:,.0f} visits/s "
        f"({bare_n:,} timeouts, one per visit)"
    )
    print(
        f"World (no tasks): {world_n:,} visits in {world_s:.2f} s = {world_rate:,.0f} visits/s "
        f"({world_events:,} SimPy events; building the world and its result included)"
    )
    print(f"ratio World / bare = {world_rate / bare_rate:.2f} (target >= 0.3)")
    if not args.skip_scale:
        scale_day()


if __name__ == "__main__":
    main()
