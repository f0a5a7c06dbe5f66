"""Validator names and paths a scenario may use (generators/validators/registry.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.validators import (
    SHIPPED_CHECKPOINT,
    VALIDATORS,
    HaptValidator,
    ValidatorSpec,
    load_validator,
    parse_validator_spec,
    register_validator,
)
from mcsim.errors import CheckpointError, InputError
from mcsim.platform.validation import Judgement, ReadingValidator


class _Everything:
    """Accepts every window as real walking."""

    sample_rate_hz = 50.0
    min_steps = 200

    def judge(self, windows: np.ndarray) -> Judgement:
        n = len(windows)
        return Judgement(np.ones(n, np.int64), np.ones(n))


def test_names_are_case_insensitive_and_shipped() -> None:
    assert "hapt" in VALIDATORS and SHIPPED_CHECKPOINT.is_file()
    assert parse_validator_spec("  HAPT ") == ValidatorSpec("hapt")
    assert str(parse_validator_spec("hapt")) == "hapt"


def test_paths_are_relative_to_the_scenario(
    tiny_validator_checkpoint: Path, tmp_path: Path
) -> None:
    spec = parse_validator_spec(tiny_validator_checkpoint.name, base=tmp_path)
    assert spec == ValidatorSpec("hapt", tiny_validator_checkpoint)
    assert str(spec) == str(tiny_validator_checkpoint)
    with pytest.raises(InputError, match="no such checkpoint"):
        parse_validator_spec("other.pt", base=tmp_path)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"unknown validator 'oracle'; expected one of 'hapt'"):
        parse_validator_spec("oracle")


def test_loading(tiny_validator_checkpoint: Path) -> None:
    shipped = load_validator("hapt")
    assert isinstance(shipped, HaptValidator) and isinstance(shipped, ReadingValidator)
    tiny = load_validator(str(tiny_validator_checkpoint), steps=128)
    assert isinstance(tiny, HaptValidator) and tiny.min_steps == 64
    with pytest.raises(CheckpointError, match="at least 64 samples; the readings have 32"):
        load_validator(ValidatorSpec("hapt", tiny_validator_checkpoint), steps=32)
    with pytest.raises(InputError, match="validator 'hapt' judges windows of at least 64"):
        load_validator("hapt", steps=32)


def test_registering_a_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(VALIDATORS, "everything", _Everything)  # restored afterwards
    register_validator(" Everything ", _Everything)
    assert isinstance(load_validator("EVERYTHING"), _Everything)
    with pytest.raises(InputError, match="at least 200 samples; the readings have 128"):
        load_validator("everything", steps=128)
    for bad in ("", "model.pt"):
        with pytest.raises(InputError, match="bad validator name"):
            register_validator(bad, _Everything)
