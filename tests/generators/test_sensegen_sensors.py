"""The simulator-facing sensor interface: SenseGenSensor, NoiseSensor and load_sensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensors import NoiseSensor, SenseGenSensor, load_sensor
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


@pytest.mark.skipif(not SHIPPED_CHECKPOINT.is_file(), reason="shipped checkpoint not built yet")
def test_sensegen_bf16_is_the_shipped_model_in_bfloat16() -> None:
    sensor = load_sensor("SenseGen-BF16")
    assert isinstance(sensor, SenseGenSensor) and sensor.sampler.precision == "bf16"
    assert load_sensor("sensegen").sampler.precision == "fp32"  # type: ignore[attr-defined]
    sensor.reset(3, seed=0)
    out = sensor.sample(np.array([0, 2]), 8, np.array([1, 5]))
    assert out.shape == (2, 8, 3) and np.isfinite(out).all()
