"""Reference-value tests of the SimPy world: the sensing rule, stepping, readings, logs.

Small hand-made days (one or two users, a few visits at known times) whose outcome can be
read off the rule in :mod:`mcsim.sim.world`, in the style of SimPy's own tests; and a
trusted-oracle comparison: :class:`PerVisitWorld`, a plain per-visit SimPy simulation (one
process per user, as the world once was), must agree with the world on random days, ties
and float rounding included.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import simpy
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from simpy.events import URGENT

from generators.sensors import NoiseSensor, load_sensor
from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.locations import Locations
from mcsim.mining.patterns import mine_patterns
from mcsim.platform.allocation import Assignment, ConstraintViolation, PlatformState
from mcsim.platform.tasks import Task, TaskBatch
from mcsim.sim import (
    DayPlan,
    Knowledge,
    SimResult,
    World,
    WorldOptions,
    day_readings,
    run_day,
    simulate,
)
from mcsim.sim.sensing import (
    HAPT_STANDING,
    HAPT_WALKING,
    Reading,
    ReadingBuffer,
    activity_for_dwell,
)

HOME, SHOP = 0, 1  # location codes


def knowledge(n_users: int = 2, n_locations: int = 3) -> Knowledge:
    """Training knowledge of users who spend one cycle at HOME (patterns barely matter here)."""
    users = pd.Index([f"u{i}" for i in range(n_users)])
    locations = pd.Index([f"l{i}" for i in range(n_locations)])
    cycles = CycleTable(
        users,
        locations,
        np.arange(n_users, dtype=np.int32),
        np.zeros(n_users, dtype=np.int64),
        np.arange(n_users + 1, dtype=np.int64),
        np.full(n_users, HOME, dtype=np.int32),
        np.zeros(n_users, np.float32),
        np.full(n_users, 60.0, np.float32),
        CycleOptions(),
    )
    coordinates = Locations(locations, np.zeros(n_locations), np.arange(n_locations) * 0.01)
    return Knowledge.from_training(cycles, mine_patterns(cycles, 0.5, workers=1), coordinates)


def day(*visits: tuple[int, int, float, float], n_users: int = 2) -> DayPlan:
    """A day from (user, location, arrival, departure) tuples."""
    user, loc, arrival, departure = (np.array(x) for x in zip(*visits, strict=True))
    return DayPlan.build(user, loc, arrival, departure, n_users=n_users, length_s=86_400.0)


class Scripted:
    """A decision maker that answers decision k with a fixed list of (user, task) pairs."""

    def __init__(self, *answers: list[tuple[int, int]]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        pairs = self.answers[self.calls] if self.calls < len(self.answers) else []
        self.calls += 1
        placed = {int(t): 0 for t in tasks.id}
        for _, task in pairs:
            placed[task] += 1
        return Assignment(
            np.array([u for u, _ in pairs], dtype=np.int32),
            np.array([t for _, t in pairs], dtype=np.int64),
            np.full(len(pairs), 0.5),
            1,
            {
                int(t): int(c) - placed[int(t)]
                for t, c in zip(tasks.id, tasks.copies, strict=True)
                if int(c) > placed[int(t)]
            },
        )


def one_task(publish: float = 100.0, deadline: float = 200.0) -> TaskBatch:
    return TaskBatch.from_tasks([Task(0, SHOP, publish, 1, deadline)])


@pytest.mark.parametrize(
    ("arrival", "departure", "sensed"),
    [
        (150.0, 160.0, 150.0),  # passes during the window: senses on arrival
        (50.0, 120.0, 100.0),  # already there at publication: senses at the decision
        (200.0, 210.0, 200.0),  # arrives exactly at the deadline: closed interval
        (50.0, 90.0, None),  # arrived and left before publication
        (50.0, 99.9, None),  # left just before publication
        (250.0, 300.0, None),  # arrives after the deadline
    ],
)
def test_sensing_rule_reference_values(
    arrival: float, departure: float, sensed: float | None
) -> None:
    plan = day((0, HOME, 0.0, 40.0), (0, SHOP, arrival, departure), (0, HOME, 400.0, 500.0))
    result = simulate(World(plan, one_task(), knowledge()), Scripted([(0, 0)]))
    pair = result.pairs.iloc[0]
    assert bool(pair["completed"]) is (sensed is not None)
    if sensed is not None:
        assert pair["sensed_s"] == sensed
    assert result.unassigned == 0


def test_visit_elsewhere_does_not_complete() -> None:
    plan = day((0, HOME, 0.0, 1000.0), (1, SHOP, 150.0, 160.0))
    result = simulate(World(plan, one_task(), knowledge()), Scripted([(0, 0)]))
    assert not result.pairs["completed"].any()


def test_window_opens_at_assignment_not_publication() -> None:
    """A copy carried over to a later decision can only be sensed after that decision."""
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 1, 1000.0), Task(1, 2, 300.0, 1, 1000.0)])
    early = day((0, SHOP, 150.0, 160.0), (1, SHOP, 290.0, 310.0))
    result = simulate(World(early, tasks, knowledge()), Scripted([], [(0, 0), (1, 1)]))
    by_task = result.pairs.set_index("task")
    assert not by_task.loc[0, "completed"]  # user 0 passed at 150, before the assignment at 300
    assert result.decisions["time_s"].tolist() == [100.0, 300.0]
    assert result.decisions["tasks"].tolist() == [1, 2]  # task 0 is offered again

    result = simulate(World(early, tasks, knowledge()), Scripted([], [(1, 0)]))
    assert result.pairs["sensed_s"].tolist() == [300.0]  # user 1 is at the shop at 300


def test_sensed_once_on_the_first_of_several_visits() -> None:
    plan = day((0, SHOP, 150.0, 160.0), (0, HOME, 170.0, 180.0), (0, SHOP, 190.0, 195.0))
    result = simulate(World(plan, one_task(), knowledge()), Scripted([(0, 0)]))
    assert result.pairs["sensed_s"].tolist() == [150.0]
    assert (result.events["kind"] == "complete").sum() == 1


def test_stepping_equals_the_closed_loop() -> None:
    plan = day(
        (0, HOME, 0.0, 90.0),
        (0, SHOP, 120.0, 130.0),
        (1, SHOP, 50.0, 500.0),
        (1, HOME, 600.0, 700.0),
    )
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 1000.0), Task(1, HOME, 400.0, 1, 900.0)])

    def fresh() -> World:
        return World(plan, tasks, knowledge(), sensor=NoiseSensor(), sensor_seed=5)

    closed = simulate(fresh(), Scripted([(0, 0), (1, 0)], [(1, 1)]))
    world, maker = fresh(), Scripted([(0, 0), (1, 0)], [(1, 1)])
    seen = []
    while (decision := world.run_until_decision()) is not None:
        assert world.run_until_decision() is decision  # idempotent until answered
        seen.append((decision.index, decision.time_s, decision.tasks.id.tolist()))
        world.apply(maker.allocate(decision.tasks, decision.state))
    stepped = world.result()
    assert world.finished and world.completed == int(stepped.pairs["completed"].sum()) == 3
    assert seen == [(0, 100.0, [0]), (1, 400.0, [1])]
    pd.testing.assert_frame_equal(stepped.pairs, closed.pairs)
    pd.testing.assert_frame_equal(stepped.events, closed.events)
    np.testing.assert_array_equal(stepped.readings, closed.readings)
    assert world.run_until_decision() is None


def test_decision_state_is_what_the_platform_may_know() -> None:
    plan = day((0, SHOP, 50.0, 60.0), (1, 2, 150.0, 160.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 1, 1000.0)])
    world = World(plan, tasks, knowledge())
    decision = world.run_until_decision()
    assert decision is not None
    # User 0 reported SHOP at 50; user 1's visit at 150 is in the future: still its initial
    # location (the end of its last training cycle, HOME).
    assert decision.state.last_location.tolist() == [SHOP, HOME]
    assert decision.state.now_s == 100.0
    assert decision.state.load.tolist() == [0, 0]


def test_apply_checks_the_assignment() -> None:
    world = World(day((0, SHOP, 150.0, 160.0)), one_task(), knowledge())
    with pytest.raises(RuntimeError, match="no decision is pending"):
        world.apply(Assignment.empty())
    decision = world.run_until_decision()
    assert decision is not None
    bad = Assignment(np.array([0, 1], np.int32), np.array([0, 0]), np.zeros(2), 1)
    with pytest.raises(ConstraintViolation):
        world.apply(bad)
    with pytest.raises(RuntimeError, match="not over"):
        world.result()


def test_g_counts_tasks_over_the_whole_day() -> None:
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 1), Task(1, SHOP, 200.0, 1)])
    world = World(day((0, SHOP, 150.0, 160.0)), tasks, knowledge(), WorldOptions(g=1))
    first = world.run_until_decision()
    assert first is not None
    world.apply(Scripted([(0, 0)]).allocate(first.tasks, first.state))
    second = world.run_until_decision()
    assert second is not None
    assert second.state.capacity.tolist() == [0, 1]
    assert (0, 0) in second.state.held


def test_readings_are_batched_and_activity_conditioned() -> None:
    # User 0 passes the shop twice briefly (walking), user 1 stays an hour (standing).
    plan = day((0, SHOP, 150.0, 160.0), (0, 2, 170.0, 180.0), (1, SHOP, 120.0, 3720.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 9000.0), Task(1, 2, 100.0, 1, 9000.0)])
    phones = RecordingSensor()
    result = simulate(
        World(
            plan,
            tasks,
            knowledge(),
            WorldOptions(reading_s=1.0, condition_on_activity=True),
            sensor=phones,
            sensor_seed=1,
        ),
        Scripted([(0, 0), (1, 0), (0, 1)]),
    )
    assert result.pairs["completed"].all()
    # Three readings of two phones in one call, each keyed by user, task, time and activity.
    assert len(phones.calls) == 1 and result.sensor_calls == 1
    assert sorted((k[0], k[1], a) for k, a in phones.generated()) == [
        (0, 0, HAPT_WALKING),
        (0, 1, HAPT_WALKING),
        (1, 0, HAPT_STANDING),
    ]
    assert result.readings.shape == (3, 50, 3) and result.readings.dtype == np.float32
    assert sorted(result.reading_pair.tolist()) == [0, 1, 2]


def test_worlds_sharing_a_buffer_get_their_own_windows_in_one_call() -> None:
    plan = day((0, SHOP, 150.0, 160.0), (0, 2, 170.0, 180.0), (1, SHOP, 120.0, 3720.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 9000.0), Task(1, 2, 100.0, 1, 9000.0)])
    options = WorldOptions(reading_s=1.0, condition_on_activity=True)
    answers = [[(0, 0), (1, 0), (0, 1)], [(1, 0), (0, 1)]]
    alone = [
        simulate(World(plan, tasks, knowledge(), options, sensor=RecordingSensor(),
                       sensor_seed=3), Scripted(pairs))
        for pairs in answers
    ]  # fmt: skip
    phones = RecordingSensor()
    shared = day_readings(phones, 3, options)
    worlds = [
        World(plan, tasks, knowledge(), options, sensor_seed=3, readings=shared) for _ in answers
    ]
    for world, pairs in zip(worlds, answers, strict=True):
        run_day(world, Scripted(pairs))
    together = [world.result() for world in worlds]
    assert len(phones.calls) == 1 and len(phones.calls[0][0]) == 3  # two copies in common
    assert [r.sensor_calls for r in together] == [1, 1]
    for ours, theirs in zip(together, alone, strict=True):
        np.testing.assert_array_equal(ours.reading_pair, theirs.reading_pair)
        np.testing.assert_array_equal(ours.readings, theirs.readings)


def test_event_log_holds_every_kind_in_time_order() -> None:
    plan = day((0, HOME, 0.0, 90.0), (0, SHOP, 150.0, 160.0))
    result = simulate(
        World(plan, one_task(), knowledge(), sensor=NoiseSensor(), sensor_seed=0),
        Scripted([(0, 0)]),
    )
    events = result.events
    assert events["kind"].tolist() == [
        "visit",
        "publish",
        "allocate",
        "visit",
        "reading",
        "complete",
    ]
    assert events["time_s"].is_monotonic_increasing
    assert result.visits == 2


def test_world_requires_matching_population() -> None:
    with pytest.raises(ValueError, match="users"):
        World(day((0, HOME, 0.0, 1.0), n_users=3), one_task(), knowledge(n_users=2))


# Visits start on a 50 s grid and last at most 40 s, so a user's visits in distinct slots never
# overlap: a person is at one place at a time, and the world tracks one current visit per user.
visit_times = st.tuples(st.integers(0, 20), st.integers(0, 2)).map(
    lambda t: (float(t[0] * 50), float(t[0] * 50 + t[1] * 20))
)


@settings(max_examples=60, deadline=None)
@given(
    visits=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2), visit_times), max_size=8),
    tasks=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 10), st.integers(1, 10)), min_size=1, max_size=4
    ),
    pairs=st.sets(st.tuples(st.integers(0, 1), st.integers(0, 3)), max_size=6),
)
def test_completion_matches_the_interval_rule(visits, tasks, pairs) -> None:
    """Oracle: a copy is sensed at the earliest max(arrival, window start) over the visits at
    the task's location with arrival <= deadline and departure >= window start."""
    assume(len({(u, a) for u, _, (a, _) in visits}) == len(visits))  # one place at a time
    plan = (
        DayPlan.build(
            *(
                np.array(x)
                for x in zip(*[(u, loc, a, d) for u, loc, (a, d) in visits], strict=True)
            ),
            n_users=2,
            length_s=86_400.0,
        )
        if visits
        else DayPlan.build(
            np.zeros(0, int),
            np.zeros(0, int),
            np.zeros(0),
            np.zeros(0),
            n_users=2,
            length_s=86_400.0,
        )
    )
    batch = TaskBatch.from_tasks(
        [
            Task(i, loc, float(p * 100), 2, float(p * 100 + life * 50))
            for i, (loc, p, life) in enumerate(tasks)
        ]
    )
    answer = sorted((u, t) for u, t in pairs if t < len(tasks))
    world = World(plan, batch, knowledge(), WorldOptions(g=10, carry_over=False))
    decisions = 0
    while (decision := world.run_until_decision()) is not None:
        offered = set(decision.tasks.id.tolist())
        world.apply(
            Scripted([p for p in answer if p[1] in offered]).allocate(
                decision.tasks, decision.state
            )
        )
        decisions += 1
    result = world.result()
    assert decisions == len({p for _, p, _ in tasks})
    for row in result.pairs.itertuples():
        task = batch.select(batch.id == row.task)
        start = max(float(task.publish_s[0]), cast(float, row.assigned_s))
        moments = [
            max(a, start)
            for u, loc, a, d in ((u, loc, *times) for u, loc, times in plan_visits(plan))
            if u == row.user and loc == row.location and a <= task.deadline_s[0] and d >= start
        ]
        expected = min(moments) if moments else None
        assert (cast(float, row.sensed_s) if row.completed else None) == expected


