"""Validator training (generators/validators/train.py): a tiny deterministic run on synthetic
HAPT, the written checkpoint and its record, bad settings, and (slow) the real recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from generators.validators.config import TrainConfig, ValidatorConfig
from generators.validators.data import load_split
from generators.validators.model import load_validator_checkpoint
from generators.validators.train import fit, train
from mcsim.errors import InputError

TINY_MODEL = ValidatorConfig(channels=(4, 4), hidden=8)
TINY = TrainConfig(held_out_users=(2,), stride=64, epochs=2, batch=8)


def test_training_is_deterministic(synthetic_hapt: Path) -> None:
    train_set, _ = load_split((2,), 128, 64, data_dir=synthetic_hapt)
    one, info = fit(TINY, TINY_MODEL, train_set)
    two, _ = fit(TINY, TINY_MODEL, train_set)
    for (name, a), b in zip(one.state_dict().items(), two.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert info["steps"] == 2 * (len(train_set) // 8)
    other, _ = fit(TrainConfig(**{**TINY.to_dict(), "seed": 1, "held_out_users": (2,)}),
                   TINY_MODEL, train_set)  # fmt: skip
    assert not torch.equal(one.fc.weight, other.fc.weight)


def test_train_writes_a_checkpoint_with_its_record(synthetic_hapt: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "validator.pt"
    ckpt = train(TINY, TINY_MODEL, out, data_dir=synthetic_hapt)
    assert sorted(p.name for p in out.parent.iterdir()) == ["validator.pt"]
    loaded = load_validator_checkpoint(out, steps=128)
    record = loaded.training
    assert record == ckpt["training"]
    assert record["train_users"] == [1] and record["held_out_users"] == [2]
    assert record["epochs"] == 2 and record["seed"] == 0 and record["elapsed_s"] >= 0
    assert record["train_config"]["held_out_users"] == [2]
    assert set(record["held_out"]["fabricated"]) >= {"noise", "shuffled", "noise_0.3g"}
    assert 0 <= record["held_out"]["real"]["activity_accuracy"] <= 1
    assert loaded.min_steps == TINY.min_steps


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_steps": 200}, r"min_steps \(200\) <= steps \(128\)"),
        ({"epochs": 0}, "batch and epochs must be >= 1"),
    ],
)
def test_bad_settings(synthetic_hapt: Path, changes: dict[str, int], message: str) -> None:
    train_set, _ = load_split((2,), 128, 64, data_dir=synthetic_hapt)
    config = TrainConfig(**{**TINY.to_dict(), "held_out_users": (2,), **changes})
    with pytest.raises(InputError, match=message):
        fit(config, TINY_MODEL, train_set)


@pytest.mark.slow
def test_the_shipped_recipe_on_real_hapt(hapt_dir: Path, tmp_path: Path) -> None:
    """About 90 s on one core: the defaults reach the targets on held-out users 20-24."""
    ckpt = train(TrainConfig(), ValidatorConfig(), tmp_path / "v.pt", data_dir=hapt_dir)
    held_out = ckpt["training"]["held_out"]
    assert held_out["real"]["family_accuracy"] > 0.95
    assert held_out["real"]["accepted"] > 0.95
    for kind in ("noise", "shuffled"):
        assert held_out["fabricated"][kind]["balanced_accuracy"] > 0.95, kind
