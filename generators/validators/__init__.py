"""Reading validators: judge a phone's accelerometer window (which activity? recorded at all?).

The platform's acceptance rule and the :class:`~mcsim.platform.validation.ReadingValidator`
protocol live in the core (``mcsim.platform.validation``); this package implements it with a
small CNN trained on real HAPT recordings only (never on generated streams), so that it judges
SenseGen's phones as it would judge real ones.

Modules: ``model`` (network, checkpoint format), ``data`` (real and fabricated windows),
``train``, ``evaluate``, ``validator`` (:class:`HaptValidator`), ``registry`` (names a
scenario may use) and ``cli`` (``mcsim validator train | evaluate``). Most callers need only
:func:`load_validator`:

    >>> from generators.validators import VALIDATORS, parse_validator_spec
    >>> sorted(VALIDATORS)
    ['hapt']
    >>> parse_validator_spec("hapt").name
    'hapt'

``HaptValidator`` is imported on first use (it needs torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generators import shipped_checkpoint

#: The validator trained on HAPT users 1-19 that ships with the package (package data).
SHIPPED_CHECKPOINT = shipped_checkpoint("validator_hapt.pt")

from generators.validators.registry import (  # after SHIPPED_CHECKPOINT: the registry reads it
    VALIDATORS,
    ValidatorSpec,
    load_validator,
    parse_validator_spec,
    register_validator,
)

if TYPE_CHECKING:
    from generators.validators.validator import HaptValidator

__all__ = [
    "SHIPPED_CHECKPOINT",
    "VALIDATORS",
    "HaptValidator",
    "ValidatorSpec",
    "load_validator",
    "parse_validator_spec",
    "register_validator",
]


def __getattr__(name: str) -> Any:
    if name == "HaptValidator":
        from generators.validators.validator import HaptValidator

        return HaptValidator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
