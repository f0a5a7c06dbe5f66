"""Real and fabricated windows (generators/validators/data.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.sensegen.data import Recording
from generators.validators.data import (
    FAKE_KINDS,
    STD_RANGE_G,
    augment,
    fabricate,
    fabricate_mix,
    load_split,
    real_windows,
)
from mcsim.errors import InputError


def _recording() -> Recording:
    # 0-99 unlabelled, 100-399 walking, 400-449 a transition (id 7), 450-699 sitting.
    acc = np.arange(700 * 3, dtype=np.float32).reshape(700, 3)
    labels = np.zeros(700, dtype=np.int64)
    labels[100:400], labels[400:450], labels[450:700] = 1, 7, 4
    return Recording(user=3, experiment=1, acc=acc, labels=labels)


def test_windows_lie_inside_one_steady_segment() -> None:
    got = real_windows([_recording()], steps=100, stride=50)
    starts = (got.windows[:, 0, 0] / 3).astype(int).tolist()
    assert starts == [100, 150, 200, 250, 300, 450, 500, 550, 600]
    assert got.activity.tolist() == [1] * 5 + [4] * 4
    assert got.user.tolist() == [3] * 9 and got.windows.dtype == np.float32
    assert len(got) == 9 and got.windows.shape == (9, 100, 3)
    with pytest.raises(InputError, match="no labelled segment of activities 1-6 is 400"):
        real_windows([_recording()], steps=400, stride=50)


def test_load_split_keeps_users_apart(synthetic_hapt: Path) -> None:
    train, held_out = load_split((2,), steps=128, stride=64, data_dir=synthetic_hapt)
    assert set(train.user.tolist()) == {1} and set(held_out.user.tolist()) == {2}
    assert set(held_out.activity.tolist()) == {1, 4}
    # held-out windows are disjoint (stride = steps)
    assert len(held_out) < len(train)


@pytest.mark.parametrize("kind", FAKE_KINDS)
def test_every_kind_is_seeded_finite_and_shaped(kind: str) -> None:
    pool = np.random.default_rng(9).normal(0, 0.1, (10, 128, 3)).astype(np.float32)
    first = fabricate(kind, 6, 96, np.random.default_rng(1), pool)
    again = fabricate(kind, 6, 96, np.random.default_rng(1), pool)
    assert first.shape == (6, 96, 3) and first.dtype == np.float32
    assert np.isfinite(first).all() and np.array_equal(first, again)


def test_amplitudes_span_the_real_range() -> None:
    stds = fabricate("noise", 400, 128, np.random.default_rng(0)).std(axis=(1, 2))
    assert STD_RANGE_G[0] * 0.5 < stds.min() < 0.01 and 0.2 < stds.max() < STD_RANGE_G[1] * 1.5
    fixed = fabricate("noise", 50, 128, np.random.default_rng(0), std_g=0.3)
    assert fixed.std() == pytest.approx(0.3, rel=0.1)


def test_shuffled_windows_are_real_values_in_another_order() -> None:
    pool = np.random.default_rng(3).normal(0, 0.1, (1, 128, 3)).astype(np.float32)
    shuffled = fabricate("shuffled", 2, 128, np.random.default_rng(0), pool)
    for window in shuffled:
        assert np.array_equal(np.sort(window, axis=0), np.sort(pool[0], axis=0))
        assert not np.array_equal(window, pool[0])
    with pytest.raises(InputError, match="pool of real windows of >= 128"):
        fabricate("shuffled", 1, 128, np.random.default_rng(0), pool[:, :64])


def test_offsets_and_smoothness() -> None:
    rng = np.random.default_rng(0)
    offset = fabricate("offset", 100, 128, rng)
    assert (np.abs(offset.mean(axis=1)) > 0.05).all()

    def lag1(x: np.ndarray) -> float:
        x = x - x.mean(axis=1, keepdims=True)
        return float(((x[:, 1:] * x[:, :-1]).sum(1) / (x * x).sum(1)).mean())

    assert lag1(fabricate("noise", 100, 128, rng)) < 0.1
    assert lag1(fabricate("smooth", 100, 128, rng)) > 0.5
    assert lag1(fabricate("walk", 100, 128, rng)) > 0.8


def test_unknown_kind() -> None:
    with pytest.raises(InputError, match="unknown fabrication kind 'gan'"):
        fabricate("gan", 1, 128, np.random.default_rng(0))


def test_mix_and_augment() -> None:
    rng = np.random.default_rng(0)
    pool = rng.normal(0, 0.1, (5, 128, 3)).astype(np.float32)
    mix = fabricate_mix(40, 64, rng, pool)
    assert mix.shape == (40, 64, 3) and np.isfinite(mix).all()
    windows = np.ones((200, 8, 3), np.float32)
    scaled = augment(windows, rng)
    factors = scaled[:, 0, 0]
    assert (factors >= 0.8).all() and (factors <= 1.25).all() and factors.std() > 0.05
    assert (scaled == factors[:, None, None]).all()
