"""HaptValidator (generators/validators/validator.py): the core protocol, shapes, determinism,
obvious fakes, a real held-out walking window, bad inputs and concurrent calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from generators.sensegen.data import load_hapt
from generators.validators.data import real_windows
from generators.validators.validator import HaptValidator
from mcsim.errors import InputError
from mcsim.platform.validation import MOVING_ACTIVITIES, ReadingValidator
from mcsim.sim.sensing import SAMPLE_RATE_HZ
from tests.generators.validators.conftest import tiny_net


def _noise(n: int, steps: int = 128, std: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, std, (n, steps, 3)).astype(np.float32)


def test_it_implements_the_core_protocol(shipped_validator: HaptValidator) -> None:
    assert isinstance(shipped_validator, ReadingValidator)
    assert shipped_validator.sample_rate_hz == SAMPLE_RATE_HZ == 50
    assert shipped_validator.min_steps == 64


@pytest.mark.parametrize("steps", [64, 128, 300])
def test_judgement_shapes_and_dtypes(shipped_validator: HaptValidator, steps: int) -> None:
    judged = shipped_validator.judge(_noise(5, steps, 0.01))
    assert judged.activity.shape == (5,) and judged.activity.dtype == np.int64
    assert judged.p_real.shape == (5,) and judged.p_real.dtype == np.float64
    assert set(judged.activity.tolist()) <= {1, 2, 3, 4, 5, 6}
    assert ((judged.p_real >= 0) & (judged.p_real <= 1)).all()


def test_no_windows_no_judgements(shipped_validator: HaptValidator) -> None:
    judged = shipped_validator.judge(np.zeros((0, 128, 3), np.float32))
    assert judged.activity.shape == (0,) and judged.p_real.shape == (0,)


def test_judgement_is_deterministic_and_batch_independent() -> None:
    windows = np.concatenate([_noise(7, std=0.2), _noise(6, std=0.005, seed=1)])
    big, small = HaptValidator(tiny_net(), 64), HaptValidator(tiny_net(), 64, batch=4)
    first, again, batched = big.judge(windows), big.judge(windows), small.judge(windows)
    assert np.array_equal(first.activity, again.activity)
    assert np.array_equal(first.p_real, again.p_real)
    assert np.array_equal(first.activity, batched.activity)
    np.testing.assert_allclose(first.p_real, batched.p_real, rtol=0, atol=1e-6)


def test_white_noise_is_judged_fabricated(shipped_validator: HaptValidator) -> None:
    judged = shipped_validator.judge(_noise(50, std=0.3))
    assert judged.p_real.max() < 0.1


def test_a_real_held_out_walking_window_is_walking_and_real(
    shipped_validator: HaptValidator, hapt_dir: Path
) -> None:
    # User 21 is one of the shipped validator's held-out users: never trained on.
    windows = real_windows(load_hapt(hapt_dir, users={21}), 128, 128)
    walking = windows.windows[windows.activity == 1]
    assert len(walking) >= 10
    judged = shipped_validator.judge(walking)
    assert np.isin(judged.activity, MOVING_ACTIVITIES).all()
    assert (judged.p_real >= 0.5).mean() >= 0.95


def test_bad_windows_are_refused(shipped_validator: HaptValidator) -> None:
    with pytest.raises(InputError, match=">= 64 samples long, got 32"):
        shipped_validator.judge(np.zeros((2, 32, 3), np.float32))
    with pytest.raises(InputError, match=r"shape \(n, steps, 3\), got shape \(128, 3\)"):
        shipped_validator.judge(np.zeros((128, 3), np.float32))
    with pytest.raises(InputError, match="numeric array"):
        shipped_validator.judge(np.full((1, 128, 3), "x"))


def test_non_finite_windows_are_fabricated_and_do_not_spoil_others(
    shipped_validator: HaptValidator,
) -> None:
    windows = _noise(3, std=0.2)
    clean = shipped_validator.judge(windows)
    windows[1, 5, 0] = np.nan
    windows[2, 0, 2] = np.inf
    judged = shipped_validator.judge(windows)
    assert judged.p_real[0] == clean.p_real[0]
    assert judged.p_real[1] == judged.p_real[2] == 0.0


def test_concurrent_calls_match_serial_ones(shipped_validator: HaptValidator) -> None:
    batches = [_noise(20, std=s, seed=i) for i, s in enumerate((0.005, 0.05, 0.2, 0.4))]
    serial = [shipped_validator.judge(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(shipped_validator.judge, batches))
    for one, other in zip(serial, parallel, strict=True):
        assert np.array_equal(one.activity, other.activity)
        assert np.array_equal(one.p_real, other.p_real)