def plan_visits(plan: DayPlan) -> list[tuple[int, int, tuple[float, float]]]:
    return [(u, loc, (a, d)) for u in range(plan.n_users) for loc, a, d in plan.visits(u)]


HAPT_NAMES = [
    "UNLABELLED",
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
]


def tiny_sensegen(path: Path, n_conditions: int) -> Path:
    """An untrained tiny generator in the SenseGen checkpoint format (seeded weights): the
    code path of ``sensor: path/to/model.pt`` without the shipped model."""
    torch = pytest.importorskip("torch")
    from generators.sensegen.model import CHECKPOINT_FORMAT, GeneratorConfig, SenseGenGenerator

    config = GeneratorConfig(
        hidden_size=8, num_layers=1, fc_size=4, n_components=2, n_conditions=n_conditions
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SenseGenGenerator(config)
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": config.to_dict(),
            "generator": model.state_dict(),
            "normalization": {"mean": [0.0] * 3, "std": [0.1] * 3},
            "activities": HAPT_NAMES,
            "train_config": {},
            "metadata": {},
        },
        path,
    )
    return path


@pytest.mark.parametrize("n_conditions", [0, len(HAPT_NAMES)])
def test_readings_come_from_the_phones_sensegen_stream(tmp_path: Path, n_conditions: int) -> None:
    sensor = load_sensor(str(tiny_sensegen(tmp_path / "tiny.pt", n_conditions)))
    assert sensor.conditions_on_activity is (n_conditions > 0)
    plan = day((0, SHOP, 150.0, 160.0), (1, SHOP, 120.0, 3720.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 9000.0)])

    def run() -> np.ndarray:
        world = World(
            plan, tasks, knowledge(), WorldOptions(reading_s=0.5), sensor=sensor, sensor_seed=7
        )
        return simulate(world, Scripted([(0, 0), (1, 0)])).readings

    first, second = run(), run()
    assert first.shape == (2, 25, 3) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)  # fresh phones per world: same streams
    assert not np.array_equal(first[0], first[1])  # two phones, two streams


