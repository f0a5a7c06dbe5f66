"""The one pipeline: from a validated scenario to the days, task pools and worlds that run.

``mcsim run``, the Gymnasium env and the paper's allocation experiments all go through
:class:`Pipeline`, so a day, a task pool or a phone seed is the same object whichever of them
asks (ARCHITECTURE.md, "Data flow"):

1. **Preparation** (:func:`prepare`, once per distinct trace/cycles/mining/split/mobility
   setting): build or read the trace, cut it into cycles, split train/test, mine the training
   cycles (cached by content hash on disk), set up the mobility source and what the platform
   knows (:class:`~mcsim.sim.Knowledge`). Variants of a sweep that share those settings share
   one :class:`Prepared`, kept in a bounded, per-process :class:`PreparedCache`.
2. **A job** (variant, repetition): the repetition's day, the variant's task pool and the
   phones' seed, each from its own seed stream (:mod:`mcsim.seeding`).

Randomness (stream keys of :class:`~mcsim.seeding.Stream`): the synthetic trace ``(TRACE,)``;
a virtual population ``(POPULATION,)``; the order of replayed test days ``(DAY_ORDER,)``; a day
``(DAY, repetition)`` (paired across task-pool variants); a task pool
``(TASKS, variant, repetition)`` (the tasks' sensing contexts drawn after the pool, from the
same stream); phones and their users' forgeries ``(SENSOR, variant, repetition)``; who is
dishonest, and how, ``(DISHONEST,)`` (the same users every day).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from generators.mobility import SyntheticCampus, generate_campus
from generators.sensors import load_sensor
from mcsim.app.days import TRAIN_DAY_OFFSET, TRAINING_POOL, DayPool, Split
from mcsim.app.mobility import SourceMaterial, build_source, build_training_days
from mcsim.app.scenario import Scenario
from mcsim.data.geo import GridSpec, StayPointOptions
from mcsim.data.traces import Trace, load_trace
from mcsim.errors import ScenarioError
from mcsim.mining.cycles import (
    CycleOptions,
    CycleTable,
    cut_cycles,
    split_boundary,
    split_cycles,
)
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase, mine_patterns
from mcsim.platform.metrics import HeldOutDays
from mcsim.platform.tasks import TaskBatch, generate_task_pool
from mcsim.platform.validation import ReadingValidator, draw_contexts
from mcsim.seeding import Stream, draw_by_share, rng_for, seed_for
from mcsim.sim import (
    DayPlan,
    Knowledge,
    MobilitySource,
    World,
    WorldOptions,
    day_readings,
    scale_population,
)
from mcsim.sim.receiving import CONDUCTS
from mcsim.sim.sensing import ReadingBuffer, SensorGenerator

PREPARED_KEPT = 4  # preparations kept per process (a 100,000-user one holds ~1 GB)


def default_cache_dir() -> Path:
    """Where mined patterns are cached: ``$MCSIM_CACHE_DIR`` or ``.mcsim-cache/`` (git-ignored)."""
    return Path(os.environ.get("MCSIM_CACHE_DIR", ".mcsim-cache"))


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything a setting's jobs share: the trace, its cycles and the mined knowledge.

    Attributes:
        trace: the trace (synthetic or read from a file).
        train, test: training and held-out cycles (of the virtual population, if any).
        test_days: calendar cycle indices of the held-out days (days nobody moved included).
        knowledge: what the platform learned from ``train``.
        test_model: p(loc | u) of ``test`` (the empirical coverage of a simulated day).
        task_locations: location codes tasks may be published at.
        task_weights: sampling weights over them (None: uniform).
        source: where simulated days come from (the runner's and the env's test days).
        material: what the source was built from (the training-day pools are built from it).
    """

    trace: Trace
    train: CycleTable
    test: CycleTable
    test_days: np.ndarray
    knowledge: Knowledge
    test_model: LocationModel
    task_locations: np.ndarray
    task_weights: np.ndarray | None
    source: MobilitySource
    material: SourceMaterial
    _pools: dict[int, DayPool] = field(default_factory=dict, repr=False)

    def training_days(self, size: int) -> DayPool:
        """The pool of ``size`` training days the source implies, disjoint from its test days
        (:mod:`mcsim.app.days`; a replayed trace file offers its training cycles only)."""
        if size not in self._pools:
            self._pools[size] = build_training_days(self.source_name, self.material, size)
        return self._pools[size]

    @property
    def source_name(self) -> str:
        """The scenario's ``mobility.source``."""
        return self.material.source_name

    def held_out(self) -> HeldOutDays:
        """The held-out days, to score an allocation without simulating a day."""
        return HeldOutDays(
            self.test, self.test_days, len(self.train.users), len(self.train.locations)
        )


