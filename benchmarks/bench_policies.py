"""Allocation-policy speed: paper scale, 10,000 users x 10,000 tasks, and how time grows.

(a) paper scale: the ``wtd-extended`` campus (168 users, 284 APs, patterns mined at minsup 0.5)
    and 200 tasks needing 400 measurements (at most 3 each), g = 6: every policy's median
    allocation time against the 50 ms target;
(b) 10,000 users x 10,000 tasks (20,000 measurements, at most 3 each), g = 6, on a synthetic
    city mined with :func:`mcsim.mining.patterns.mine_patterns`: MLP, MDP, IU1, IU2, BGA and NA
    against 10 s, IGA against 60 s. The same-run reference is the floor of any pattern
    matcher: one vectorised pass that counts, for every pattern, the batch tasks at its
    locations (what the greedy engine's first scoring does, with no greedy loop at all);
(c) growth: the time of every policy as the task pool grows (users fixed) and as the
    population grows (tasks fixed), with the log-log slope between the ends of each sweep.

Time is the policy's own time (``Assignment.seconds``: input validation and the constraint
check are excluded). Timings are printed, never asserted (the machine is shared).

(d) ``--day``: a simulated day of ``scenarios/scale_100k.yaml`` (100,000 users, 10,000 tasks
    published in 9 batches, mining read from the cache) per policy, each driving its own day
    (so loads, held pairs and last locations are the ones that policy produces); prints the
    policy's total allocation seconds over the day's decisions against a 30 s target.

    python benchmarks/bench_policies.py [--quick] [--seed 0] [--workers N]
    python benchmarks/bench_policies.py --day [--policies NA MDP ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from generators.mobility import CampusConfig, SyntheticCampus, generate_campus
from mcsim.mining.cycles import cut_cycles
from mcsim.mining.locations import Locations
from mcsim.mining.patterns import mine_patterns
from mcsim.platform.allocation import PlatformState
from mcsim.platform.tasks import TaskBatch, generate_task_pool
from policies import BUILTIN_POLICIES, make_policy

POLICIES = BUILTIN_POLICIES
PAPER_TARGET_S = 0.050
DAY_TARGET_S = 30.0
SCALE = Path(__file__).resolve().parents[1] / "scenarios" / "scale_100k.yaml"
LARGE_TARGET_S = {"IGA": 60.0}  # every other policy: 10 s
DEFAULT_LARGE_TARGET_S = 10.0
G = 6


class World:
    """A mined campus: the platform's knowledge of every observed day, as a policy sees it."""

    def __init__(self, campus: SyntheticCampus, workers: int | None = 1) -> None:
        from mcsim.sim import Knowledge

        cycles = cut_cycles(campus.trace, campus.cycle_options())
        self.patterns = mine_patterns(cycles, 0.5, workers=workers)
        self.knowledge = Knowledge.from_training(
            cycles, self.patterns, Locations.from_trace(campus.trace)
        )
        self.n_users = len(cycles.users)
        self.seen_locations = np.unique(cycles.location)

    def state(self, g: int) -> PlatformState:
        return self.knowledge.initial_state(g)


def build_world(campus: SyntheticCampus, workers: int | None = 1) -> World:
    return World(campus, workers)


def city(n_users: int, seed: int, workers: int | None) -> World:
    """A mined synthetic city of ``n_users`` (2,000 APs; smaller populations are prefixes of
    larger ones, since the campus draws every user from its own counter-based stream)."""
    config = CampusConfig.preset("city", n_users=n_users, n_aps=2_000, n_days=30)
    return build_world(generate_campus(config, seed=seed), workers=workers)


def pool(world: World, n_tasks: int, seed: int) -> TaskBatch:
    """``n_tasks`` tasks needing 2 measurements each on average (at most 3)."""
    return generate_task_pool(
        n_tasks=n_tasks,
        total_copies=2 * n_tasks,
        max_copies=3,
        locations=world.seen_locations,
        rng=np.random.default_rng(seed),
    )


def policy_seconds(name: str, tasks: TaskBatch, state: PlatformState, repeats: int) -> float:
    """Median of the policy's own time over ``repeats`` runs."""
    policy = make_policy(name)
    return statistics.median(policy.allocate(tasks, state).seconds for _ in range(repeats))


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_pass(tasks: TaskBatch, state: PlatformState) -> Callable[[], np.ndarray]:
    """One vectorised pass over all patterns: tasks at each pattern's locations."""
    base = state.patterns
    n_locations = len(base.locations)

    def work() -> np.ndarray:
        per_location = np.bincount(tasks.location, minlength=n_locations)
        return np.add.reduceat(per_location[base.items], base.offsets[:-1])

    return work


def paper_scale(seed: int, repeats: int) -> None:
    config = CampusConfig.preset("wtd-extended", n_days=30)
    world = build_world(generate_campus(config, seed=seed))
    tasks = generate_task_pool(
        n_tasks=200,
        total_copies=400,
        max_copies=3,
        locations=world.seen_locations,
        rng=np.random.default_rng(seed),
    )
    state = world.state(G)
    print(
        f"(a) paper scale: {world.n_users} users, {len(world.patterns):,} patterns, "
        f"{len(tasks)} tasks / {tasks.total_copies} measurements, g = {G}, "
        f"median of {repeats}"
    )
    print(f"    {'policy':<7}{'ms':>9}{'target ms':>11}{'ratio':>8}")
    for name in POLICIES:
        seconds = policy_seconds(name, tasks, state, repeats)
        print(
            f"    {name:<7}{seconds * 1e3:>9.2f}{PAPER_TARGET_S * 1e3:>11.0f}"
            f"{seconds / PAPER_TARGET_S:>8.3f}"
        )


