"""One serialiser for the SenseGen settings that travel inside a checkpoint.

A ``weights_only`` torch checkpoint holds only plain containers and scalars, so each stored
frozen dataclass (``model.GeneratorConfig`` and ``DiscriminatorConfig``, ``train.TrainConfig``,
``data.Normalizer``) is written as a dict of its fields with tuples as lists. They all inherit
:class:`StoredConfig` so that writing and reading follow one rule:

* :meth:`StoredConfig.to_dict` writes every field, tuples (also nested) as lists;
* :meth:`StoredConfig.from_dict` reads strictly: a key the class does not have is an error (a
  typo, or a checkpoint of another version, must not be half-read silently), a field without a
  default that is absent is an error, and a field typed as a tuple gets a tuple back (found
  from the dataclass's type hints, so no class converts by hand).

Every failure is a :class:`ConfigError` naming the class and the keys. Code that reads a
checkpoint turns it into ``mcsim.errors.CheckpointError`` naming the file and the entry
(``generators.checkpoint_io.config_from_checkpoint``).

No field has been removed from any stored class so far (fields were only added, and those
have defaults), so there is no list of retired keys: a checkpoint written by an older version
loads, and one with a key this version does not know is refused.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, fields
from typing import Any, ClassVar, Self


class ConfigError(ValueError):
    """A stored settings dict that does not fit its class (unknown, missing or mistyped keys)."""


class StoredConfig:
    """Mixin for frozen dataclasses stored in a checkpoint as plain dicts.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Demo(StoredConfig):
        ...     users: tuple[int, ...] = (1, 2)
        >>> Demo().to_dict()
        {'users': [1, 2]}
        >>> Demo.from_dict({"users": [3]})
        Demo(users=(3,))
        >>> Demo.from_dict({"user": [3]})
        Traceback (most recent call last):
        ...
        generators.sensegen.config.ConfigError: Demo: unknown keys ['user'] (known: ['users'])
    """

    # Declared for type checkers: every subclass is a dataclass (this is what ``fields`` needs).
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (tuples as lists) for a ``weights_only`` checkpoint."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: ``raw`` is not a dict, has keys the class does not know, lacks a
                field without a default, or holds a non-sequence where a tuple belongs.
        """
        name = cls.__name__
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{name}: expected a dict of settings, got {type(raw).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(map(str, set(raw) - known.keys()))
        if unknown:
            raise ConfigError(f"{name}: unknown keys {unknown} (known: {sorted(known)})")
        missing = [key for key, f in known.items() if key not in raw and _required(f)]
        if missing:
            raise ConfigError(f"{name}: missing required keys {missing}")
        values = dict(raw)
        for key in _tuple_fields(cls) & values.keys():
            value = values[key]
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{name}: key {key!r} must be a list, got {type(value).__name__}")
            values[key] = tuple(value)
        return cls(**values)


def _plain(value: Any) -> Any:
    """``value`` with every tuple (also inside lists and tuples) turned into a list."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _required(f: Field[Any]) -> bool:
    """Whether the dataclass field has no default."""
    return f.init and f.default is MISSING and f.default_factory is MISSING


def _tuple_fields(cls: type[StoredConfig]) -> frozenset[str]:
    """Names of the fields of ``cls`` whose type is a tuple (``tuple[int, ...]`` and so on)."""
    hints = typing.get_type_hints(cls)
    return frozenset(
        f.name
        for f in fields(cls)
        if hints.get(f.name) is tuple or typing.get_origin(hints.get(f.name)) is tuple
    )