# ---------------------------------------------------------------------- per-visit oracle


class PerVisitWorld:
    """The oracle: the world as it was, one SimPy process per user sleeping from arrival to
    arrival (it reports its location there and senses the copies it holds there), and the
    platform pausing the clock at each publish time. Slow, O(visits) events, and plain.

    It mirrors :class:`World`'s stepping API in miniature: :meth:`run_until_decision` returns
    (time, open task rows, their copies, load, last locations) or None; ``apply`` takes
    (user, task row) pairs; ``held``, ``completed``, ``sensed`` and ``readings`` (the requests
    made) hold the rest.
    """

    def __init__(self, plan: DayPlan, tasks: TaskBatch, initial: np.ndarray) -> None:
        self.env = simpy.Environment()
        self.plan, self.tasks = plan, tasks
        self.remaining = tasks.copies.astype(np.int64)
        self.load = np.zeros(plan.n_users, dtype=np.int32)
        self.last = initial.astype(np.int32)
        self.current = [-1] * plan.n_users
        self.held: set[tuple[int, int]] = set()
        self.pending: dict[int, dict[int, list[int]]] = {}
        self.pairs: list[tuple[int, int, int, float]] = []  # user, task, location, assigned
        self.sensed: list[float] = []
        self.readings: list[Reading] = []  # requests, in the order they were made
        self.completed = 0
        self.decision: tuple[Any, ...] | None = None
        self.ask, self.answered = self.env.event(), self.env.event()
        self.env.process(self._platform())
        for u in range(plan.n_users):
            if plan.offsets[u + 1] > plan.offsets[u]:
                self.env.process(self._user(u))

    def _user(self, u: int) -> Generator[simpy.Event, Any, None]:
        plan, env = self.plan, self.env
        for i in range(int(plan.offsets[u]), int(plan.offsets[u + 1])):
            yield env.timeout(max(0.0, float(plan.arrival[i]) - env.now))
            self.current[u], self.last[u] = i, plan.location[i]
            for pair in self.pending.get(u, {}).pop(int(plan.location[i]), []):
                if env.now <= self.tasks.deadline_s[self.pairs[pair][1]]:
                    self._sense(pair, env.now, i)

    def _platform(self) -> Generator[simpy.Event, Any, None]:
        env, tasks = self.env, self.tasks
        for t in np.unique(tasks.publish_s).tolist():
            wake = simpy.Event(env)
            wake._ok, wake._value = True, None
            env.schedule(wake, URGENT, max(0.0, t - env.now))
            yield wake
            is_open = (self.remaining > 0) & (tasks.deadline_s >= t) & (tasks.publish_s <= t)
            if not is_open.any():
                continue
            ids = np.flatnonzero(is_open)
            self.decision = (t, ids, self.remaining[ids], self.load.copy(), self.last.copy())
            self.ask.succeed()
            yield self.answered
        self.ask.succeed()

    def run_until_decision(self) -> tuple[Any, ...] | None:
        self.env.run(until=self.ask)
        if self.decision is None:
            self.env.run()
        return self.decision

    def apply(self, pairs: list[tuple[int, int]]) -> None:
        """Pairs (user, task row); tasks here are numbered by their row in the pool."""
        assert self.decision is not None
        now, plan = self.decision[0], self.plan
        for u, task in pairs:
            loc = int(self.tasks.location[task])
            pair = len(self.pairs)
            self.pairs.append((u, task, loc, now))
            self.sensed.append(np.nan)
            self.remaining[task] -= 1
            self.load[u] += 1
            self.held.add((u, task))
            i = self.current[u]
            if (
                i >= 0
                and plan.location[i] == loc
                and plan.departure[i] >= now
                and now <= self.tasks.deadline_s[task]
            ):
                self._sense(pair, now, i)
            else:
                self.pending.setdefault(u, {}).setdefault(loc, []).append(pair)
        self.decision = None
        answered, self.ask, self.answered = self.answered, self.env.event(), self.env.event()
        answered.succeed()

    def _sense(self, pair: int, now: float, visit: int) -> None:
        self.sensed[pair] = now
        self.completed += 1
        dwell = float(self.plan.departure[visit] - self.plan.arrival[visit])
        self.readings.append(
            Reading(
                pair,
                self.pairs[pair][0],
                now,
                activity_for_dwell(dwell, 2.0),
                task=self.pairs[pair][1],
            )
        )