def preparation_key(scenario: Scenario) -> str:
    """Hash of the settings that determine a :class:`Prepared` (not tasks, policies, g...)."""
    dumped = scenario.model_dump(mode="json")
    parts = {k: dumped[k] for k in ("seed", "trace", "cycles", "mining", "split", "mobility")}
    parts["task_locations"] = scenario.tasks.locations
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class PreparedCache:
    """A bounded least-recently-used store of preparations and loaded sensors, per process.

    Args:
        maxsize: preparations kept; the least recently used is dropped first.
    """

    def __init__(self, maxsize: int = PREPARED_KEPT) -> None:
        self.maxsize = maxsize
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()
        self._sensors: dict[str, SensorGenerator] = {}
        self._validators: dict[str, ReadingValidator] = {}

    def prepared(self, key: str, build: Callable[[], Prepared]) -> Prepared:
        """The preparation under ``key``, built with ``build()`` when missing."""
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        value = build()
        self._prepared[key] = value
        while len(self._prepared) > self.maxsize:
            self._prepared.popitem(last=False)
        return value

    def put(self, key: str, prepared: Prepared) -> None:
        """Keep a preparation made elsewhere (e.g. shipped to a Ray worker)."""
        self.prepared(key, lambda: prepared)

    def sensor(self, spec: str) -> SensorGenerator:
        """The loaded sensor of a scenario's ``sensor`` value (loaded once per process)."""
        if spec not in self._sensors:
            with _torch_single_threaded():
                self._sensors[spec] = load_sensor(spec)
        return self._sensors[spec]

    def validator(self, spec: str) -> ReadingValidator | None:
        """The loaded validator of a scenario's ``validation.validator`` (None: ``none``)."""
        if spec == "none":
            return None
        if spec not in self._validators:
            from generators.validators import load_validator  # torch only when judging

            with _torch_single_threaded():
                self._validators[spec] = load_validator(spec)
        return self._validators[spec]


def _read_trace(scenario: Scenario) -> tuple[Trace, SyntheticCampus | None]:
    """The scenario's trace, and the campus that generated it (None for a file)."""
    if scenario.trace.synthetic is not None:
        config = scenario.trace.synthetic.campus_config()
        campus = generate_campus(config, seed=seed_for(scenario.seed, Stream.TRACE))
        return campus.trace, campus
    spec = scenario.trace.file
    assert spec is not None  # the schema requires exactly one of synthetic and file
    trace = load_trace(
        spec.path,
        format=spec.format,
        timezone=spec.timezone,
        grid=GridSpec(spec.grid_m),
        stay_points=StayPointOptions(spec.stay_radius_m, spec.stay_min_s),
    )
    return trace, None


