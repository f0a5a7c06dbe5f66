"""Batched SenseGen streaming: many phones at once, each with its own LSTM state.

The simulator asks for a few seconds of accelerometer signal from a changing subset of phones
at a time; generating a whole 50 Hz day per phone up front would be wasteful. ``Sampler`` keeps
every phone's LSTM state and last value, so a phone's stream continues seamlessly from one call
to the next, and rolls all requested phones forward together as one batch.

Randomness comes from one ``torch.Generator`` seeded in :meth:`Sampler.reset`: the same seed and
the same sequence of calls give identical arrays, and splitting a roll-out into several calls
(e.g. 2 × 200 steps instead of 400) consumes the generator identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensegen.data import Normalizer
from generators.sensegen.model import (
    LSTMState,
    SenseGenGenerator,
    config_from_checkpoint,
    generator_from_checkpoint,
    load_checkpoint,
)
from mcsim.data.outputs import atomic_file
from mcsim.errors import InputError

_NOT_STARTED = -1  # condition slot of a phone whose stream has not started yet


class Sampler:
    """Stateful batched sampler over ``n_phones`` independent accelerometer streams.

    Args:
        model: a trained generator (put in eval mode).
        normalizer: the training statistics, to return physical units [g].
        activities: activity names by condition id (index 0 = none / unlabelled).
        device: where the LSTM runs.
        burn_in: steps a stream runs from a zero state when it (re)starts, before its output
            is used, so that streams start in the model's steady state [samples].

    Example:
        >>> sampler = Sampler.from_checkpoint()  # doctest: +SKIP
        >>> sampler.reset(n_phones=1000, seed=7)  # doctest: +SKIP
        >>> sampler.sample(np.arange(10), steps=400).shape  # doctest: +SKIP
        (10, 400, 3)
    """

    def __init__(
        self,
        model: SenseGenGenerator,
        normalizer: Normalizer,
        activities: list[str],
        device: str | torch.device = "cpu",
        burn_in: int = 50,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.normalizer = normalizer
        self.activities = list(activities)
        self.burn_in = burn_in
        self._state: LSTMState | None = None
        self._last: torch.Tensor | None = None
        self._rng: torch.Generator | None = None
        self._cond: torch.Tensor | None = None  # each phone's current condition id

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu", burn_in: int = 50
    ) -> Sampler:
        """Build a sampler from a checkpoint (default: the shipped HAPT one).

        Raises:
            CheckpointError: missing, corrupt or mismatched checkpoint.
        """
        path = SHIPPED_CHECKPOINT if path is None else Path(path)
        ckpt = load_checkpoint(path)
        model = generator_from_checkpoint(ckpt, path)
        normalizer = config_from_checkpoint(Normalizer, ckpt, "normalization", path)
        return cls(model, normalizer, ckpt["activities"], device, burn_in)

    @property
    def n_phones(self) -> int:
        """Number of streams since the last :meth:`reset` (0 before)."""
        return 0 if self._last is None else self._last.shape[0]

    def activity_id(self, name: str) -> int:
        """Condition id of a HAPT activity name (case-insensitive, e.g. ``"walking"``).

        Raises:
            InputError: unknown name or a model without activity conditioning.
        """
        if self.model.config.n_conditions == 0:
            raise InputError("this checkpoint has no activity conditioning")
        valid = self.activities[1:]
        key = name.strip().upper()
        if key not in valid:
            raise InputError(f"unknown activity {name!r}; valid: {', '.join(valid)}")
        return valid.index(key) + 1

    def reset(self, n_phones: int, seed: int) -> None:
        """Prepare ``n_phones`` streams; all later randomness derives from ``seed``.

        No stream is started here: each starts at its first :meth:`sample`, so a day with
        100,000 phones of which a few hundred ever sense costs only those few hundred burn-ins.
        """
        if n_phones < 0:
            raise InputError(f"n_phones must be >= 0, got {n_phones}")
        cfg = self.model.config
        self._rng = torch.Generator(device=self.device).manual_seed(int(seed))
        shape = (cfg.num_layers, n_phones, cfg.hidden_size)
        self._state = (
            torch.zeros(shape, device=self.device),
            torch.zeros(shape, device=self.device),
        )
        self._last = torch.zeros((n_phones, cfg.n_axes), device=self.device)
        self._cond = torch.full((n_phones,), _NOT_STARTED, dtype=torch.long, device=self.device)

    def sample(
        self,
        phones: np.ndarray | None,
        steps: int,
        activities: np.ndarray | None = None,
    ) -> np.ndarray:
        """Continue the listed phones' streams by ``steps`` samples.

        A phone's stream starts (fresh LSTM state, then ``burn_in`` discarded steps under its
        activity) at its first call, and starts afresh whenever its activity changes. Why:
        the generator learnt each activity from fresh states inside one labelled segment
        (``data.Streams``), so a new activity is a new segment, and a stream that merely
        switched its condition would keep following its own history. Without activities
        (the paper's unconditioned model) a stream never restarts.

        Args:
            phones: distinct phone indices in [0, n_phones), shape (n,); None = all phones.
            steps: samples to draw per phone (50 Hz).
            activities: per-phone condition ids, shape (n,), 0 = none (the paper's
                unconditioned model), 1.. = HAPT activity ids; None = none for all.

        Returns:
            float32 array (n, steps, 3) of body acceleration [g].

        Raises:
            InputError: not reset, bad indices, shapes or activity ids.
        """
        streams, last, rng, current = self._streams()
        idx = self._indices(phones)
        if not isinstance(steps, int | np.integer) or steps < 0:
            raise InputError(f"steps must be a non-negative integer, got {steps!r}")
        cond = self._conditions(activities, len(idx))
        if len(idx) == 0 or steps == 0:
            return np.zeros((len(idx), int(steps), self.model.config.n_axes), np.float32)
        with torch.inference_mode():
            t_idx = torch.as_tensor(idx, device=self.device)
            fresh = current[t_idx] != cond
            if bool(fresh.any()):
                self._start(t_idx[fresh], cond[fresh])
            state = (streams[0][:, t_idx], streams[1][:, t_idx])
            out, end, state = self.model.generate(last[t_idx], int(steps), rng, cond, state)
            streams[0][:, t_idx] = state[0]
            streams[1][:, t_idx] = state[1]
            last[t_idx] = end
            values = out.float().cpu().numpy()
        return self.normalizer.denormalize(values)

    def _start(self, t_idx: torch.Tensor, cond: torch.Tensor) -> None:
        """Start the streams of phones ``t_idx`` afresh under ``cond``: the model's learned start
        state and a zero input, then ``burn_in`` discarded steps."""
        streams, last, rng, current = self._streams()
        state = self.model.start_state(cond, len(t_idx))
        start = torch.zeros((len(t_idx), self.model.config.n_axes), device=self.device)
        if self.burn_in:
            _, start, state = self.model.generate(start, self.burn_in, rng, cond, state)
        streams[0][:, t_idx] = state[0]
        streams[1][:, t_idx] = state[1]
        last[t_idx] = start
        current[t_idx] = cond

    def _streams(self) -> tuple[LSTMState, torch.Tensor, torch.Generator, torch.Tensor]:
        """The per-phone LSTM states, last values, generator and condition ids set by
        :meth:`reset`, for in-place updates.

        Raises:
            InputError: :meth:`reset` was not called.
        """
        if self._state is None or self._last is None or self._rng is None or self._cond is None:
            raise InputError("call reset(n_phones, seed) before sample()")
        return self._state, self._last, self._rng, self._cond

    def _indices(self, phones: np.ndarray | None) -> np.ndarray:
        if phones is None:
            return np.arange(self.n_phones)
        arr = np.asarray(phones)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise InputError(
                f"phones must be a 1-D integer array, got shape {arr.shape} of {arr.dtype}"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_phones):
            raise InputError(f"phone indices must lie in [0, {self.n_phones})")
        if len(np.unique(arr)) != len(arr):
            raise InputError("phone indices must be distinct (each phone has one stream)")
        return arr.astype(np.int64)

    def _conditions(self, activities: np.ndarray | None, n: int) -> torch.Tensor:
        """Validated condition ids as a tensor (zeros, "none", when ``activities`` is None)."""
        if activities is None:
            return torch.zeros(n, dtype=torch.long, device=self.device)
        arr = np.asarray(activities)
        n_cond = self.model.config.n_conditions
        if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
            raise InputError(
                f"activities must be an integer array of shape ({n},), "
                f"got shape {arr.shape} of {arr.dtype}"
            )
        if n_cond == 0 and arr.any():
            raise InputError("this checkpoint has no activity conditioning")
        if n_cond and arr.size and (arr.min() < 0 or arr.max() >= n_cond):
            raise InputError(
                f"activity ids must lie in [0, {n_cond}); names: {', '.join(self.activities[1:])}"
            )
        return torch.as_tensor(arr, dtype=torch.long, device=self.device)


def sample_to_file(
    out: str | Path,
    n: int,
    steps: int,
    seed: int,
    activity: str | None = None,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Draw ``n`` streams of ``steps`` samples and write them atomically as float32 ``.npy``.

    Returns:
        The (n, steps, 3) array in g at 50 Hz that was written.
    """
    if n < 1 or steps < 1:
        raise InputError(f"--n and --steps must be >= 1, got {n} and {steps}")
    sampler = Sampler.from_checkpoint(checkpoint, device=device)
    ids = None
    if activity is not None:
        ids = np.full(n, sampler.activity_id(activity), dtype=np.int64)
    sampler.reset(n, seed)
    data = sampler.sample(None, steps, ids)
    with atomic_file(out) as tmp, tmp.open("wb") as fh:
        np.save(fh, data)
    return data
