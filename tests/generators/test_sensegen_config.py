"""The one serialiser of SenseGen's stored settings (``generators.sensegen.config``).

Every config that travels in a checkpoint (generator and discriminator shapes, the training
schedule, the normalisation statistics) round-trips through a plain dict, refuses keys it does
not know by name, and the shipped checkpoint still reads back exactly as it was written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensegen.config import ConfigError, StoredConfig
from generators.sensegen.data import Normalizer
from generators.sensegen.model import (
    DiscriminatorConfig,
    GeneratorConfig,
    config_from_checkpoint,
    load_checkpoint,
)
from generators.sensegen.sample import Sampler
from generators.sensegen.train import TrainConfig
from mcsim.errors import CheckpointError

EXAMPLES: list[StoredConfig] = [
    GeneratorConfig(hidden_size=16, num_layers=2, n_conditions=0, sigma_min=0.5),
    DiscriminatorConfig(hidden_size=8),
    TrainConfig(seed=3, val_users=(5, 7), lane_life=2.5),
    Normalizer(mean=(0.1, -0.2, 0.0), std=(1.0, 2.0, 3.0)),
]
IDS = [type(c).__name__ for c in EXAMPLES]

#: The checkpoint entry each stored class is read from.
ENTRIES: dict[type[StoredConfig], str] = {
    GeneratorConfig: "config",
    DiscriminatorConfig: "discriminator_config",
    TrainConfig: "train_config",
    Normalizer: "normalization",
}


def _saved(raw: dict[str, object]) -> io.BytesIO:
    """``raw`` written with ``torch.save`` into a buffer, ready to load."""
    buffer = io.BytesIO()
    torch.save(raw, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("config", EXAMPLES, ids=IDS)
def test_round_trip_gives_plain_lists_and_tuples_back(config: StoredConfig) -> None:
    raw = config.to_dict()
    assert not any(isinstance(v, tuple) for v in raw.values())
    assert type(config).from_dict(raw) == config
    # Through torch's weights_only loader, as in a checkpoint.
    back = type(config).from_dict(torch.load(_saved(raw), weights_only=True))
    assert back == config


def test_tuple_fields_come_back_as_tuples() -> None:
    back = TrainConfig.from_dict({"val_users": [1, 2]})
    assert back.val_users == (1, 2)
    assert isinstance(back.val_users, tuple)
    norm = Normalizer.from_dict({"mean": [0.0], "std": [1.0]})
    assert isinstance(norm.mean, tuple) and isinstance(norm.std, tuple)


def test_to_dict_matches_the_checkpoint_layout() -> None:
    """Field order and list-valued tuples, exactly as the shipped checkpoints were written."""
    raw = TrainConfig().to_dict()
    assert list(raw)[:3] == ["seed", "val_users", "rounds"]
    assert raw["val_users"] == [21, 22, 23, 24]
    assert Normalizer((1.0,), (2.0,)).to_dict() == {"mean": [1.0], "std": [2.0]}


@pytest.mark.parametrize("config", EXAMPLES, ids=IDS)
def test_unknown_key_is_refused_by_name(config: StoredConfig) -> None:
    name = type(config).__name__
    with pytest.raises(ConfigError, match=rf"{name}: unknown keys \['retired_knob'\]"):
        type(config).from_dict({**config.to_dict(), "retired_knob": 1})


def test_missing_required_field_and_wrong_shapes_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"Normalizer: missing required keys \['std'\]"):
        Normalizer.from_dict({"mean": [0.0]})
    with pytest.raises(ConfigError, match="'val_users' must be a list, got int"):
        TrainConfig.from_dict({"val_users": 21})
    with pytest.raises(ConfigError, match="expected a dict of settings, got list"):
        GeneratorConfig.from_dict([1, 2])  # type: ignore[arg-type]  # the wrong type on purpose


def test_fields_with_defaults_may_be_absent() -> None:
    """Checkpoints written before a field existed load with that field's default."""
    assert TrainConfig.from_dict({}) == TrainConfig()
    assert GeneratorConfig.from_dict({"hidden_size": 8}) == GeneratorConfig(hidden_size=8)


def test_bad_entry_is_a_checkpoint_error_naming_the_file(
    tmp_path: Path, checkpoint_factory: Callable[..., Path]
) -> None:
    path = checkpoint_factory(tmp_path / "bad.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["normalization"]["scale"] = [1.0, 1.0, 1.0]
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"'normalization'.*unknown keys \['scale'\]") as info:
        Sampler.from_checkpoint(path)
    assert "bad.pt" in str(info.value)

    ckpt["normalization"].pop("scale")
    ckpt["config"]["typo"] = 1
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"GeneratorConfig: unknown keys \['typo'\]") as info:
        Sampler.from_checkpoint(path)
    assert "bad.pt" in str(info.value)

    ckpt["train_config"]["lr"] = 0.1
    with pytest.raises(CheckpointError, match=r"'train_config'.*\['lr'\]"):
        config_from_checkpoint(TrainConfig, ckpt, "train_config", path)
    with pytest.raises(CheckpointError, match="missing key 'discriminator_config'"):
        config_from_checkpoint(DiscriminatorConfig, ckpt, "discriminator_config", path)


@pytest.mark.skipif(not SHIPPED_CHECKPOINT.is_file(), reason="shipped checkpoint not built yet")
def test_shipped_checkpoint_reads_back_exactly() -> None:
    sampler = Sampler.from_checkpoint(None)
    ckpt = load_checkpoint(SHIPPED_CHECKPOINT)
    assert sampler.normalizer.to_dict() == ckpt["normalization"]
    for cls, key in ENTRIES.items():
        stored = config_from_checkpoint(cls, ckpt, key, SHIPPED_CHECKPOINT)
        # Same keys in the same order and the same values: re-saving writes the same entry,
        # followed by any field added since the file was written (at its default).
        written = list(stored.to_dict().items())
        assert written[: len(ckpt[key])] == list(ckpt[key].items())


def test_styles_cross_the_activities_and_never_the_unconditioned_model() -> None:
    config = GeneratorConfig(n_conditions=13, n_styles=20)
    assert config.condition_width == 13 * 21 and GeneratorConfig().condition_width == 13
    ids = config.condition_ids(np.array([1, 5, 0, 12]), np.array([1, 20, 7, 3]))
    assert ids.tolist() == [1 + 13, 5 + 13 * 20, 0, 12 + 13 * 3]


def test_a_styled_checkpoint_without_its_style_names_is_refused(
    tmp_path: Path, checkpoint_factory: Callable[..., Path]
) -> None:
    config = GeneratorConfig(hidden_size=8, num_layers=1, fc_size=4, n_components=2, n_styles=3)
    path = checkpoint_factory(tmp_path / "styled.pt", config)
    assert Sampler.from_checkpoint(path).model.config.n_styles == 3
    ckpt = torch.load(path, weights_only=True)
    ckpt["styles"] = ckpt["styles"][:2]
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"expected 3 style names.*got 2") as info:
        Sampler.from_checkpoint(path)
    assert "styled.pt" in str(info.value)