def assert_same_as_per_visit(
    plan: DayPlan,
    tasks: TaskBatch,
    seed: int,
    answers: list[list[tuple[int, int]]] | None = None,
    g: int = 3,
) -> SimResult:
    """Step :class:`World` and the per-visit oracle through the day with the same assignments
    (``answers[k]``: decision k's (user, task row) pairs; None: random ones); every decision's
    time, tasks and state, ``completed`` after each step, and the pairs, sensing times and
    readings at the end must be identical."""
    tasks = replace(tasks, id=np.arange(len(tasks), dtype=np.int64))  # ids = rows, for the oracle
    kb = knowledge(plan.n_users, 4)
    options = WorldOptions(g=g, reading_s=1.0, walking_dwell_s=2.0)
    phones = RecordingSensor()
    world = World(plan, tasks, kb, options, sensor=phones, sensor_seed=seed)
    oracle = PerVisitWorld(plan, tasks, kb.last_locations())
    rng = np.random.default_rng(seed)
    while (decision := world.run_until_decision()) is not None:
        expected = oracle.run_until_decision()
        assert expected is not None
        time_s, ids, copies, load, last = expected
        state = decision.state
        assert decision.time_s == time_s
        assert decision.tasks.id.tolist() == ids.tolist()
        assert decision.tasks.copies.tolist() == copies.tolist()
        assert state.load.tolist() == load.tolist()
        assert state.last_location.tolist() == last.tolist()
        assert state.held == oracle.held
        assert world.completed == oracle.completed
        if answers is None:
            pairs = [
                (u, t)
                for t, c in zip(ids.tolist(), copies.tolist(), strict=True)
                for u in rng.permutation(plan.n_users)[: rng.integers(0, c + 1)].tolist()
                if (u, t) not in oracle.held
            ]
            pairs = _within_capacity(pairs, load, g)
        else:
            pairs = answers[decision.index]
        world.apply(Scripted(pairs).allocate(decision.tasks, state))
        oracle.apply(pairs)
        assert world.completed == oracle.completed
    assert oracle.run_until_decision() is None
    result = world.result()
    assert result.pairs[["user", "task", "location", "assigned_s"]].to_records(
        index=False
    ).tolist() == [tuple(p) for p in oracle.pairs]
    np.testing.assert_array_equal(result.pairs["sensed_s"].to_numpy(), np.array(oracle.sensed))
    assert world.completed == oracle.completed == int(result.pairs["completed"].sum())
    oracle_phones = RecordingSensor()
    buffer = ReadingBuffer(oracle_phones, options.reading_steps, seed)
    lane = buffer.open_lane()
    for reading in oracle.readings:
        buffer.request(reading, lane)
    readings = buffer.readings(lane)
    assert len(phones.calls) == len(oracle_phones.calls) == (1 if readings else 0)
    assert sorted(phones.generated()) == sorted(oracle_phones.generated())  # keys and activities
    # The platform receives the windows in (time, user, pair) order (mcsim.sim.receiving).
    received = sorted(range(len(readings)), key=lambda i: (
        readings[i].time_s, readings[i].user, readings[i].pair))  # fmt: skip
    assert result.reading_pair.tolist() == [readings[i].pair for i in received]
    np.testing.assert_array_equal(result.readings, buffer.windows(lane)[received])
    assert result.visits == len(plan)
    return result


