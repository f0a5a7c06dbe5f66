"""Sensor generators for simulated phones: the interface the simulator uses and two sources.

The simulator only needs "continue these phones' accelerometer streams by T samples", so the
interface is two methods (:class:`SensorGenerator`). ``SenseGenSensor`` serves the trained
SenseGen model; ``NoiseSensor`` is a cheap seeded stand-in for tests and for ``sensor: none``.
``load_sensor`` maps a scenario's sensor spec to one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from mcsim.errors import InputError

N_AXES = 3  # accelerometer axes x, y, z


@runtime_checkable
class SensorGenerator(Protocol):
    """A source of per-phone 50 Hz 3-axis body-acceleration streams in g."""

    def reset(self, n_phones: int, seed: int) -> None:
        """Start ``n_phones`` fresh streams seeded by ``seed``."""
        ...

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """Continue each listed phone's stream by ``steps`` samples.

        Args:
            phones: distinct integer phone indices, shape (n,).
            steps: samples per phone.
            activities: optional integer HAPT activity ids per phone (0 = unspecified).

        Returns:
            float32 array (n, steps, 3) [g].
        """
        ...


class SenseGenSensor:
    """SenseGen streams from a checkpoint (default: the one shipped with the package).

    Args:
        checkpoint: path of a ``.pt`` checkpoint, or None for the shipped HAPT model.
        device: torch device for generation.
    """

    def __init__(self, checkpoint: str | Path | None = None, device: str = "cpu") -> None:
        from generators.sensegen.sample import Sampler  # torch only when SenseGen is used

        self.sampler = Sampler.from_checkpoint(checkpoint, device=device)

    def reset(self, n_phones: int, seed: int) -> None:
        """Start ``n_phones`` fresh streams seeded by ``seed``."""
        self.sampler.reset(n_phones, seed)

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """Continue each listed phone's SenseGen stream; see :class:`SensorGenerator`."""
        return self.sampler.sample(phones, steps, activities)


class NoiseSensor:
    """Independent Gaussian noise per phone: a trivial, fast, seeded stand-in for SenseGen.

    Each phone has its own ``numpy.random.Generator`` spawned from the seed, so a phone's
    stream does not depend on which other phones are sampled with it.

    Args:
        std_g: standard deviation of every axis [g] (0.1 g is roughly HAPT walking).
    """

    def __init__(self, std_g: float = 0.1) -> None:
        self.std_g = std_g
        self._rngs: list[np.random.Generator] = []

    def reset(self, n_phones: int, seed: int) -> None:
        """Start ``n_phones`` fresh streams seeded by ``seed``."""
        if n_phones < 0:
            raise InputError(f"n_phones must be >= 0, got {n_phones}")
        seqs = np.random.SeedSequence(seed).spawn(n_phones)
        self._rngs = [np.random.default_rng(s) for s in seqs]

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """Continue each listed phone's noise stream (``activities`` is ignored)."""
        arr = np.asarray(phones)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"phones must be a 1-D integer array, got shape {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(self._rngs)):
            raise InputError(f"phone indices must lie in [0, {len(self._rngs)}); call reset()")
        if steps < 0:
            raise InputError(f"steps must be >= 0, got {steps}")
        out = np.empty((len(arr), steps, N_AXES), dtype=np.float32)
        for row, phone in enumerate(arr):
            out[row] = self._rngs[phone].normal(0.0, self.std_g, (steps, N_AXES))
        return out


def load_sensor(spec: str | None) -> SensorGenerator:
    """The sensor generator for a scenario's ``sensor`` value.

    Args:
        spec: ``"sensegen"`` (the shipped checkpoint), a path to a ``.pt`` checkpoint, or
            ``"none"``/None (``NoiseSensor``: no learned model, for tests and fast runs).

    Raises:
        InputError: an unknown spec; CheckpointError: a bad checkpoint file.
    """
    if spec is None or spec.strip().lower() == "none":
        return NoiseSensor()
    if spec.strip().lower() == "sensegen":
        return SenseGenSensor()
    if spec.endswith(".pt"):
        return SenseGenSensor(Path(spec))
    raise InputError(
        f"unknown sensor {spec!r}; expected 'sensegen', 'none' or a path to a "
        "SenseGen .pt checkpoint"
    )
