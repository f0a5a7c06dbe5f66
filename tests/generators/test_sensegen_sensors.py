"""The simulator-facing sensor interface: SenseGenSensor, NoiseSensor and load_sensor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT
from generators.sensegen.runtime import NumpyGenerator
from generators.sensegen.sample import Sampler
from generators.sensors import (
    SENSORS,
    SHIPPED_SENSEGEN,
    NoiseSensor,
    SenseGenSensor,
    StreamingAdapter,
    load_sensor,
    register_sensor,
)
from mcsim.errors import InputError
from mcsim.sim.sensing import SensorGenerator, reading_rng


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """As the pipeline runs a sensor (PreparedCache.sensor): two OpenMP threads on a busy
    2-core machine make these small roll-outs tens of times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


KEYS = np.array([[0, 1, 2, 1], [3, 4, 5, 5], [6, 7, 8, 1]], dtype=np.uint64)


def test_noise_sensor_windows_are_keyed() -> None:
    sensor = NoiseSensor()
    together = sensor.windows(3, KEYS, 10)
    assert together.shape == (3, 10, 3) and together.dtype == np.float32
    alone = sensor.windows(3, KEYS[1:2], 10)
    assert np.array_equal(together[1], alone[0])  # a window ignores the other readings
    expected = reading_rng(3, KEYS[1]).normal(0.0, 0.1, (10, 3)).astype(np.float32)
    assert np.array_equal(alone[0], expected)
    with pytest.raises(InputError, match="keys must be a 2-D integer array"):
        sensor.windows(3, np.array([1, 2]), 1)
    with pytest.raises(InputError, match="keys must be non-negative"):
        sensor.windows(3, -np.ones((1, 4), np.int64), 1)


def test_sensegen_sensor_follows_the_protocol(tiny_checkpoint: Path) -> None:
    sensor = load_sensor(str(tiny_checkpoint))
    assert isinstance(sensor, SenseGenSensor) and isinstance(sensor, SensorGenerator)
    out = sensor.windows(0, KEYS[:2], 8, np.array([0, 1]))
    assert out.shape == (2, 8, 3) and out.dtype == np.float32
    with pytest.raises(InputError, match="keys must be a 2-D integer array"):
        sensor.windows(0, np.array([1.5]), 8)


def test_load_sensor_specs() -> None:
    assert isinstance(load_sensor("none"), NoiseSensor)
    assert isinstance(load_sensor(None), NoiseSensor)
    assert isinstance(NoiseSensor(), SensorGenerator)
    with pytest.raises(InputError, match=r"expected one of 'none', .*'sensegen'"):
        load_sensor("gan")


@pytest.fixture(params=sorted(SHIPPED_SENSEGEN))
def shipped_name(request: pytest.FixtureRequest) -> str:
    """Each shipped SenseGen sensor's name; the bfloat16 ones skip where this CPU has no
    bfloat16 LSTM."""
    if SHIPPED_SENSEGEN[request.param][1] == "bf16":
        request.getfixturevalue("bfloat16_lstm")
    return str(request.param)


def test_every_shipped_sensegen_loads_its_checkpoint_and_precision(shipped_name: str) -> None:
    name = shipped_name
    path, precision = SHIPPED_SENSEGEN[name]
    sensor = load_sensor(name.upper())  # names are case-insensitive
    assert isinstance(sensor, SenseGenSensor)
    if precision == "fp32":  # float32 on the CPU runs in numpy
        assert isinstance(sensor.generator, NumpyGenerator)
    else:
        assert isinstance(sensor.generator, Sampler) and sensor.generator.precision == precision
    assert sensor.conditions_on_activity
    out = sensor.windows(0, KEYS[:2], 8, np.array([1, 5]))
    assert out.shape == (2, 8, 3) and np.isfinite(out).all()
    twin = SenseGenSensor(path, precision=precision)  # the name is exactly that checkpoint
    assert np.array_equal(twin.windows(0, KEYS[:2], 8, np.array([1, 5])), out)


