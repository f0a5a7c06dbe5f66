"""The simulator-facing sensor interface: SenseGenSensor, NoiseSensor and load_sensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT
from generators.sensors import SHIPPED_SENSEGEN, NoiseSensor, SenseGenSensor, load_sensor
from mcsim.errors import InputError
from mcsim.sim.sensing import SensorGenerator


def test_noise_sensor_is_seeded_and_per_phone() -> None:
    a, b = NoiseSensor(), NoiseSensor()
    a.reset(4, seed=3)
    b.reset(4, seed=3)
    together = a.sample(np.array([1, 2]), 10)
    alone = b.sample(np.array([2]), 10)
    assert together.shape == (2, 10, 3) and together.dtype == np.float32
    assert np.array_equal(together[1], alone[0])  # a phone's stream ignores its neighbours
    with pytest.raises(InputError, match="phone indices"):
        a.sample(np.array([4]), 1)


def test_sensegen_sensor_follows_the_protocol(tiny_checkpoint: Path) -> None:
    sensor = load_sensor(str(tiny_checkpoint))
    assert isinstance(sensor, SenseGenSensor) and isinstance(sensor, SensorGenerator)
    sensor.reset(3, seed=0)
    out = sensor.sample(np.array([0, 2]), 8, np.array([0, 1]))
    assert out.shape == (2, 8, 3) and out.dtype == np.float32


def test_load_sensor_specs() -> None:
    assert isinstance(load_sensor("none"), NoiseSensor)
    assert isinstance(load_sensor(None), NoiseSensor)
    assert isinstance(NoiseSensor(), SensorGenerator)
    with pytest.raises(InputError, match="expected one of 'none', 'sensegen'"):
        load_sensor("gan")


@pytest.mark.parametrize("name", sorted(SHIPPED_SENSEGEN))
def test_every_shipped_sensegen_loads_its_checkpoint_and_precision(name: str) -> None:
    path, precision = SHIPPED_SENSEGEN[name]
    sensor = load_sensor(name.upper())  # names are case-insensitive
    assert isinstance(sensor, SenseGenSensor) and sensor.sampler.precision == precision
    assert sensor.conditions_on_activity
    sensor.reset(3, seed=0)
    out = sensor.sample(np.array([0, 2]), 8, np.array([1, 5]))
    assert out.shape == (2, 8, 3) and np.isfinite(out).all()
    twin = SenseGenSensor(path, precision=precision)  # the name is exactly that checkpoint
    twin.reset(3, seed=0)
    assert np.array_equal(twin.sample(np.array([0, 2]), 8, np.array([1, 5])), out)


def test_the_small_sensegen_is_the_paper_recipe_at_half_width() -> None:
    small = torch.load(SMALL_CHECKPOINT, weights_only=True)
    paper = torch.load(SHIPPED_CHECKPOINT, weights_only=True)
    assert small["config"] == {**paper["config"], "hidden_size": 128}
    assert small["train_config"] == paper["train_config"]  # same data, seed, schedule, rounds
    assert SMALL_CHECKPOINT.stat().st_size < 2_000_000
