"""The validator's settings (generators/validators/config.py): stored strictly, torch-free."""

from __future__ import annotations

import pytest

from generators.sensegen.config import ConfigError
from generators.validators.config import (
    ACTIVITY_IDS,
    ACTIVITY_NAMES,
    EvalConfig,
    Normalization,
    TrainConfig,
    ValidatorConfig,
)
from mcsim.platform.validation import CONTEXT_ACTIVITIES


def test_the_classes_are_the_core_s_six_activities() -> None:
    assert ACTIVITY_IDS == (1, 2, 3, 4, 5, 6) == CONTEXT_ACTIVITIES["any"]
    assert len(ACTIVITY_NAMES) == len(ACTIVITY_IDS)


@pytest.mark.parametrize("config", [ValidatorConfig(), TrainConfig(), Normalization((0.1,) * 3)])
def test_round_trip(config: ValidatorConfig | TrainConfig | Normalization) -> None:
    stored = config.to_dict()
    assert all(not isinstance(v, tuple) for v in stored.values())
    assert type(config).from_dict(stored) == config


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"TrainConfig: unknown keys \['epoch'\]"):
        TrainConfig.from_dict({"epoch": 3})


def test_defaults() -> None:
    train, evaluation = TrainConfig(), EvalConfig()
    assert train.held_out_users == (20, 21, 22, 23, 24) and train.min_steps <= train.steps
    assert evaluation.steps == train.steps == 128 and evaluation.threshold == 0.5