def test_a_sensegen_window_is_the_same_in_any_batch(shipped_name: str) -> None:
    """What lets a runner job roll all its policies' readings together: a window depends on
    its seed, key and activity only (alone, first, last or in the middle of 40 rows)."""
    sensor = load_sensor(shipped_name)
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**62, (40, 4)).astype(np.uint64)
    activities = rng.choice([1, 2, 3, 5, 6], 40)
    batch = sensor.windows(11, keys, 20, activities)
    for row in (0, 17, 39):
        alone = sensor.windows(11, keys[row : row + 1], 20, activities[row : row + 1])
        assert np.array_equal(alone[0], batch[row]), row
    pair = sensor.windows(11, keys[[39, 0]], 20, activities[[39, 0]])
    assert np.array_equal(pair, batch[[39, 0]])


class _Streaming:
    """A plug-in written against the streaming protocol (reset, then sample phones)."""

    conditions_on_activity = False

    def reset(self, n_phones: int, seed: int) -> None:
        self.n_phones, self.seed = n_phones, seed

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert phones.max() < self.n_phones
        return np.full((len(phones), steps, 3), float(self.seed), dtype=np.float32)


def test_a_streaming_plug_in_sensor_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SENSORS, "streaming", SENSORS["none"])  # restored after the test
    register_sensor("streaming", _Streaming)
    sensor = load_sensor("streaming")
    assert isinstance(sensor, StreamingAdapter) and isinstance(sensor, SensorGenerator)
    out = sensor.windows(4, KEYS, 5)
    assert out.shape == (3, 5, 3) and (out == 4.0).all()


def test_a_plug_in_that_is_no_sensor_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SENSORS, "broken", SENSORS["none"])
    register_sensor("broken", object)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="has neither windows"):
        load_sensor("broken")


def test_the_small_sensegen_is_the_paper_recipe_at_half_width() -> None:
    """Without styles: at half the width they cost the unconditioned model (see
    ``generators/checkpoints/README.md``)."""
    small = torch.load(SMALL_CHECKPOINT, weights_only=True)
    paper = torch.load(SHIPPED_CHECKPOINT, weights_only=True)
    assert paper["config"]["n_styles"] == len(paper["styles"]) == 20
    assert {**small["config"], "n_styles": 0} == {
        **paper["config"],
        "hidden_size": 128,
        "n_styles": 0,
    }
    # Same data, seed, schedule and rounds; only the paper width's last fine-tune ("Louder
    # downstairs") weighs the amplitude loss more and warms up (the small model was no better).
    last_fine_tune = {"amplitude_weight": 10.0, "lr_warmup": 100}
    assert {k: paper["train_config"][k] for k in last_fine_tune} == last_fine_tune
    small_recipe = {**small["train_config"], "lr_warmup": small["train_config"].get("lr_warmup", 0)}
    assert small_recipe == {**paper["train_config"], "amplitude_weight": 3.0, "lr_warmup": 0}
    assert SMALL_CHECKPOINT.stat().st_size < 2_000_000


@pytest.mark.parametrize(("name", "styled"), [("sensegen", True), ("sensegen-small", False)])
def test_a_styled_person_keeps_one_gait(name: str, styled: bool) -> None:
    """With styles, a simulated person's walking readings share that person's gait: the
    amplitude of their windows varies between persons far more than between one person's
    readings (one-way ANOVA over 24 persons x 10 readings). Without styles the person does
    not matter."""
    sensor = load_sensor(name)
    persons, readings = 24, 10
    keys = np.array(
        [[p, r, 1_000 * r, 1] for p in range(persons) for r in range(readings)], dtype=np.uint64
    )
    windows = sensor.windows(5, keys, 128, np.ones(len(keys), np.int64))
    z_std = windows[:, :, 2].std(axis=1).reshape(persons, readings)
    p_value = scipy.stats.f_oneway(*z_std).pvalue
    assert (p_value < 1e-6) if styled else (p_value > 1e-3), p_value
