"""Fixtures for the reading-validator tests: the shipped validator and a tiny checkpoint.

The synthetic HAPT folder (``synthetic_hapt``) and the tiny SenseGen checkpoint
(``tiny_checkpoint``) come from ``tests/generators/conftest.py``; tests on the real data use
the suite-wide ``hapt_dir`` fixture, which skips when the data is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from generators.validators.config import ValidatorConfig
from generators.validators.model import ValidatorNet, checkpoint_dict
from generators.validators.validator import HaptValidator

TINY = ValidatorConfig(channels=(4, 4), hidden=8)


def tiny_net(seed: int = 0) -> ValidatorNet:
    """An untrained tiny network with seeded weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ValidatorNet(TINY, (0.1, 0.1, 0.1)).eval()


def save_tiny(path: Path, **changes: object) -> Path:
    """Save the tiny network as a validator checkpoint, with ``changes`` applied to its dict."""
    ckpt = checkpoint_dict(tiny_net(), 64, {"held_out_users": [2], "epochs": 0})
    ckpt.update(changes)
    torch.save(ckpt, path)
    return path


@pytest.fixture
def tiny_validator_checkpoint(tmp_path: Path) -> Path:
    """An untrained tiny validator checkpoint (min_steps 64, 50 Hz)."""
    return save_tiny(tmp_path / "tiny_validator.pt")


@pytest.fixture(scope="session")
def shipped_validator() -> HaptValidator:
    """The validator shipped with the package (generators/checkpoints/validator_hapt.pt)."""
    return HaptValidator.from_checkpoint()
