"""Phone readings (mcsim.sim.sensing): ReadingBuffer's batching into sample calls, the order of
each phone's windows, activity conditioning, and the walking/standing rule."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.sim.sensing import (
    HAPT_STANDING,
    HAPT_WALKING,
    N_AXES,
    Reading,
    ReadingBuffer,
    SensorGenerator,
    activity_for_dwell,
)


class Recorder:
    """A sensor that records its calls; sample k of phone p is filled with 1000 k + p."""

    def __init__(self, conditions_on_activity: bool) -> None:
        self.conditions_on_activity = conditions_on_activity
        self.calls: list[tuple[list[int], int, list[int] | None]] = []

    def reset(self, n_phones: int, seed: int) -> None:
        self.calls = []

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert len(set(phones.tolist())) == len(phones)  # a phone at most once per call
        k = len(self.calls)
        self.calls.append(
            (phones.tolist(), steps, None if activities is None else activities.tolist())
        )
        values = 1000.0 * k + phones.astype(np.float64)
        return np.broadcast_to(values[:, None, None], (len(phones), steps, N_AXES)).copy()


def test_recorder_is_a_sensor_generator() -> None:
    assert isinstance(Recorder(True), SensorGenerator)


def requests() -> list[Reading]:
    """Phone 0 three readings, phone 1 one, phone 2 two; requested out of time order."""
    return [
        Reading(pair=0, user=0, time_s=300.0, activity=HAPT_WALKING),
        Reading(pair=1, user=2, time_s=50.0, activity=HAPT_STANDING),
        Reading(pair=2, user=0, time_s=100.0, activity=HAPT_STANDING),
        Reading(pair=3, user=1, time_s=200.0, activity=HAPT_WALKING),
        Reading(pair=4, user=0, time_s=200.0, activity=HAPT_WALKING),
        Reading(pair=5, user=2, time_s=400.0, activity=HAPT_WALKING),
    ]


def test_one_call_per_round_of_distinct_phones() -> None:
    sensor = Recorder(conditions_on_activity=True)
    buffer = ReadingBuffer(sensor, steps=4)
    for reading in requests():
        buffer.request(reading)
    buffer.flush()
    # Round k holds each phone's k-th reading in time order: 3 calls, phone 0's three readings.
    assert buffer.calls == 3
    assert sensor.calls == [
        ([2, 0, 1], 4, [HAPT_STANDING, HAPT_STANDING, HAPT_WALKING]),
        ([0, 2], 4, [HAPT_WALKING, HAPT_WALKING]),
        ([0], 4, [HAPT_WALKING]),
    ]
    # readings and windows match row for row (generation order).
    assert [r.pair for r in buffer.readings] == [1, 2, 3, 4, 5, 0]
    windows = buffer.windows()
    assert windows.shape == (6, 4, N_AXES) and windows.dtype == np.float32
    assert windows[:, 0, 0].tolist() == [2.0, 0.0, 1.0, 1000.0, 1002.0, 2000.0]


def test_each_phones_windows_come_in_time_order() -> None:
    buffer = ReadingBuffer(Recorder(True), steps=2)
    for reading in requests():
        buffer.request(reading)
    buffer.flush()
    for phone in (0, 1, 2):
        times = [r.time_s for r in buffer.readings if r.user == phone]
        assert times == sorted(times)
    assert [r.time_s for r in buffer.readings if r.user == 0] == [100.0, 200.0, 300.0]


def test_interleaving_does_not_change_the_windows() -> None:
    results = []
    for order in (requests(), requests()[::-1]):
        buffer = ReadingBuffer(Recorder(True), steps=2)
        for reading in order:
            buffer.request(reading)
        buffer.flush()
        results.append(([r.pair for r in buffer.readings], buffer.windows()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize(
    ("sensor_conditions", "conditioned", "passes_activities"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_activities_only_reach_a_conditioned_sensor(
    sensor_conditions: bool, conditioned: bool, passes_activities: bool
) -> None:
    sensor = Recorder(sensor_conditions)
    buffer = ReadingBuffer(sensor, steps=1, conditioned=conditioned)
    buffer.request(Reading(pair=0, user=3, time_s=0.0, activity=HAPT_WALKING))
    buffer.flush()
    assert sensor.calls == [([3], 1, [HAPT_WALKING] if passes_activities else None)]


def test_flush_without_requests_makes_no_call_and_flushes_accumulate() -> None:
    sensor = Recorder(True)
    buffer = ReadingBuffer(sensor, steps=5)
    buffer.flush()
    assert buffer.calls == 0 and sensor.calls == []
    assert buffer.windows().shape == (0, 5, N_AXES) and buffer.readings == []
    buffer.request(Reading(0, 1, 10.0, HAPT_WALKING))
    buffer.flush()
    buffer.request(Reading(1, 1, 20.0, HAPT_WALKING))
    buffer.flush()
    buffer.flush()  # nothing pending: no call
    assert buffer.calls == 2 and [r.pair for r in buffer.readings] == [0, 1]
    assert buffer.windows().shape == (2, 5, N_AXES)


def test_activity_for_dwell() -> None:
    assert (HAPT_WALKING, HAPT_STANDING) == (1, 5)  # HAPT's activity ids
    assert activity_for_dwell(30.0, 120.0) == HAPT_WALKING
    assert activity_for_dwell(119.9, 120.0) == HAPT_WALKING
    assert activity_for_dwell(120.0, 120.0) == HAPT_STANDING  # at the threshold: still
    assert activity_for_dwell(3600.0, 120.0) == HAPT_STANDING
    assert activity_for_dwell(0.0, 0.0) == HAPT_STANDING  # threshold 0: never walking