def large_scale(n_users: int, n_tasks: int, seed: int, workers: int | None) -> World:
    start = time.perf_counter()
    world = city(n_users, seed, workers)
    built = time.perf_counter() - start
    tasks = pool(world, n_tasks, seed)
    state = world.state(G)
    floor = median_seconds(floor_pass(tasks, state), 5)
    print(
        f"\n(b) {n_users:,} users x {n_tasks:,} tasks ({tasks.total_copies:,} measurements), "
        f"g = {G}: {len(world.patterns):,} patterns mined in the world build "
        f"({built:.1f} s)"
    )
    print(f"    reference (one vectorised pass over all patterns): {floor * 1e3:.1f} ms")
    print(
        f"    {'policy':<7}{'s':>8}{'target s':>10}{'ratio':>8}{'x floor':>10}{'placed':>9}"
        f"{'iterations':>12}"
    )
    for name in POLICIES:
        result = make_policy(name).allocate(tasks, state)
        target = LARGE_TARGET_S.get(name, DEFAULT_LARGE_TARGET_S)
        print(
            f"    {name:<7}{result.seconds:>8.2f}{target:>10.0f}"
            f"{result.seconds / target:>8.3f}{result.seconds / floor:>10.0f}"
            f"{len(result):>9,}{result.iterations:>12,}"
        )
    return world


def growth(
    world: World, task_sizes: list[int], user_sizes: list[int], seed: int, workers: int | None
) -> None:
    n_users = world.n_users
    rows = {}
    state = world.state(G)
    for n_tasks in task_sizes:
        tasks = pool(world, n_tasks, seed)
        rows[("tasks", n_tasks)] = {
            name: policy_seconds(name, tasks, state, 1) for name in POLICIES
        }
    n_tasks = task_sizes[-1]
    for users in user_sizes:
        smaller = world if users == n_users else city(users, seed, workers)
        tasks = pool(smaller, n_tasks, seed)
        rows[("users", users)] = {
            name: policy_seconds(name, tasks, smaller.state(G), 1) for name in POLICIES
        }
    print(
        f"\n(c) growth [s]: tasks sweep at {n_users:,} users, users sweep at {n_tasks:,} "
        f"tasks; slope = d log(time) / d log(size) between the ends"
    )
    print("    " + f"{'sweep':<8}{'size':>8}" + "".join(f"{name:>8}" for name in POLICIES))
    for sweep, sizes in (("tasks", task_sizes), ("users", user_sizes)):
        for size in sizes:
            print(
                "    "
                + f"{sweep:<8}{size:>8,}"
                + "".join(f"{rows[(sweep, size)][name]:>8.3f}" for name in POLICIES)
            )
        lo, hi = rows[(sweep, sizes[0])], rows[(sweep, sizes[-1])]
        ratio = np.log(sizes[-1] / sizes[0])
        print(
            "    "
            + f"{sweep + ' slope':<16}"
            + "".join(f"{np.log(hi[name] / lo[name]) / ratio:>8.2f}" for name in POLICIES)
        )


def scale_day(names: Sequence[str], workers: int) -> None:
    """Allocation seconds of each policy over its own simulated 100,000-user day."""
    from mcsim.app.pipeline import Pipeline, default_cache_dir
    from mcsim.app.scenario import load_scenario
    from mcsim.sim import World, WorldOptions, simulate

    scenario = load_scenario(SCALE).variants[0].scenario
    pipeline = Pipeline(scenario, cache_dir=default_cache_dir(), workers=workers)
    setting = pipeline.prepared
    day, tasks = pipeline.day(0), pipeline.tasks(0)
    patterns = setting.knowledge.patterns
    print(
        f"(d) one day of {SCALE.name}: {len(patterns.users):,} users, {len(patterns):,} "
        f"patterns, {len(tasks):,} tasks ({tasks.total_copies:,} measurements), "
        f"g = {scenario.g}"
    )
    print(
        f"    {'policy':<7}{'decisions':>10}{'alloc s':>9}{'max s':>8}{'target s':>10}"
        f"{'ratio':>8}{'assigned':>10}"
    )
    for name in names:
        world = World(day, tasks, setting.knowledge, WorldOptions(g=scenario.g))
        decisions = simulate(world, make_policy(name)).decisions
        seconds = float(decisions["seconds"].sum())
        print(
            f"    {name:<7}{len(decisions):>10}{seconds:>9.2f}"
            f"{float(decisions['seconds'].max()):>8.2f}{DAY_TARGET_S:>10.0f}"
            f"{seconds / DAY_TARGET_S:>8.3f}{int(decisions['assigned'].sum()):>10,}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="mining processes")
    parser.add_argument(
        "--day", action="store_true", help="only (d): each policy over a simulated scale_100k day"
    )
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    args = parser.parse_args()
    if args.day:
        scale_day(args.policies, args.workers or 2)
        return
    n = 2_000 if args.quick else 10_000
    sweep = [n // 8, n // 4, n // 2, n] if not args.quick else [n // 4, n // 2, n]
    paper_scale(args.seed, repeats=5 if args.quick else 20)
    world = large_scale(n, n, args.seed, args.workers)
    growth(world, sweep, sweep, args.seed, args.workers)


if __name__ == "__main__":
    main()
