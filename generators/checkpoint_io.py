"""Reading the plug-ins' model checkpoints safely: one loader for SenseGen and the validators.

Every shipped model (``sensegen_hapt.pt``, ``validator_hapt.pt``) is a ``torch.save`` dict of
plain tensors, dicts, lists, str, int and float, tagged with a format string. A checkpoint
may come from a scenario file, so it is untrusted input: it is read only with
``torch.load(weights_only=True)`` (:func:`load_checkpoint_file`) or, where torch is not
needed (the simulator's numpy SenseGen), with the same whitelist in
:mod:`generators.torch_archive` (:func:`load_checkpoint_arrays`); both unpickle nothing but
those plain types (a pickle whose ``__reduce__`` would run code is refused, not executed).
The checks every format needs live here once, so every loader fails alike, with a
:class:`~mcsim.errors.CheckpointError` naming the file and what was expected:

* the file is missing;
* it is not a readable torch file (truncated, corrupt, a plain pickle of other objects);
* it is not a dict with the expected ``format`` tag (another model, another version);
* required keys are missing;
* a tensor holds NaN or infinite values (a diverged run would stream NaN readings).

The stored settings (frozen dataclasses written as dicts) are read back strictly with
:func:`config_from_checkpoint`. What each format means beyond that (shapes, sample rate,
window length) is checked by the loader of that model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from generators.sensegen.config import ConfigError, StoredConfig
from generators.torch_archive import read_torch_archive
from mcsim.errors import CheckpointError
from mcsim.sim.sensing import SAMPLE_RATE_HZ

_Config = TypeVar("_Config", bound=StoredConfig)


def load_checkpoint_file(
    path: str | Path, format_tag: str, required: Iterable[str], what: str
) -> dict[str, Any]:
    """Load a tagged checkpoint dict with ``torch.load(weights_only=True)`` and check it.

    Args:
        path: the ``.pt`` file.
        format_tag: the value its ``format`` key must hold (e.g. ``"mcsim-sensegen-v1"``).
        required: keys that must be present.
        what: how the missing-file message names the expected file (e.g. ``"a SenseGen .pt
            checkpoint"``).

    Returns:
        The checkpoint dict, on the CPU.

    Raises:
        CheckpointError: missing file, not a torch file, another format tag, missing keys
            or weights that are not finite; the message names the file.
    """
    import torch

    return _checked(
        path, format_tag, required, what, partial(torch.load, map_location="cpu", weights_only=True)
    )


def load_checkpoint_arrays(
    path: str | Path, format_tag: str, required: Iterable[str], what: str
) -> dict[str, Any]:
    """:func:`load_checkpoint_file` without torch: the same checks and errors, tensors as
    read-only numpy arrays (:func:`generators.torch_archive.read_torch_archive`)."""
    return _checked(path, format_tag, required, what, read_torch_archive)


def _checked(
    path: str | Path,
    format_tag: str,
    required: Iterable[str],
    what: str,
    read: Callable[[Path], Any],
) -> dict[str, Any]:
    """``read(path)`` and the checks every format needs (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing; expected {what}", path=path)
    try:
        ckpt = read(path)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike
        raise CheckpointError(
            f"not a readable torch checkpoint ({type(exc).__name__}); "
            "expected a torch.save file of tensors, dicts, lists, str, int "
            "and float (loadable with weights_only=True)",
            path=path,
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != format_tag:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(
            f"expected a dict with format {format_tag!r}, got {found!r}", path=path
        )
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(f"missing keys {missing}", path=path)
    check_finite(ckpt, path)
    return ckpt


def check_finite(value: Any, path: str | Path, where: str = "") -> None:
    """Every floating tensor or array inside ``value`` (dicts and lists walked) is finite.

    Raises:
        CheckpointError: naming the file and the tensor's key path (e.g. ``model.head.bias``).
    """
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, path, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_finite(item, path, f"{where}[{i}]")
    elif hasattr(value, "dtype") and hasattr(value, "shape"):  # a tensor or an array
        array = np.asarray(value.float() if _is_torch_float(value) else value)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise CheckpointError(
                f"tensor {where or 'value'} holds NaN or infinite values; expected finite "
                "weights (a diverged training run?)",
                path=path,
            )


def _is_torch_float(value: Any) -> bool:
    """A floating torch tensor (bfloat16 and half included), without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor) and value.is_floating_point()


def config_from_checkpoint(
    cls: type[_Config], ckpt: Mapping[str, Any], key: str, path: str | Path
) -> _Config:
    """Read the stored settings ``ckpt[key]`` strictly (see
    :class:`~generators.sensegen.config.StoredConfig`).

    Raises:
        CheckpointError: the entry is missing or does not fit ``cls``; names the file and key.
    """
    if key not in ckpt:
        raise CheckpointError(f"missing key {key!r} ({cls.__name__})", path=path)
    try:
        return cls.from_dict(ckpt[key])
    except ConfigError as exc:
        raise CheckpointError(f"entry {key!r}: {exc}", path=path) from exc


def check_sample_rate(rate: Any, path: str | Path) -> None:
    """A model's stored sample rate is the simulator's readings' (50 Hz).

    Raises:
        CheckpointError: another rate, or not a number; names the file and both rates.
    """
    if not isinstance(rate, int | float) or float(rate) != float(SAMPLE_RATE_HZ):
        raise CheckpointError(
            f"trained on {rate!r} Hz windows; the simulator's readings are {SAMPLE_RATE_HZ} Hz",
            path=path,
        )