class RecordingSensor(NoiseSensor):
    """Noise phones conditioned on activity that record each call's keys and activities."""

    conditions_on_activity = True

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[list[list[int]], list[int]]] = []

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert activities is not None
        self.calls.append((keys.tolist(), activities.tolist()))
        return super().windows(seed, keys, steps, activities)

    def generated(self) -> list[tuple[tuple[int, ...], int]]:
        """Every key generated, with its activity."""
        return [
            (tuple(key), activity)
            for keys, activities in self.calls
            for key, activity in zip(keys, activities, strict=True)
        ]


def _within_capacity(
    pairs: list[tuple[int, int]], load: np.ndarray, g: int
) -> list[tuple[int, int]]:
    """The pairs, dropping those that would take a user past g tasks."""
    taken = load.astype(int).tolist()
    kept = []
    for u, t in pairs:
        if taken[u] < g:
            taken[u] += 1
            kept.append((u, t))
    return kept


def visit_plan(visits: list[tuple[int, int, float, float]], n_users: int) -> DayPlan:
    """A day from (user, location, arrival, dwell) tuples (any order; the plan sorts them)."""
    columns = [np.array(c) for c in zip(*visits, strict=True)] if visits else [np.zeros(0)] * 4
    user, loc, arrival, dwell = columns
    return DayPlan.build(
        user.astype(int), loc.astype(int), arrival, arrival + dwell, n_users=n_users, length_s=1e5
    )


