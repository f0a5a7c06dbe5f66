"""The one pipeline (mcsim.app.pipeline): preparations shared through a bounded cache, the
seed streams of a job, the preparation key, split errors and the held-out calendar days.

All on the shipped campus scenario, shortened to 32 days (30 to mine, 2 held out), no sensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mcsim.app.pipeline import Pipeline, PreparedCache, preparation_key, prepare
from mcsim.app.scenario import Scenario, load_scenario, shipped_scenario
from mcsim.errors import ScenarioError
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import DayPlan

SMALL = {"trace.synthetic.days": 32, "sensor": "none"}


def campus(**overrides: Any) -> Scenario:
    """The small campus scenario with dotted-key ``overrides`` (``__`` stands for ``.``)."""
    extra = {k.replace("__", "."): v for k, v in overrides.items()}
    return load_scenario(shipped_scenario("campus"), {**SMALL, **extra}).scenario


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return campus()


@pytest.fixture(scope="module")
def cache() -> PreparedCache:
    return PreparedCache()


def same_day(a: DayPlan, b: DayPlan) -> bool:
    return a.label == b.label and all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("offsets", "location", "arrival", "departure")
    )


def same_tasks(a: TaskBatch, b: TaskBatch) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("id", "location", "publish_s", "copies", "deadline_s")
    )


def test_same_repetition_same_day_tasks_and_phones(scenario: Scenario) -> None:
    # Two pipelines with their own caches: everything is rebuilt, and identical.
    a, b = Pipeline(scenario), Pipeline(scenario)
    assert a.prepared is not b.prepared
    assert same_day(a.day(1), b.day(1))
    assert same_tasks(a.tasks(1), b.tasks(1))
    assert a.sensor_seed(1) == b.sensor_seed(1)
    # Another repetition: another day (2 held-out days), task pool and phone seed.
    assert a.day(0).label != a.day(1).label
    assert not same_tasks(a.tasks(0), a.tasks(1))
    assert a.sensor_seed(0) != a.sensor_seed(1)
    world = a.world(1)
    assert world.n_users == 68 and len(a.tasks(1)) == 30


def test_variants_share_one_preparation_but_not_their_task_pools(
    scenario: Scenario, cache: PreparedCache
) -> None:
    first, second = Pipeline(scenario, 0, cache=cache), Pipeline(scenario, 1, cache=cache)
    assert first.prepared is second.prepared
    # A variant with another pool size also shares it (tasks are not prepared).
    other = Pipeline(campus(tasks__count=25), 2, cache=cache)
    assert other.prepared is first.prepared
    # The day is paired across variants; the task pool and the phones are the variant's own.
    assert same_day(first.day(0), second.day(0))
    assert not same_tasks(first.tasks(0), second.tasks(0))
    assert first.sensor_seed(0) != second.sensor_seed(0)
    assert first.sensor() is second.sensor()  # loaded once per cache


def test_cache_keeps_the_most_recently_used() -> None:
    cache = PreparedCache(maxsize=2)
    built: list[str] = []

    def build(key: str) -> Any:
        def make() -> Any:
            built.append(key)
            return object()

        return make

    a = cache.prepared("a", build("a"))
    b = cache.prepared("b", build("b"))
    assert cache.prepared("a", build("a")) is a  # a is now the most recently used
    cache.prepared("c", build("c"))  # over maxsize: b, the least recently used, goes
    assert built == ["a", "b", "c"]
    assert cache.prepared("a", build("a")) is a
    assert cache.prepared("b", build("b")) is not b  # rebuilt
    assert built == ["a", "b", "c", "b"]
    assert len(cache._prepared) == 2  # c dropped in turn
    assert cache.maxsize == 2


def test_preparation_key_holds_only_what_preparation_reads(scenario: Scenario) -> None:
    key = preparation_key(scenario)
    assert len(key) == 64
    assert preparation_key(campus()) == key
    for same in (
        campus(tasks__count=25),
        campus(g=3),
        campus(policies=["MDP"]),
        campus(repetitions=2),
        campus(tasks__deadline_h=2),
    ):
        assert preparation_key(same) == key
    for other in (
        campus(seed=1),
        campus(mining__minsup=0.6),
        campus(split={"train_cycles": 29}),
        campus(mobility={"source": "patterns"}),
        campus(tasks__locations="uniform"),
    ):
        assert preparation_key(other) != key


def test_split_errors_name_the_split_key() -> None:
    # Every visit shorter than the minimum dwell: no cycle at all, so nothing to train on.
    with pytest.raises(ScenarioError, match="no training cycles") as info:
        prepare(campus(cycles__min_dwell_s=1e9))
    assert info.value.column == "split"
    with pytest.raises(ScenarioError, match=r"no test cycles to replay.*spans 32 cycles") as info:
        prepare(campus(split={"train_cycles": 40}))
    assert info.value.column == "split"


def test_held_out_days_follow_the_training_days(scenario: Scenario, cache: PreparedCache) -> None:
    prepared = Pipeline(scenario, cache=cache).prepared
    train_days = np.unique(prepared.train.cycle)
    assert len(train_days) == 30
    first = int(train_days.min())
    # Calendar cycles first + 30 and first + 31: the two days after the 30 training ones.
    assert prepared.test_days.tolist() == [first + 30, first + 31]
    assert set(np.unique(prepared.test.cycle)) <= set(prepared.test_days.tolist())
    held_out = prepared.held_out()
    assert held_out.days.tolist() == prepared.test_days.tolist()
    # Replayed days are held-out days.
    pipeline = Pipeline(scenario, cache=cache)
    assert {pipeline.day(r).label for r in range(4)} == {
        f"replay cycle {first + 30}",
        f"replay cycle {first + 31}",
    }


def test_held_out_days_start_at_the_split_even_after_an_empty_training_day() -> None:
    from mcsim.app.pipeline import _split
    from mcsim.mining.cycles import CycleOptions, CycleTable

    days = [d for d in range(10) if d != 7]  # nobody moved on day 7, the last training day
    table = CycleTable(
        users=pd.Index(["a"]),
        locations=pd.Index(["x"]),
        user=np.zeros(len(days), np.int32),
        cycle=np.array(days, np.int64),
        offsets=np.arange(len(days) + 1, dtype=np.int64),
        location=np.zeros(len(days), np.int32),
        arrival=np.zeros(len(days), np.float32),
        departure=np.ones(len(days), np.float32),
        options=CycleOptions(),
    )
    for split, expected in (({"train_fraction": 0.8}, [8, 9]), ({"train_cycles": 8}, [8, 9])):
        scenario = load_scenario(shipped_scenario("campus"), {"split": split}).scenario
        train, test, test_days = _split(table, scenario)
        assert test_days.tolist() == expected, split
        assert train.cycle.max() == 6 and test.cycle.min() == 8