def _split(cycles: CycleTable, scenario: Scenario) -> tuple[CycleTable, CycleTable, np.ndarray]:
    """Train/test cycles and the held-out calendar days; ``test_from`` becomes a cycle count."""
    split = scenario.split
    if len(cycles) == 0:
        return cycles, cycles, np.zeros(0, np.int64)
    first, last = int(cycles.cycle.min()), int(cycles.cycle.max())
    if split.test_from is None:
        boundary = split_boundary(
            cycles, train_cycles=split.train_cycles, train_fraction=split.train_fraction
        )
        train, test = split_cycles(cycles, train_cycles=boundary - first)
        return train, test, np.arange(boundary, last + 1, dtype=np.int64)
    starts = cycles.start_times()
    first_test = pd.Timestamp(split.test_from).tz_localize(scenario.cycle_timezone())
    boundary_cycles = cycles.cycle[np.asarray(starts >= first_test)]
    if len(boundary_cycles) == 0:
        raise ScenarioError(
            f"no cycle starts on or after {split.test_from}; expected a date within the trace",
            column="split.test_from",
        )
    train_cycles = int(boundary_cycles.min() - first)
    if train_cycles < 1:
        raise ScenarioError(
            f"no cycle starts before {split.test_from}; expected a date within the trace",
            column="split.test_from",
        )
    train, test = split_cycles(cycles, train_cycles=train_cycles)
    return train, test, np.arange(first + train_cycles, last + 1, dtype=np.int64)


def _check_split(cycles: CycleTable, train: CycleTable, test: CycleTable, source: str) -> None:
    if len(train) == 0:
        raise ScenarioError("the split leaves no training cycles", column="split")
    if len(test) == 0 and source == "replay":
        raise ScenarioError(
            f"the split leaves no test cycles to replay (the trace spans "
            f"{len(np.unique(cycles.cycle))} cycles); expected fewer training cycles",
            column="split",
        )


def prepare(
    scenario: Scenario, *, cache_dir: Path | None = None, workers: int = 1, progress: bool = False
) -> Prepared:
    """Build the trace, cut and split it, mine it (cached) and set up the mobility source.

    Args:
        scenario: one variant's scenario.
        cache_dir: mining cache folder (None: mine in memory, write nothing).
        workers: processes for mining.
        progress: show mining progress.

    Raises:
        MCSimError: a trace that cannot be read, or a split that leaves no training or test
            cycles (naming the scenario key to change).
    """
    trace, campus = _read_trace(scenario)
    c = scenario.cycles
    options = CycleOptions(
        length_h=c.length_h,
        origin_hour=c.origin_hour,
        timezone=scenario.cycle_timezone(),
        min_dwell_s=c.min_dwell_s,
    )
    cycles = cut_cycles(trace, options)
    train, test, test_days = _split(cycles, scenario)
    _check_split(cycles, train, test, scenario.mobility.source)

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
        train, test, test_days = _virtual_population(scenario, train, test, patterns)
        patterns = mine(train)
    knowledge = Knowledge.from_training(train, patterns, Locations.from_trace(trace))
    locations = scenario.tasks.locations
    seen, visits = np.unique(
        patterns.items if locations == "frequent" else train.location, return_counts=True
    )
    material = SourceMaterial(
        train,
        test,
        patterns,
        options,
        campus,
        rng_for(scenario.seed, Stream.DAY_ORDER),
        scenario.seed,
        scenario.mobility.source,
    )
    return Prepared(
        trace=trace,
        train=train,
        test=test,
        test_days=test_days,
        knowledge=knowledge,
        test_model=LocationModel.from_cycles(test),
        task_locations=seen.astype(np.int32),
        task_weights=visits.astype(float) if locations == "visits" else None,
        source=build_source(scenario.mobility.source, material),
        material=material,
    )


def _virtual_population(
    scenario: Scenario, train: CycleTable, test: CycleTable, patterns: PatternBase
) -> tuple[CycleTable, CycleTable, np.ndarray]:
    """A virtual population driven by the trace's pattern model, split like the trace."""
    assert scenario.mobility.users is not None
    first_test = int(test.cycle.min()) if len(test) else int(train.cycle.max()) + 1
    n_train = first_test - int(train.cycle.min())
    n_test = int(test.cycle.max()) - first_test + 1 if len(test) else 1
    population = scale_population(
        train,
        patterns,
        scenario.mobility.users,
        n_train + n_test,
        rng_for(scenario.seed, Stream.POPULATION),
    )
    train, test = split_cycles(population, train_cycles=n_train)
    return train, test, np.arange(first_test, first_test + n_test, dtype=np.int64)