# Instants where ties are common (a 50 s grid shared by arrivals and publish times, zero
# dwells) or SimPy's float rounding is (any float: now + (arrival - now) != arrival for ~2 %).
instants = st.integers(0, 12).map(lambda k: k * 50.0) | st.floats(0, 600, allow_subnormal=False)
dwells = st.sampled_from([0.0, 10.0, 50.0, 200.0]) | st.floats(0, 300, allow_subnormal=False)


@settings(max_examples=200, deadline=None)
@given(
    visits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), instants, dwells), max_size=14),
    tasks=st.lists(
        st.tuples(st.integers(0, 3), instants, st.integers(1, 3), dwells), min_size=1, max_size=6
    ),
    seed=st.integers(0, 2**16),
)
@example(  # a float arrival SimPy's clock reaches one float early; a task sensed there
    visits=[(0, HOME, 18473.188686339567, 10.0), (0, SHOP, 63251.45412955728, 100.0)],
    tasks=[(SHOP, 20_000.0, 1, 50_000.0)],
    seed=1,
)
def test_world_equals_the_per_visit_world(
    visits: list[tuple[int, int, float, float]],
    tasks: list[tuple[int, float, int, float]],
    seed: int,
) -> None:
    """Oracle: the per-visit world, with the same random assignments at every decision."""
    batch = TaskBatch.from_tasks(
        [Task(i, loc, p, c, p + life) for i, (loc, p, c, life) in enumerate(tasks)]
    )
    assert_same_as_per_visit(visit_plan(visits, 3), batch, seed)


