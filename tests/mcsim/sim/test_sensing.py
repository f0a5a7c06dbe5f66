"""Phone readings (mcsim.sim.sensing): keyed readings, ReadingBuffer's one batched call for all
lanes, windows that depend only on their key, activity conditioning, the walking/standing
rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.sensors import NoiseSensor
from mcsim.sim.sensing import (
    HAPT_STANDING,
    HAPT_WALKING,
    N_AXES,
    Reading,
    ReadingBuffer,
    SensorGenerator,
    activity_for_dwell,
    reading_rng,
)


class Recorder:
    """A sensor that records its calls; window i is filled with its key's time bits' low
    digits, so that a window shows which key it was made for."""

    def __init__(self, conditions_on_activity: bool) -> None:
        self.conditions_on_activity = conditions_on_activity
        self.calls: list[tuple[list[tuple[int, ...]], int, list[int] | None]] = []

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert keys.dtype == np.uint64 and keys.shape[1] == 4
        rows = [tuple(int(k) for k in key) for key in keys]
        self.calls.append((rows, steps, None if activities is None else activities.tolist()))
        values = np.array([1000.0 * key[0] + key[1] for key in rows])
        return np.broadcast_to(values[:, None, None], (len(rows), steps, N_AXES)).copy()


def test_recorder_is_a_sensor_generator() -> None:
    assert isinstance(Recorder(True), SensorGenerator)


def requests() -> list[Reading]:
    """User 0 three readings, user 1 one, user 2 two; requested out of time order."""
    return [
        Reading(pair=0, user=0, time_s=300.0, activity=HAPT_WALKING, task=7),
        Reading(pair=1, user=2, time_s=50.0, activity=HAPT_STANDING, task=3),
        Reading(pair=2, user=0, time_s=100.0, activity=HAPT_STANDING, task=4),
        Reading(pair=3, user=1, time_s=200.0, activity=HAPT_WALKING, task=7),
        Reading(pair=4, user=0, time_s=200.0, activity=HAPT_WALKING, task=5),
        Reading(pair=5, user=2, time_s=400.0, activity=HAPT_WALKING, task=6),
    ]


def test_a_readings_key_is_user_task_exact_time_and_activity() -> None:
    a = Reading(pair=0, user=3, time_s=1.0, activity=HAPT_WALKING, task=9)
    b = Reading(pair=5, user=3, time_s=float(np.nextafter(1.0, 2.0)), activity=HAPT_WALKING, task=9)
    assert a.key == (3, 9, int(np.float64(1.0).view(np.uint64)), HAPT_WALKING)
    assert a.key != b.key  # one float apart: another reading
    assert Reading(pair=8, user=3, time_s=1.0, activity=HAPT_WALKING, task=9).key == a.key


def test_one_call_for_every_lane_and_windows_in_request_order() -> None:
    sensor = Recorder(conditions_on_activity=True)
    buffer = ReadingBuffer(sensor, steps=4, seed=1)
    first, second = buffer.open_lane(), buffer.open_lane()
    for reading in requests():
        buffer.request(reading, first)
    buffer.request(Reading(pair=0, user=4, time_s=10.0, activity=HAPT_WALKING, task=1), second)
    assert [r.pair for r in buffer.readings(first)] == [0, 1, 2, 3, 4, 5]
    assert buffer.calls == 1 and len(sensor.calls) == 1
    keys, steps, activities = sensor.calls[0]
    assert len(keys) == 7 and steps == 4
    assert activities == [r.activity for r in requests()] + [HAPT_WALKING]
    windows = buffer.windows(first)
    assert windows.shape == (6, 4, N_AXES) and windows.dtype == np.float32
    assert windows[:, 0, 0].tolist() == [7.0, 2003.0, 4.0, 1007.0, 5.0, 2006.0]
    assert buffer.windows(second)[:, 0, 0].tolist() == [4001.0]


def test_a_key_requested_in_two_lanes_is_generated_once() -> None:
    sensor = Recorder(True)
    buffer = ReadingBuffer(sensor, steps=2, seed=1)
    lanes = [buffer.open_lane(), buffer.open_lane()]
    for lane, pair in zip(lanes, (0, 9), strict=True):
        buffer.request(Reading(pair, 1, 60.0, HAPT_WALKING, task=2), lane)
    buffer.flush()
    assert len(sensor.calls[0][0]) == 1
    np.testing.assert_array_equal(buffer.windows(lanes[0]), buffer.windows(lanes[1]))
    assert [r.pair for r in buffer.readings(lanes[1])] == [9]


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(6)), st.integers(0, 5), st.integers(0, 2**32 - 1))
def test_a_window_depends_only_on_the_seed_and_its_key(
    order: list[int], alone: int, seed: int
) -> None:
    everything = ReadingBuffer(NoiseSensor(), steps=3, seed=seed)
    lane = everything.open_lane()
    for i in order:
        everything.request(requests()[i], lane)
    by_pair = dict(
        zip([r.pair for r in everything.readings(lane)], everything.windows(lane), strict=True)
    )
    single = ReadingBuffer(NoiseSensor(), steps=3, seed=seed)
    single.request(requests()[alone], single.open_lane())
    np.testing.assert_array_equal(single.windows()[0], by_pair[requests()[alone].pair])
    unconditioned_key = (*requests()[alone].key[:-1], 0)  # noise does not condition
    expected = reading_rng(seed, unconditioned_key).normal(0.0, 0.1, (3, N_AXES))
    np.testing.assert_array_equal(by_pair[requests()[alone].pair], expected.astype(np.float32))


@pytest.mark.parametrize(
    ("sensor_conditions", "conditioned", "passes_activities"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_activities_only_reach_a_conditioned_sensor(
    sensor_conditions: bool, conditioned: bool, passes_activities: bool
) -> None:
    sensor = Recorder(sensor_conditions)
    buffer = ReadingBuffer(sensor, steps=1, seed=0, conditioned=conditioned)
    lane = buffer.open_lane()
    buffer.request(Reading(pair=0, user=3, time_s=0.0, activity=HAPT_WALKING, task=1), lane)
    buffer.flush()
    [(keys, _, activities)] = sensor.calls
    assert activities == ([HAPT_WALKING] if passes_activities else None)
    assert keys[0][-1] == (HAPT_WALKING if passes_activities else 0)  # the key's activity
    assert buffer.readings()[0].activity == HAPT_WALKING  # what the phone was doing


def test_flush_without_requests_makes_no_call_and_flushes_accumulate() -> None:
    sensor = Recorder(True)
    buffer = ReadingBuffer(sensor, steps=5, seed=0)
    lane = buffer.open_lane()
    buffer.flush()
    assert buffer.calls == 0 and sensor.calls == []
    assert buffer.windows(lane).shape == (0, 5, N_AXES) and buffer.readings(lane) == []
    buffer.request(Reading(0, 1, 10.0, HAPT_WALKING, task=0), lane)
    buffer.flush()
    buffer.request(Reading(1, 1, 20.0, HAPT_WALKING, task=1), lane)
    buffer.flush()
    buffer.flush()  # nothing pending: no call
    assert buffer.calls == 2 and [r.pair for r in buffer.readings(lane)] == [0, 1]
    assert buffer.windows(lane).shape == (2, 5, N_AXES)


def test_a_request_needs_an_open_lane() -> None:
    buffer = ReadingBuffer(Recorder(True), steps=1, seed=0)
    with pytest.raises(ValueError, match="lane 0 was not opened"):
        buffer.request(Reading(0, 1, 10.0, HAPT_WALKING, task=0))


def test_activity_for_dwell() -> None:
    assert (HAPT_WALKING, HAPT_STANDING) == (1, 5)  # HAPT's activity ids
    assert activity_for_dwell(30.0, 120.0) == HAPT_WALKING
    assert activity_for_dwell(119.9, 120.0) == HAPT_WALKING
    assert activity_for_dwell(120.0, 120.0) == HAPT_STANDING  # at the threshold: still
    assert activity_for_dwell(3600.0, 120.0) == HAPT_STANDING
    assert activity_for_dwell(0.0, 0.0) == HAPT_STANDING  # threshold 0: never walking
