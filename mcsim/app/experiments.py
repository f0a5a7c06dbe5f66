"""The paper's allocation experiments (Wang et al. 2018, Figs. 5-8) on the synthetic campus.

``mcsim allocate --out DIR`` runs them: a synthetic campus trace (the ``wtd`` preset, 68 users
and 124 APs, or ``wtd-extended``, 168 users and 284 APs) is cut into daily cycles; the first
30 days train (patterns mined at minsup 0.5, p(loc | u)), the following days are held out.
Every policy then allocates whole task pools at once (load 0, each user's last known
location = its last location in training), in three studies:

* ``pool`` (Figs. 5, 6): task pools 20-38, 30-65, 40-78, 65-150, 65-200 (tasks-measurements),
  g = 6;
* ``workload`` (Fig. 7): 40-78 with g = 4, 6, 8;
* ``efficiency`` (Fig. 8): the pools of ``pool`` with g = 8.

Each setting is repeated with fresh task pools (10 by default, seeded through
``numpy.random.SeedSequence``; every policy sees the same pools). Outputs, written atomically:
``metrics.csv`` (one row per study, setting, repetition and policy), ``summary.csv`` (means
over repetitions), ``fig5_tasks_per_user.png`` ... ``fig8_iterations.png`` and
``manifest.json``.

Decisions: "at most 3 measurements per task" cannot hold for 65-200 (65 x 3 = 195), so a pool
whose total needs more allows ceil(total / tasks) copies per task (4 for 65-200). Task
locations are drawn uniformly from the locations seen in training.

Metrics per allocation (``pairs`` = assigned (user, task) copies):

* ``tasks_per_user``: pairs / recruited users (the paper's cost proxy);
* ``coverage``: mean claimed coverage per pair (matched pattern support, or p(loc | u));
* ``coverage_sum``: the claims summed over pairs (the paper's objective, sum of Cov: a policy
  that places fewer copies can have a higher mean but a lower sum);
* ``coverage_empirical``: the share of pairs whose user visits the task's location on a
  held-out day, averaged over the held-out days (a user absent that day counts as a miss);
* ``coverage_empirical_active``: the same share over the (day, pair)s whose user is active
  that day, the event the claims are conditioned on (support counts valid cycles only);
* ``completion_ratio``: the paper's Table 3 measure on the same days: per recruited user,
  completed / assigned, mean over users, averaged over the held-out days;
* ``iterations``, ``alloc_seconds`` (the policy's own time), ``unassigned`` (copies never
  placed), ``assigned``, ``users_recruited``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from generators.mobility import CampusConfig, SyntheticCampus, generate_campus
from mcsim.data.outputs import atomic_output_dir
from mcsim.errors import MCSimError
from mcsim.mining.cycles import CycleTable, cut_cycles, split_cycles
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase, mine_patterns
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.metrics import completion_ratios, mean_claim
from mcsim.platform.tasks import TaskBatch, generate_task_pool
from policies import make_policy

POLICIES = ("MLP", "MDP", "IU1", "IU2", "IGA", "BGA", "NA")
POOLS = ((20, 38), (30, 65), (40, 78), (65, 150), (65, 200))  # (tasks, measurements)
WORKLOAD_POOL = (40, 78)
WORKLOAD_G = (4, 6, 8)
POOL_G = 6  # g of the task-pool study (the paper's default)
EFFICIENCY_G = 8  # g of the efficiency study (the paper's Fig. 8)
MAX_COPIES = 3  # the paper's cap on measurements per task
MINSUP = 0.5
TRAIN_DAYS = 30  # [days] mined, as in the paper
TEST_DAYS = 10  # [days] held out for the empirical coverage and completion ratio
PRESETS = ("wtd", "wtd-extended")
METRICS = (
    "tasks_per_user",
    "coverage",
    "coverage_sum",
    "coverage_empirical",
    "coverage_empirical_active",
    "completion_ratio",
    "iterations",
    "alloc_seconds",
    "unassigned",
    "assigned",
    "users_recruited",
)


@dataclass(frozen=True, eq=False)
class World:
    """What the platform learned from the training days, and the held-out days to score on.

    Attributes:
        train: cycles of the training days (mined; the location model's counts).
        test: cycles of the held-out days.
        patterns: repetitive patterns of ``train`` at the mining minsup.
        location_model: p(loc | u) of ``train``.
        locations: AP coordinates.
        test_days: calendar cycle indices of the held-out days.
    """

    train: CycleTable
    test: CycleTable
    patterns: PatternBase
    location_model: LocationModel
    locations: Locations
    test_days: np.ndarray

    @cached_property
    def last_location(self) -> np.ndarray:
        """Each user's last location in training (-1 for users never seen)."""
        last = np.full(len(self.train.users), -1, dtype=np.int32)
        if len(self.train):
            # Cycles are sorted by user then cycle, so a user's last element comes last.
            last[self.train.user] = self.train.location[self.train.offsets[1:] - 1]
        return last

    @cached_property
    def seen_locations(self) -> np.ndarray:
        """Location codes visited in training: where tasks may be published."""
        return np.unique(self.train.location)

    def state(self, g: int) -> PlatformState:
        """The platform before any allocation: no load, nothing held."""
        n = len(self.train.users)
        return PlatformState(
            patterns=self.patterns,
            location_model=self.location_model,
            locations=self.locations,
            g=g,
            load=np.zeros(n, dtype=np.int32),
            last_location=self.last_location,
        )

    @cached_property
    def _visits(self) -> np.ndarray:
        """Sorted keys (day, user, location) of every held-out visit."""
        test = self.test
        day = np.searchsorted(self.test_days, test.cycle)
        element_day = np.repeat(day, np.diff(test.offsets))
        element_user = np.repeat(test.user, np.diff(test.offsets)).astype(np.int64)
        return np.unique(self._key(element_day, element_user, test.location))

    def _key(self, day: np.ndarray, user: np.ndarray, location: np.ndarray) -> np.ndarray:
        n_users, n_locations = len(self.train.users), len(self.train.locations)
        return (np.asarray(day, np.int64) * n_users + user) * n_locations + location

    @cached_property
    def _active(self) -> np.ndarray:
        """Sorted keys (day, user) of every held-out valid cycle."""
        day = np.searchsorted(self.test_days, self.test.cycle)
        return np.unique(day.astype(np.int64) * len(self.train.users) + self.test.user)

    def visited(self, user: np.ndarray, location: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """held-out days x pairs: (the pair's user passed its location, the user was active)."""
        days = np.arange(len(self.test_days))[:, None]
        user = np.asarray(user, np.int64)[None, :]
        keys = self._key(days, user, np.asarray(location, np.int64)[None, :])
        return (
            np.isin(keys, self._visits),
            np.isin(days * len(self.train.users) + user, self._active),
        )


def build_world(
    campus: SyntheticCampus,
    *,
    train_days: int = TRAIN_DAYS,
    minsup: float = MINSUP,
    workers: int | None = 1,
) -> World:
    """Cut the campus trace into cycles, split train / held-out, mine and fit p(loc | u)."""
    trace = campus.trace
    cycles = cut_cycles(trace, campus.cycle_options())
    train, test = split_cycles(cycles, train_cycles=train_days)
    boundary = int(cycles.cycle.min()) + train_days
    n_test = campus.config.n_days - train_days
    return World(
        train=train,
        test=test,
        patterns=mine_patterns(train, minsup, workers=workers),
        location_model=LocationModel.from_cycles(train),
        locations=Locations.from_trace(trace),
        test_days=np.arange(boundary, boundary + n_test),
    )


@dataclass(frozen=True)
class Setting:
    """One experimental setting: a study, a task pool and a workload cap."""

    study: str  # "pool", "workload" or "efficiency"
    n_tasks: int
    n_measurements: int
    g: int

    @property
    def max_copies(self) -> int:
        """The paper's cap of 3, raised only where the pool cannot fit under it (65-200)."""
        return max(MAX_COPIES, math.ceil(self.n_measurements / self.n_tasks))

    @property
    def pool(self) -> str:
        return f"{self.n_tasks}-{self.n_measurements}"


def settings() -> list[Setting]:
    """Every setting of the three studies, in a fixed order (it defines the seeds)."""
    return (
        [Setting("pool", m, c, POOL_G) for m, c in POOLS]
        + [Setting("workload", *WORKLOAD_POOL, g) for g in WORKLOAD_G]
        + [Setting("efficiency", m, c, EFFICIENCY_G) for m, c in POOLS]
    )


def evaluate(assignment: Assignment, tasks: TaskBatch, world: World) -> dict[str, float]:
    """The metrics of one allocation (see the module docstring)."""
    user = assignment.user
    location = tasks.location[pd.Index(tasks.id).get_indexer(assignment.task)]
    recruited = len(np.unique(user))
    empirical = empirical_active = completion = float("nan")
    if len(user) and len(world.test_days):
        visited, active = world.visited(user, location)
        empirical = float(visited.mean())
        if active.any():
            empirical_active = float(visited[active].mean())
        completion = float(np.mean([completion_ratios(user, day)[0] for day in visited]))
    return {
        "tasks_per_user": len(user) / recruited if recruited else float("nan"),
        "coverage": mean_claim(assignment.coverage),
        "coverage_sum": float(np.nansum(assignment.coverage)),
        "coverage_empirical": empirical,
        "coverage_empirical_active": empirical_active,
        "completion_ratio": completion,
        "iterations": assignment.iterations,
        "alloc_seconds": assignment.seconds,
        "unassigned": sum(assignment.unassigned.values()),
        "assigned": len(user),
        "users_recruited": recruited,
    }


def run_experiments(
    preset: str = "wtd",
    *,
    repetitions: int = 10,
    seed: int = 0,
    policies: tuple[str, ...] = POLICIES,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every setting ``repetitions`` times for every policy; one row per allocation.

    The campus is generated once from ``seed``; the task pool of (setting i, repetition r)
    comes from ``SeedSequence(seed).spawn(...)[i].spawn(...)[r]``, shared by all policies.
    """
    if preset not in PRESETS:
        raise MCSimError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if repetitions < 1:
        raise MCSimError(f"--repetitions must be >= 1, got {repetitions}")
    config = CampusConfig.preset(preset, n_days=TRAIN_DAYS + TEST_DAYS)
    world = build_world(generate_campus(config, seed=seed))
    made = {name: make_policy(name) for name in policies}
    plan = settings()
    streams = np.random.SeedSequence(seed).spawn(len(plan))
    rows = []
    with tqdm(
        total=len(plan) * repetitions * len(made),
        unit="allocation",
        desc=f"allocate ({preset})",
        disable=not progress,
    ) as bar:
        for setting, stream in zip(plan, streams, strict=True):
            state = world.state(setting.g)
            for repetition, child in enumerate(stream.spawn(repetitions)):
                tasks = generate_task_pool(
                    n_tasks=setting.n_tasks,
                    total_copies=setting.n_measurements,
                    max_copies=setting.max_copies,
                    locations=world.seen_locations,
                    rng=np.random.default_rng(child),
                )
                for name, policy in made.items():
                    result = policy.allocate(tasks, state)
                    rows.append(
                        {
                            "preset": preset,
                            "study": setting.study,
                            "pool": setting.pool,
                            "n_tasks": setting.n_tasks,
                            "n_measurements": setting.n_measurements,
                            "g": setting.g,
                            "repetition": repetition,
                            "policy": name,
                            **evaluate(result, tasks, world),
                        }
                    )
                    bar.update()
    return pd.DataFrame(rows)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Means over repetitions per (preset, study, pool, g, policy), policies in paper order."""
    keys = ["preset", "study", "pool", "n_tasks", "n_measurements", "g", "policy"]
    summary = metrics.groupby(keys, sort=False)[list(METRICS)].mean().reset_index()
    summary["repetitions"] = metrics.groupby(keys, sort=False).size().to_numpy()
    return summary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``allocate`` sub-command to the ``mcsim`` parser."""
    allocate = subparsers.add_parser(
        "allocate",
        help="reproduce the paper's allocation experiments (Figs. 5-8) on a synthetic campus",
        description="Mine a synthetic campus (30 training days, minsup 0.5), let every "
        "policy allocate the paper's task pools, and write DIR/metrics.csv, "
        "DIR/summary.csv and the Fig. 5-8 style plots.",
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
    allocate.set_defaults(func=run_allocate)


def run_allocate(args: argparse.Namespace) -> int:
    """The ``allocate`` command: run, then write tables, plots and manifest atomically."""
    from mcsim.app.plots import allocation_figures

    with atomic_output_dir(args.out, overwrite=args.overwrite) as work:
        metrics = run_experiments(
            args.preset, repetitions=args.repetitions, seed=args.seed, progress=not args.quiet
        )
        summary = summarise(metrics)
        metrics.to_csv(work / "metrics.csv", index=False)
        summary.to_csv(work / "summary.csv", index=False)
        figures = allocation_figures(summary, work)
        manifest = {
            "preset": args.preset,
            "repetitions": args.repetitions,
            "seed": args.seed,
            "policies": list(POLICIES),
            "minsup": MINSUP,
            "train_days": TRAIN_DAYS,
            "test_days": TEST_DAYS,
            "figures": [p.name for p in figures],
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"wrote {Path(args.out) / 'metrics.csv'} ({len(metrics)} rows), summary.csv and "
        f"{len(figures)} figures"
    )
    return 0