def test_sensing_happens_at_the_clock_reading_of_the_arrival() -> None:
    """SimPy reaches 63251.45412955728 from 18473.188686339567 as 63251.45412955727; the
    per-visit world sensed at that reading, and so does the world."""
    plan = visit_plan([(0, HOME, 18473.188686339567, 10.0), (0, SHOP, 63251.45412955728, 1.0)], 2)
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 20_000.0, 1, 70_000.0)])
    result = assert_same_as_per_visit(plan, tasks, 0, [[(0, 0)]])
    assert result.pairs["sensed_s"].tolist() == [63251.45412955727]


def test_ties_at_one_instant_with_two_decisions() -> None:
    """Publish times one float apart that SimPy's clock reads as one instant C: two decisions
    at C, and user 0 arrives four times at C (zero dwells). The first decision sees none of
    those arrivals and is answered after the first; the second sees two and is answered
    after the third; copies are sensed at C accordingly (the per-visit world's order)."""
    c = 63469.15620622378  # = 8687.898937091068 + (63469.15620622377 - 8687.898937091068)
    plan = visit_plan(
        [(0, HOME, 100.0, 10.0), (0, 1, c, 0.0), (0, 2, c, 0.0), (0, 3, c, 0.0), (0, 0, c, 9.0)],
        2,
    )
    tasks = TaskBatch.from_tasks(
        [
            Task(0, 3, 8687.898937091068, 1, 1e5),
            Task(1, 2, 63469.15620622377, 1, 1e5),
            Task(2, 3, c, 1, 1e5),
            Task(3, HOME, c, 1, 1e5),
        ]
    )
    world = World(plan, tasks, knowledge(2, 4))
    seen = []
    for answer in ([(0, 0)], [(0, 1)], [(0, 2), (0, 3)]):
        decision = world.run_until_decision()
        assert decision is not None
        seen.append((decision.state.last_location[0], world.completed))
        world.apply(Scripted(answer).allocate(decision.tasks, decision.state))
    assert world.run_until_decision() is None
    assert seen == [(HOME, 0), (HOME, 0), (2, 2)]
    assert world.result().pairs["sensed_s"].tolist() == [c, c, 63469.15620622378, c]
    assert_same_as_per_visit(plan, tasks, 0, [[(0, 0)], [(0, 1)], [(0, 2), (0, 3)]], g=6)


