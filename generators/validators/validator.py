"""``HaptValidator``: the platform's reading validator, a trained network behind the core protocol.

The core (:mod:`mcsim.platform.validation`) defines what the platform asks of a validator:
``judge(windows) -> Judgement(activity, p_real)``. This class answers it with the network of
:mod:`generators.validators.model`, loaded from a checkpoint (default: the shipped
``validator_hapt.pt``), in batches under ``torch.inference_mode``. A lock serialises calls,
so one instance may be shared by the threads of one process.

A window with NaN or infinite samples is judged fabricated (``p_real`` 0): no phone records
them, and one bad reading must not stop a simulation.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from generators.validators.config import ACTIVITY_IDS
from generators.validators.model import ValidatorNet, load_validator_checkpoint
from mcsim.errors import InputError
from mcsim.platform.validation import Judgement
from mcsim.sim.sensing import N_AXES, SAMPLE_RATE_HZ


class HaptValidator:
    """Activity and realness of 50 Hz accelerometer windows, from a network trained on HAPT.

    Args:
        net: the trained network.
        min_steps: shortest window it judges [samples].
        sample_rate_hz: rate of the windows it was trained on [Hz].
        batch: windows per forward pass (bounds the memory of one call).

    Example:
        >>> v = HaptValidator.from_checkpoint()  # doctest: +SKIP
        >>> j = v.judge(np.zeros((2, 128, 3), np.float32))  # doctest: +SKIP
        >>> j.activity.dtype, j.p_real.dtype  # doctest: +SKIP
        (dtype('int64'), dtype('float64'))
    """

    def __init__(
        self,
        net: ValidatorNet,
        min_steps: int,
        sample_rate_hz: float = SAMPLE_RATE_HZ,
        batch: int = 4096,
    ) -> None:
        self.net = net.eval()
        self._min_steps = int(min_steps)
        self._sample_rate_hz = float(sample_rate_hz)
        self.batch = int(batch)
        self._ids = np.asarray(ACTIVITY_IDS, dtype=np.int64)
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, steps: int | None = None
    ) -> HaptValidator:
        """Load a validator checkpoint (default: the shipped ``validator_hapt.pt``).

        Args:
            path: the ``.pt`` file.
            steps: the readings' window length, checked against the checkpoint's
                ``min_steps`` now rather than at the first reading [samples].

        Raises:
            CheckpointError: a missing, corrupt or mismatched checkpoint (names the file).
        """
        from generators.validators import SHIPPED_CHECKPOINT

        loaded = load_validator_checkpoint(SHIPPED_CHECKPOINT if path is None else path, steps)
        return cls(loaded.net, loaded.min_steps, loaded.sample_rate_hz)

    @property
    def sample_rate_hz(self) -> float:
        """Rate of the windows it was trained on [Hz]."""
        return self._sample_rate_hz

    @property
    def min_steps(self) -> int:
        """Shortest window it judges [samples]."""
        return self._min_steps

    def judge(self, windows: np.ndarray) -> Judgement:
        """Judge float32 windows of shape (n, steps, 3) [g] (steps >= ``min_steps``).

        Returns:
            The predicted HAPT activity id (int64) and P(real) (float64) of each window.

        Raises:
            InputError: not a (n, steps, 3) array, or windows shorter than ``min_steps``.
        """
        arr = np.asarray(windows)
        if arr.ndim != 3 or arr.shape[2] != N_AXES or not np.issubdtype(arr.dtype, np.number):
            raise InputError(
                f"windows must be a numeric array of shape (n, steps, {N_AXES}), "
                f"got shape {arr.shape} of {arr.dtype}"
            )
        n, steps = arr.shape[:2]
        if n and steps < self._min_steps:
            raise InputError(f"windows must be >= {self._min_steps} samples long, got {steps}")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        bad = ~np.isfinite(arr).all(axis=(1, 2))
        if bad.any():
            arr = np.where(np.isfinite(arr), arr, np.float32(0.0))
        activity = np.empty(n, dtype=np.int64)
        p_real = np.empty(n, dtype=np.float64)
        with self._lock, torch.inference_mode():
            for lo in range(0, n, self.batch):
                x = torch.from_numpy(arr[lo : lo + self.batch])
                logits, real = self.net(x)
                activity[lo : lo + len(x)] = self._ids[logits.argmax(dim=1).numpy()]
                p_real[lo : lo + len(x)] = torch.sigmoid(real.double()).numpy()
        p_real[bad] = 0.0
        return Judgement(activity, p_real)