def world_options(scenario: Scenario) -> WorldOptions:
    """The rules of a simulated day that a scenario sets."""
    return WorldOptions(
        g=scenario.g,
        reading_s=scenario.reading_s,
        walking_dwell_s=scenario.walking_dwell_s,
        condition_on_activity=scenario.sensor_activity,
        carry_over=scenario.tasks.carry_over,
        count=scenario.validation.count,
        min_p_real=scenario.validation.min_p_real,
    )


def user_conduct(scenario: Scenario, n_users: int) -> np.ndarray | None:
    """int8 per user: 0 honest, else the fabrication kind (:data:`~mcsim.sim.receiving.
    CONDUCTS`); ``round(share x users)`` dishonest users, the same on every day (None: all
    honest)."""
    config = scenario.dishonest
    n_dishonest = round(config.share * n_users)
    if n_dishonest == 0:
        return None
    rng = rng_for(scenario.seed, Stream.DISHONEST)
    who = rng.permutation(n_users)[:n_dishonest]
    codes = [CONDUCTS.index(kind) for kind in config.kinds]
    conduct = np.zeros(n_users, dtype=np.int8)
    conduct[who] = draw_by_share(rng, n_dishonest, codes, list(config.kinds.values()))
    return conduct


class Pipeline:
    """One variant of a scenario, prepared: its days, task pools, phones and worlds.

    Args:
        scenario: the variant's complete scenario (no sweep).
        variant: its index in the sweep grid (keys the task-pool and phone streams).
        cache: the per-process store of preparations and sensors (None: a private one).
        cache_dir: mining cache folder (None: mine in memory).
        workers: processes for mining.
        progress: show mining progress.

    Example:
        >>> from mcsim.app.scenario import load_scenario, shipped_scenario
        >>> file = load_scenario(shipped_scenario("campus"), {"trace.synthetic.days": 32,
        ...                                                  "sensor": "none"})
        >>> pipeline = Pipeline(file.scenario)
        >>> world = pipeline.world(repetition=0)
        >>> world.n_users, len(pipeline.tasks(0))
        (68, 30)
    """

    def __init__(
        self,
        scenario: Scenario,
        variant: int = 0,
        *,
        cache: PreparedCache | None = None,
        cache_dir: Path | None = None,
        workers: int = 1,
        progress: bool = False,
    ) -> None:
        self.scenario = scenario
        self.variant = variant
        self.cache = PreparedCache() if cache is None else cache
        self._cache_dir = cache_dir
        self._workers = workers
        self._progress = progress
        self.options = world_options(scenario)

    @cached_property
    def key(self) -> str:
        """The preparation key of this variant (variants sharing it share one Prepared; the
        scenario is immutable, so it is hashed once)."""
        return preparation_key(self.scenario)

    @property
    def prepared(self) -> Prepared:
        """The variant's preparation (built on first use, shared through the cache)."""
        return self.cache.prepared(
            self.key,
            lambda: prepare(
                self.scenario,
                cache_dir=self._cache_dir,
                workers=self._workers,
                progress=self._progress,
            ),
        )

    def day(self, repetition: int, rng: np.random.Generator | None = None) -> DayPlan:
        """The simulated day of ``repetition`` (``rng``: another stream, e.g. the env's)."""
        if rng is None:
            rng = rng_for(self.scenario.seed, Stream.DAY, repetition)
        return self.prepared.source.day(repetition, rng)

    def tasks(self, repetition: int, rng: np.random.Generator | None = None) -> TaskBatch:
        """The task pool of (this variant, ``repetition``) (paper: m tasks, sum c_i copies)."""
        if rng is None:
            rng = rng_for(self.scenario.seed, Stream.TASKS, self.variant, repetition)
        t = self.scenario.tasks
        start = t.publish.start_h * 3600.0  # [s]
        end = (t.publish.end_h if t.publish.end_h is not None else t.publish.start_h) * 3600.0
        prepared = self.prepared
        try:
            pool = generate_task_pool(
                n_tasks=t.count,
                total_copies=t.copies,
                max_copies=t.max_copies,
                locations=prepared.task_locations,
                rng=rng,
                weights=prepared.task_weights,
                publish_window_s=(start, end),
                n_batches=t.publish.batches,
                deadline_s=float("inf") if t.deadline_h is None else t.deadline_h * 3600.0,
            )
        except ValueError as exc:
            raise ScenarioError(str(exc), column="tasks") from None
        if set(t.contexts) == {"any"}:
            return pool  # no draw: pools without contexts are those of earlier versions
        return dataclasses.replace(
            pool, context=draw_contexts(len(pool), list(t.contexts), list(t.contexts.values()), rng)
        )

    def sensor_seed(self, repetition: int) -> int:
        """The seed of the phones' streams in (this variant, ``repetition``)."""
        return seed_for(self.scenario.seed, Stream.SENSOR, self.variant, repetition)

    def sensor(self) -> SensorGenerator:
        """The phones' generator (loaded once per process)."""
        return self.cache.sensor(self.scenario.sensor)

    def readings(self, repetition: int) -> ReadingBuffer:
        """A reading buffer for the worlds of (this variant, ``repetition``) to share, so that
        all their readings are generated in one batch (the same windows as each alone)."""
        return day_readings(self.sensor(), self.sensor_seed(repetition), self.options)

    @cached_property
    def conduct(self) -> np.ndarray | None:
        """Each user's conduct (:func:`user_conduct`; None: all honest)."""
        return user_conduct(self.scenario, len(self.prepared.knowledge.patterns.users))

    def world(
        self,
        repetition: int,
        *,
        day: DayPlan | None = None,
        tasks: TaskBatch | None = None,
        sensor_seed: int | None = None,
        readings: ReadingBuffer | None = None,
    ) -> World:
        """A fresh world of (this variant, ``repetition``): the job every policy runs.

        ``day``, ``tasks`` and ``sensor_seed`` replace the job's own (the env draws them from
        its episode generator instead). ``readings``: a buffer from :meth:`readings` shared
        with the job's other worlds (None: the world's own).
        """
        return World(
            self.day(repetition) if day is None else day,
            self.tasks(repetition) if tasks is None else tasks,
            self.prepared.knowledge,
            self.options,
            sensor=self.sensor(),
            sensor_seed=self.sensor_seed(repetition) if sensor_seed is None else sensor_seed,
            readings=readings,
            conduct=self.conduct,
            validator=self.cache.validator(self.scenario.validation.validator),
        )

    def episode(
        self,
        split: Split,
        index: int,
        *,
        pool_size: int = TRAINING_POOL,
        rng: np.random.Generator | None = None,
    ) -> World:
        """Day ``index`` of a split (:mod:`mcsim.app.days`) as a fresh world.

        Test day ``i`` is the runner's job (this variant, ``i``). Training day ``i`` is day
        ``i`` of the pool of ``pool_size`` training days, with the task pool and phones of
        stream key ``TRAIN_DAY_OFFSET + i``, or drawn from ``rng`` (an RL episode's generator,
        so that a training day recurs with new tasks).
        """
        if split == "test":
            return self.world(index)
        day = self.prepared.training_days(pool_size).day(index)
        key = TRAIN_DAY_OFFSET + index
        if rng is None:
            return self.world(key, day=day)
        # The task pool, then the phones' seed, straight from the episode's generator (no
        # spawned children: creating them cost a tenth of an RL reset).
        tasks = self.tasks(key, rng)
        return self.world(key, day=day, tasks=tasks, sensor_seed=int(rng.integers(2**32)))


@contextmanager
def _torch_single_threaded() -> Iterator[None]:
    """Run torch single-threaded if the model loaded inside brought it in (a bfloat16
    SenseGen, a validator): the simulator's batches are tens of phones, and with two OpenMP
    threads on a busy 2-core machine a 128-step roll-out took ~30x longer (measured 14 s
    instead of 0.4 s for 30 phones). A process that imported torch itself (e.g. to train an
    agent) keeps its settings; sensors that need no torch (``none``, float32 SenseGen, which
    runs in numpy) do not import it."""
    before = "torch" in sys.modules
    yield
    torch = sys.modules.get("torch")
    if torch is not None and not before:
        torch.set_num_threads(1)
