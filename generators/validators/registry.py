"""The validators a scenario may name: ``validator: hapt`` or ``validator: path/to/model.pt``.

Like :mod:`generators.sensors`, a scenario's value is parsed here once
(:func:`parse_validator_spec`), cheaply and without torch, so that scenario validation can
reject a typo or a missing file before anything runs; :func:`load_validator` then builds it.
A registered name maps to a factory (``hapt``: the shipped checkpoint; add more with
:func:`register_validator`); any other value ending in ``.pt`` is a validator checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generators.model_spec import ModelSpec, parse_model_spec
from mcsim.errors import InputError
from mcsim.platform.validation import ReadingValidator

ValidatorFactory = Callable[[], ReadingValidator]


def _hapt() -> ReadingValidator:
    from generators.validators.validator import HaptValidator  # torch only when used

    return HaptValidator.from_checkpoint()


#: Validator names a scenario may use -> a factory (lower-case; see :func:`register_validator`).
VALIDATORS: dict[str, ValidatorFactory] = {"hapt": _hapt}


def register_validator(name: str, factory: ValidatorFactory) -> None:
    """Make ``validator: NAME`` in a scenario build ``factory()`` (a ReadingValidator)."""
    key = name.strip().lower()
    if not key or key.endswith(".pt"):
        raise InputError(f"bad validator name {name!r}; expected a word (not a .pt path)")
    VALIDATORS[key] = factory


ValidatorSpec = ModelSpec  # a parsed ``validator`` value (a name, or a checkpoint path)


def parse_validator_spec(spec: str, base: Path | None = None) -> ValidatorSpec:
    """Read a scenario's ``validator`` value (checked here, before anything is loaded).

    Args:
        spec: a registered name (case-insensitive) or the path of a ``.pt`` checkpoint.
        base: folder that a relative checkpoint path is relative to (the scenario's).

    Raises:
        InputError: an unknown name, a missing checkpoint file, or a missing shipped one.
    """
    from generators.validators import SHIPPED_CHECKPOINT

    return parse_model_spec(
        str(spec),
        registered=VALIDATORS,
        shipped={"hapt": SHIPPED_CHECKPOINT},
        path_name="hapt",
        what="validator",
        model="validator",
        base=base,
    )


def load_validator(spec: str | ValidatorSpec, steps: int | None = None) -> ReadingValidator:
    """The validator for a scenario's ``validator`` value (see :func:`parse_validator_spec`).

    Args:
        spec: the value, or its parsed form.
        steps: the readings' window length [samples]; a validator that needs longer
            windows is refused here.

    Raises:
        InputError: an unknown spec or too short windows; CheckpointError: a bad checkpoint
            file (named in the message).
    """
    parsed = spec if isinstance(spec, ValidatorSpec) else parse_validator_spec(spec)
    if parsed.checkpoint is not None:
        from generators.validators.validator import HaptValidator

        return HaptValidator.from_checkpoint(parsed.checkpoint, steps)
    validator = VALIDATORS[parsed.name]()
    if steps is not None and steps < validator.min_steps:
        raise InputError(
            f"validator {parsed.name!r} judges windows of at least {validator.min_steps} "
            f"samples; the readings have {steps}"
        )
    return validator
