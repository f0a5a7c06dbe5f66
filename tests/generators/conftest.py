"""Fixtures for the SenseGen tests: a synthetic HAPT folder and a tiny checkpoint.

The synthetic folder mimics the HAPT layout (``RawData/acc_expXX_userYY.txt``,
``RawData/labels.txt``, ``activity_labels.txt``) so the loader and a tiny training run are tested
without the real data; tests on the real data use the suite-wide ``hapt_dir`` fixture, which
skips when ``../shared/data/hapt`` (or ``$MCSIM_DATA/hapt``) is absent. The slow marker is
handled by ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen.config import Normalizer
from generators.sensegen.model import (
    CHECKPOINT_FORMAT,
    GeneratorConfig,
    SenseGenGenerator,
)
from mcsim.sim.sensing import reading_rng

ACTIVITIES = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
)
TINY = GeneratorConfig(hidden_size=16, num_layers=2, fc_size=8, n_components=3)


def write_hapt(root: Path, users: tuple[int, ...] = (1, 2), samples: int = 3000) -> Path:
    """Write a small HAPT-like folder: gravity on z plus a 2 Hz sway, two labelled segments."""
    raw = root / "RawData"
    raw.mkdir(parents=True)
    (root / "activity_labels.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in enumerate(ACTIVITIES, start=1))
    )
    rng = np.random.default_rng(0)
    t = np.arange(samples) / 50.0
    labels = []
    for exp, user in enumerate(users, start=1):
        sway = 0.2 * np.sin(2 * np.pi * 2.0 * t[:, None] + np.array([0.0, 1.0, 2.0]))
        acc = sway + np.array([0.0, 0.0, 1.0]) + 0.01 * rng.standard_normal((samples, 3))
        np.savetxt(raw / f"acc_exp{exp:02d}_user{user:02d}.txt", acc, fmt="%.10f")
        labels.append(f"{exp} {user} 1 101 1100\n{exp} {user} 4 1201 {samples - 100}\n")
    (raw / "labels.txt").write_text("".join(labels))
    return root


@pytest.fixture
def synthetic_hapt(tmp_path: Path) -> Path:
    """A synthetic HAPT folder with users 1 and 2 (3000 samples each)."""
    return write_hapt(tmp_path / "hapt")


def make_checkpoint(
    path: Path,
    config: GeneratorConfig = TINY,
    mean: tuple[float, ...] = (0.0, 0.0, 0.0),
    std: tuple[float, ...] = (0.1, 0.1, 0.1),
    val_users: tuple[int, ...] = (2,),
) -> Path:
    """Save an untrained generator as a SenseGen checkpoint (seeded weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SenseGenGenerator(config)
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": config.to_dict(),
            "generator": model.state_dict(),
            "normalization": {"mean": list(mean), "std": list(std)},
            "activities": ["UNLABELLED", *ACTIVITIES],
            "styles": [f"user{user:02d}" for user in range(1, config.n_styles + 1)],
            "train_config": {"val_users": list(val_users)},
            "metadata": {},
        },
        path,
    )
    return path


@pytest.fixture
def checkpoint_factory() -> Callable[..., Path]:
    """:func:`make_checkpoint`, for tests that need other statistics or a config to break."""
    return make_checkpoint


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    """An untrained tiny generator checkpoint (std 0.1 g, mean 0)."""
    return make_checkpoint(tmp_path / "tiny.pt")


def oracle_window(
    model: SenseGenGenerator,
    normalizer: Normalizer,
    burn_in: int,
    seed: int,
    key: np.ndarray,
    steps: int,
    activity: int,
) -> np.ndarray:
    """The oracle of a keyed fresh window (``Sampler.windows``, ``NumpyGenerator.windows``): a
    plain step-by-step torch roll of one stream (learned start state, zero input, burn-in)
    with the reading's own draws, in g."""
    total = burn_in + steps
    rng = reading_rng(seed, key)
    u = rng.random(total, dtype=np.float32)
    eps = rng.standard_normal((total, 3), dtype=np.float32)
    cond = torch.tensor([activity])
    state = model.start_state(cond, 1)
    x = torch.zeros((1, 3))
    out = []
    with torch.inference_mode():
        for t in range(total):
            onehot = model.condition(cond, (1, 1))
            inp = x[:, None, :] if onehot is None else torch.cat([x[:, None, :], onehot], -1)
            hs, state = model.lstm(inp, state)
            params = model.mixture(hs[:, 0])
            x = model.pick(params, torch.tensor([[u[t]]]), torch.from_numpy(eps[t : t + 1]))
            out.append(x[0].numpy().copy())
    return normalizer.denormalize(np.stack(out)[burn_in:])


@pytest.fixture
def window_oracle() -> Callable[..., np.ndarray]:
    """:func:`oracle_window`, for the tests of both keyed-window implementations."""
    return oracle_window
