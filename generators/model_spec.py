"""How a scenario names a model plug-in (a sensor, a validator): one rule for both.

A value is either a registered name (case-insensitive; a name with a shipped checkpoint needs
that file) or the path of a ``.pt`` checkpoint of the plug-in's own kind, relative to the
scenario's folder. It is checked here, before anything heavy is imported (no torch), so a
scenario with a typo fails at validation, naming what it expected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from mcsim.errors import InputError


@dataclass(frozen=True)
class ModelSpec:
    """A parsed value: a registered name, or a checkpoint path (with the name of its kind)."""

    name: str
    checkpoint: Path | None = None

    def __str__(self) -> str:
        return self.name if self.checkpoint is None else str(self.checkpoint)


def parse_model_spec(
    spec: str,
    *,
    registered: Collection[str],
    shipped: Mapping[str, Path],
    path_name: str,
    what: str,
    model: str,
    base: Path | None = None,
) -> ModelSpec:
    """Read one scenario value naming a model plug-in.

    Args:
        spec: the value.
        registered: the registry's (lower-case) names.
        shipped: names whose model is a shipped checkpoint -> its path (must exist).
        path_name: the name a checkpoint path is loaded as (its kind, e.g. ``sensegen``).
        what: the scenario key's noun in messages (``sensor``, ``validator``).
        model: the checkpoint kind in messages (``SenseGen``, ``validator``).
        base: folder that a relative checkpoint path is relative to (the scenario's).

    Raises:
        InputError: an unknown name, a missing checkpoint file or a missing shipped one.
    """
    text = spec.strip()
    key = text.lower()
    others = sorted(n for n in registered if n not in shipped)
    alternatives = " or ".join([*(repr(n) for n in others), f"a path to a {model} .pt checkpoint"])
    if key in registered:
        path = shipped.get(key)
        if path is not None and not path.is_file():
            raise InputError(
                f"the shipped {model} checkpoint {path} is missing; expected {alternatives}"
            )
        return ModelSpec(key)
    if not text.endswith(".pt"):
        names = ", ".join(repr(n) for n in sorted(registered))
        raise InputError(
            f"unknown {what} {spec!r}; expected one of {names} or a path to a {model} .pt "
            "checkpoint"
        )
    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = (base / path).resolve()
    if not path.is_file():
        raise InputError(f"no such checkpoint {str(path)!r}")
    return ModelSpec(path_name, path)