def test_a_day_costs_events_per_decision_and_sensed_copy_not_per_visit() -> None:
    """1,000 visits, one decision, two copies sensed: a handful of SimPy events."""
    plan = visit_plan([(u % 10, u % 3, float(u), 0.5) for u in range(1000)], 10)
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 900.0)])
    world = World(plan, tasks, knowledge(10, 3))
    steps = 0
    step = world.env.step

    def counted() -> None:
        nonlocal steps
        steps += 1
        step()

    world.env.step = counted  # type: ignore[method-assign]
    result = simulate(world, Scripted([(0, 0), (1, 0)]))
    assert result.pairs["completed"].tolist() == [True, True] and result.visits == 1000
    assert steps <= 10


def test_worlds_of_one_day_share_its_statics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worlds of one day plan share its statics (computed once), and a world whose day was
    dropped from the store (``tests/mcsim/sim/test_reports.py`` pins the eviction) computes
    them again to the same result."""
    import mcsim.sim.reports as reports_module

    plan = day((0, SHOP, 150.0, 160.0), (1, HOME, 0.0, 40.0))
    first, second = World(plan, one_task(), knowledge()), World(plan, one_task(), knowledge())
    assert first._visit_loc is second._visit_loc
    fresh = simulate(World(plan, one_task(), knowledge()), Scripted([(0, 0)]))
    monkeypatch.setattr(reports_module, "_statics", type(reports_module._statics)())
    monkeypatch.setattr(reports_module, "_statics_visits", 0)
    again = World(plan, one_task(), knowledge())
    assert again._visit_loc is not first._visit_loc
    assert simulate(again, Scripted([(0, 0)])).pairs.equals(fresh.pairs)


def test_shared_readings_must_have_the_worlds_seed() -> None:
    plan = day((0, SHOP, 150.0, 160.0))
    shared = day_readings(NoiseSensor(), 3, WorldOptions())
    with pytest.raises(ValueError, match="shared readings are seeded 3, the world 4"):
        World(plan, one_task(), knowledge(), sensor_seed=4, readings=shared)
