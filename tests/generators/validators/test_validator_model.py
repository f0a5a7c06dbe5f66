"""The validator network and its checkpoint format (generators/validators/model.py): any window
length, shape/scale split, round trip, and every bad file a CheckpointError naming it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from generators.validators import SHIPPED_CHECKPOINT
from generators.validators.model import (
    CHECKPOINT_FORMAT,
    checkpoint_dict,
    load_validator_checkpoint,
)
from mcsim.errors import CheckpointError
from tests.generators.validators.conftest import save_tiny, tiny_net

ALLOWED = (torch.Tensor, dict, list, str, int, float, bool, type(None))


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, ALLOWED)


@pytest.mark.parametrize("steps", [16, 64, 128, 333])
def test_any_window_length_gives_one_judgement(steps: int) -> None:
    activity, real = tiny_net()(torch.randn(3, steps, 3))
    assert activity.shape == (3, 6) and real.shape == (3,)


def test_shape_and_scale_enter_separately() -> None:
    # The convolutions see each window divided by its RMS: doubling the amplitude changes
    # only the three log-RMS scale features, which the network reads beside the shape.
    net = tiny_net()
    x = torch.randn(2, 128, 3) * 0.05
    features = net.features((x / x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()).transpose(1, 2))
    doubled = net.features(
        ((2 * x) / (2 * x).pow(2).mean(dim=(1, 2), keepdim=True).sqrt()).transpose(1, 2)
    )
    torch.testing.assert_close(features, doubled)
    assert not torch.allclose(net(x)[1], net(2 * x)[1])


def test_round_trip_keeps_outputs(tmp_path: Path) -> None:
    path = save_tiny(tmp_path / "v.pt")
    loaded = load_validator_checkpoint(path, steps=128)
    x = torch.randn(4, 100, 3) * 0.1
    with torch.inference_mode():
        for mine, theirs in zip(tiny_net()(x), loaded.net(x), strict=True):
            torch.testing.assert_close(mine, theirs)
    assert loaded.min_steps == 64 and loaded.sample_rate_hz == 50.0
    assert loaded.training == {"held_out_users": [2], "epochs": 0}
    assert _plain(torch.load(path, weights_only=True))


def test_the_shipped_checkpoint_is_small_and_says_how_it_was_made() -> None:
    assert SHIPPED_CHECKPOINT.stat().st_size < 1_000_000
    ckpt = torch.load(SHIPPED_CHECKPOINT, weights_only=True)
    assert ckpt["format"] == CHECKPOINT_FORMAT and _plain(ckpt)
    record = ckpt["training"]
    assert record["held_out_users"] == [20, 21, 22, 23, 24]
    assert not set(record["train_users"]) & set(record["held_out_users"])
    for key in ("epochs", "seed", "elapsed_s", "held_out", "fake_kinds", "train_config"):
        assert key in record, key
    assert record["held_out"]["real"]["family_accuracy"] > 0.95


def test_missing_and_truncated_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nope\.pt: missing; expected a reading-validator"):
        load_validator_checkpoint(tmp_path / "nope.pt")
    path = save_tiny(tmp_path / "cut.pt")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable torch checkpoint"):
        load_validator_checkpoint(path)


class _Payload:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.target), "w"))


def test_a_malicious_pickle_does_not_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": CHECKPOINT_FORMAT, "x": _Payload(target)}, protocol=2))
    with pytest.raises(CheckpointError, match=r"evil\.pt: not a readable torch checkpoint"):
        load_validator_checkpoint(path)
    assert not target.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "mcsim-validator/2"}, r"expected a dict with format 'mcsim-validator/1'"),
        ({"format": "mcsim-sensegen-v1"}, r"got 'mcsim-sensegen-v1'"),
        ({"sample_rate_hz": 25.0}, r"trained on 25\.0 Hz windows; the simulator's readings are 50"),
        ({"min_steps": 0}, "min_steps must be a positive int"),
        ({"activity_ids": [1, 2, 3]}, r"predicts activities \[1, 2, 3\]"),
        ({"config": {"channels": [4, 4], "hidden": 8, "typo": 1}}, r"entry 'config'.*'typo'"),
        ({"config": {"channels": [8, 8], "hidden": 8}}, "model weights do not match"),
        ({"normalization": {"rms_g": [0.1, 0.1]}}, "model weights do not match.*3 per-axis"),
        ({"training": "none"}, "entry 'training' must be a dict"),
    ],
)
def test_mismatched_checkpoints_name_the_file(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = save_tiny(tmp_path / "bad.pt", **changes)
    with pytest.raises(CheckpointError, match=message) as info:
        load_validator_checkpoint(path)
    assert info.value.path == str(path)


def test_missing_keys_and_nan_weights(tmp_path: Path) -> None:
    net = tiny_net()
    ckpt = checkpoint_dict(net, 64, {})
    del ckpt["normalization"]
    torch.save(ckpt, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match=r"missing keys \['normalization'\]"):
        load_validator_checkpoint(tmp_path / "short.pt")
    ckpt = checkpoint_dict(net, 64, {})
    ckpt["model"]["fc.bias"][0] = float("nan")
    torch.save(ckpt, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=r"tensor model\.fc\.bias holds NaN"):
        load_validator_checkpoint(tmp_path / "nan.pt")


def test_a_window_shorter_than_it_supports_is_refused_at_load(tmp_path: Path) -> None:
    path = save_tiny(tmp_path / "v.pt")
    with pytest.raises(CheckpointError, match=r"v\.pt: judges windows of at least 64 samples"):
        load_validator_checkpoint(path, steps=50)
    assert load_validator_checkpoint(path, steps=64).min_steps == 64
