"""Reference-value tests of the SimPy world: the sensing rule, stepping, readings, logs.

Small hand-made days (one or two users, a few visits at known times) whose outcome can be
read off the rule in :mod:`mcsim.sim.world`, in the style of SimPy's own tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from generators.sensors import NoiseSensor, load_sensor
from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.locations import Locations
from mcsim.mining.patterns import mine_patterns
from mcsim.platform.allocation import Assignment, ConstraintViolation, PlatformState
from mcsim.platform.tasks import Task, TaskBatch
from mcsim.sim import DayPlan, Knowledge, World, WorldOptions, simulate
from mcsim.sim.sensing import HAPT_STANDING, HAPT_WALKING

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
    calls: list[tuple[list[int], int, list[int]]] = []

    class Recorder(NoiseSensor):
        conditions_on_activity = True  # a conditioned model: the world passes activities

        def sample(
            self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
        ) -> np.ndarray:
            assert activities is not None
            calls.append((phones.tolist(), steps, activities.tolist()))
            return super().sample(phones, steps, activities)

    # User 0 passes the shop twice briefly (walking), user 1 stays an hour (standing).
    plan = day((0, SHOP, 150.0, 160.0), (0, 2, 170.0, 180.0), (1, SHOP, 120.0, 3720.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 2, 9000.0), Task(1, 2, 100.0, 1, 9000.0)])
    result = simulate(
        World(
            plan,
            tasks,
            knowledge(),
            WorldOptions(reading_s=1.0, condition_on_activity=True),
            sensor=Recorder(),
            sensor_seed=1,
        ),
        Scripted([(0, 0), (1, 0), (0, 1)]),
    )
    assert result.pairs["completed"].all()
    # Three readings of two phones: round 1 holds both phones, round 2 phone 0's second one.
    assert calls == [([1, 0], 50, [HAPT_STANDING, HAPT_WALKING]), ([0], 50, [HAPT_WALKING])]
    assert result.readings.shape == (3, 50, 3) and result.readings.dtype == np.float32
    assert result.sensor_calls == 2
    assert sorted(result.reading_pair.tolist()) == [0, 1, 2]


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
        start = max(float(task.publish_s[0]), row.assigned_s)
        moments = [
            max(a, start)
            for u, loc, a, d in ((u, loc, *times) for u, loc, times in plan_visits(plan))
            if u == row.user and loc == row.location and a <= task.deadline_s[0] and d >= start
        ]
        expected = min(moments) if moments else None
        assert (row.sensed_s if row.completed else None) == expected


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
