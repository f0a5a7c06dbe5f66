"""SenseGen networks: the LSTM mixture-density generator and the LSTM discriminator.

This file holds only the networks and their configuration (nanoGPT layout): data preparation
lives in ``data.py``, the training schedule in ``train.py`` and batched streaming in
``sample.py``; how the configs are written to and read from a checkpoint is ``config.py``.
Both networks work on *normalised* data; converting to and from physical units
(g) is the job of ``data.Normalizer`` so the networks stay unit-free.

Generator (paper, Sec. 3): input x_t (and, beyond the paper, a one-hot activity condition,
optionally crossed with a style per training user), 3 stacked LSTM layers of 256 units, a
128-unit fully connected layer with sigmoid, then a linear layer giving the parameters of a
K = 24 component Gaussian mixture over x_{t+1}. The mixture is over d = 3 axes with diagonal
covariances, so the head has K × (1 + 2d) outputs: K mixture logits, K × d means and K × d
scales.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from generators.checkpoint_io import config_from_checkpoint, load_checkpoint_file
from generators.sensegen.config import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KEYS,
    CHECKPOINT_WHAT,
    DiscriminatorConfig,
    GeneratorConfig,
    check_entries,
)
from mcsim.errors import CheckpointError

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""(h, c), each of shape (num_layers, batch, hidden_size), as ``torch.nn.LSTM`` uses them."""


@dataclass(frozen=True)
class MixtureParams:
    """Raw mixture parameters for every step, already constrained.

    Attributes:
        logits: (..., K) unnormalised log mixture weights.
        mu: (..., K, d) component means.
        sigma: (..., K, d) component scales, within [sigma_min, sigma_max].
    """

    logits: torch.Tensor
    mu: torch.Tensor
    sigma: torch.Tensor


class SenseGenGenerator(nn.Module):
    """Autoregressive LSTM mixture-density network p(x_{t+1} | x_{<=t}, activity).

    Scales use ``sigma_min + softplus(raw)`` clamped to ``sigma_max`` instead of the paper's
    ``exp(raw)``: softplus grows linearly, so one large activation cannot overflow, and the floor
    keeps the likelihood bounded (see ``GeneratorConfig.sigma_min``). The paper also writes a
    sigmoid on the 72-unit output layer; we do not use it because it would confine the means to
    (0, 1) and the scales to (1, e), which cannot represent normalised accelerations (negative,
    and spread over several standard deviations) nor the narrow peaks of resting activities.

    Example:
        >>> cfg = GeneratorConfig(hidden_size=8, num_layers=1, fc_size=4, n_components=2)
        >>> g = SenseGenGenerator(cfg)
        >>> x = torch.zeros(2, 5, 3)
        >>> params, state = g(x)
        >>> params.mu.shape
        torch.Size([2, 5, 2, 3])
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        d, k = config.n_axes, config.n_components
        self.lstm = nn.LSTM(
            input_size=d + config.condition_width,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
        )
        self.fc = nn.Linear(config.hidden_size, config.fc_size)
        self.head = nn.Linear(config.fc_size, k * (1 + 2 * d))
        # A learned (h, c) start for every condition, (style, activity) pairs included (one
        # slot without conditioning), zero at first, i.e. the usual zero state. Why: the one-hot
        # input alone was ignored, because after a step or two the signal itself tells the
        # activity; a fresh stream has no signal yet, and its start state is where "walking"
        # vs "sitting" (and one person's gait vs another's) must come from.
        self.initial_state = nn.Parameter(
            torch.zeros(2, config.num_layers, max(config.condition_width, 1), config.hidden_size)
        )

    def condition(self, cond: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
        """One-hot encode condition ids (0 = none; with styles, ``GeneratorConfig.condition_ids``)
        broadcast to ``shape`` = (batch, time).

        Returns None when the model has no condition input.
        """
        n = self.config.condition_width
        if n == 0:
            return None
        if cond is None:
            cond = torch.zeros(shape, dtype=torch.long, device=self.head.weight.device)
        elif cond.dim() == 1:
            cond = cond[:, None].expand(shape)
        return F.one_hot(cond.long(), n).to(self.head.weight.dtype)

    def start_state(self, cond: torch.Tensor | None, batch: int) -> LSTMState:
        """The learned start state of fresh streams with condition ids ``cond`` (batch,)
        (None = none for all)."""
        if cond is None or self.config.n_conditions == 0:
            cond = torch.zeros(batch, dtype=torch.long, device=self.initial_state.device)
        start = self.initial_state[:, :, cond.long()]
        return start[0].contiguous(), start[1].contiguous()

    def forward(
        self,
        x: torch.Tensor,
        cond: torch.Tensor | None = None,
        state: LSTMState | None = None,
    ) -> tuple[MixtureParams, LSTMState]:
        """Mixture parameters for the step after each input step.

        Args:
            x: (batch, time, d) normalised inputs x_1..x_T.
            cond: (batch, time) or (batch,) condition ids (0 = none), or None for all-none.
            state: LSTM (h, c) carried from the previous chunk, or None for a fresh start
                (:meth:`start_state` of the first step's condition).

        Returns:
            The parameters of p(x_{t+1} | ...) for t = 1..T, and the LSTM state after x_T.
        """
        if state is None:
            first = None if cond is None else (cond if cond.dim() == 1 else cond[:, 0])
            state = self.start_state(first, x.shape[0])
        onehot = self.condition(cond, tuple(x.shape[:2]))
        inp = x if onehot is None else torch.cat([x, onehot], dim=-1)
        out, state = self.lstm(inp, state)
        return self.mixture(out), state

    def mixture(self, lstm_out: torch.Tensor) -> MixtureParams:
        """Map LSTM outputs (..., hidden) to constrained mixture parameters."""
        cfg = self.config
        d, k = cfg.n_axes, cfg.n_components
        raw = self.head(torch.sigmoid(self.fc(lstm_out)))
        logits, mu, s = raw.split([k, k * d, k * d], dim=-1)
        lead = raw.shape[:-1]
        sigma = (cfg.sigma_min + F.softplus(s)).clamp(max=cfg.sigma_max)
        return MixtureParams(logits, mu.reshape(*lead, k, d), sigma.reshape(*lead, k, d))

    @staticmethod
    def distribution(params: MixtureParams) -> MixtureSameFamily:
        """The mixture as a ``torch.distributions`` object (diagonal Gaussians over d axes)."""
        components = Independent(Normal(params.mu, params.sigma, validate_args=False), 1)
        return MixtureSameFamily(
            Categorical(logits=params.logits, validate_args=False),
            components,
            validate_args=False,
        )

    def nll(
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        cond: torch.Tensor | None = None,
        state: LSTMState | None = None,
    ) -> tuple[torch.Tensor, LSTMState]:
        """Mean negative log-likelihood per time step (nats, normalised units, all d axes).

        Args:
            x: (batch, time, d) inputs.
            target: (batch, time, d) the values to predict (x shifted by one step).
            cond: condition ids, as in :meth:`forward`.
            state: carried LSTM state.

        Returns:
            The scalar loss and the LSTM state after the chunk (not detached).
        """
        params, state = self(x, cond, state)
        return -self.distribution(params).log_prob(target).mean(), state

    def sample_next(self, params: MixtureParams, generator: torch.Generator) -> torch.Tensor:
        """Draw one value per row from the mixture with an explicit ``torch.Generator``.

        ``torch.distributions`` has no generator argument, so the draw is made here from the
        same constrained parameters: a component by inverse CDF of the softmax weights, then a
        diagonal Gaussian draw. Exactly two random tensors are consumed per call, so a stream
        split into several calls consumes the generator exactly as one long call does.

        Args:
            params: mixture parameters with leading shape (batch,).
            generator: the source of randomness (its device must match the model's).

        Returns:
            (batch, d) samples in normalised units.
        """
        probs = torch.softmax(params.logits, dim=-1)
        batch = probs.shape[0]
        u = torch.rand((batch, 1), generator=generator, device=probs.device, dtype=probs.dtype)
        eps = torch.randn(
            (batch, self.config.n_axes),
            generator=generator,
            device=probs.device,
            dtype=probs.dtype,
        )
        return self.pick(params, u, eps, probs)

    @staticmethod
    def pick(
        params: MixtureParams,
        u: torch.Tensor,
        eps: torch.Tensor,
        probs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The draw of :meth:`sample_next` from given uniforms ``u`` (batch, 1) and standard
        normals ``eps`` (batch, d): the component whose cumulative weight first exceeds ``u``,
        then its mean plus its scale times ``eps``. Why separate: a caller that draws the
        random numbers of many steps ahead (``sample.Sampler``, to roll chunks of phones one
        after another) makes exactly the same draws from the same numbers.

        Args:
            params: mixture parameters with leading shape (batch,).
            probs: ``softmax(params.logits)`` when the caller has it already.
        """
        if probs is None:
            probs = torch.softmax(params.logits, dim=-1)
        idx = (probs.cumsum(-1) < u).sum(-1).clamp(max=probs.shape[-1] - 1)
        rows = torch.arange(probs.shape[0], device=probs.device)
        return params.mu[rows, idx] + params.sigma[rows, idx] * eps

    def generate(
        self,
        x0: torch.Tensor,
        steps: int,
        generator: torch.Generator,
        cond: torch.Tensor | None = None,
        state: LSTMState | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        """Roll the model forward ``steps`` steps, feeding each sample back in.

        Args:
            x0: (batch, d) the last value of each stream (normalised).
            steps: number of new values to draw.
            generator: source of randomness.
            cond: (batch,) condition ids held for the whole roll-out, or None.
            state: LSTM state of each stream, or None for a fresh start.

        Returns:
            (batch, steps, d) samples, the last sample (batch, d) and the final LSTM state.
        """
        batch = x0.shape[0]
        if state is None:
            state = self.start_state(cond, batch)
        onehot = self.condition(cond, (batch, 1))
        out = x0.new_empty((batch, steps, self.config.n_axes))
        x = x0
        for t in range(steps):
            inp = x[:, None, :] if onehot is None else torch.cat([x[:, None, :], onehot], -1)
            h, state = self.lstm(inp, state)
            x = self.sample_next(self.mixture(h[:, 0]), generator)
            out[:, t] = x
        return out, x, state


class SenseGenDiscriminator(nn.Module):
    """The paper's discriminator: LSTM 64, FC 16 with sigmoid, one output P(window is real).

    ``forward`` returns the logit of the output unit; the final sigmoid is applied by
    :meth:`prob` or folded into ``BCEWithLogitsLoss`` during training for numerical stability.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_axes, config.hidden_size, batch_first=True)
        self.fc = nn.Linear(config.hidden_size, config.fc_size)
        self.out = nn.Linear(config.fc_size, 1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Logit of P(real) for (batch, time, d) normalised windows; returns shape (batch,)."""
        h, _ = self.lstm(windows)
        return self.out(torch.sigmoid(self.fc(h[:, -1]))).squeeze(-1)

    def prob(self, windows: torch.Tensor) -> torch.Tensor:
        """P(real) for each window."""
        return torch.sigmoid(self(windows))


# --- checkpoints -------------------------------------------------------------------------------


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate a SenseGen checkpoint with ``torch.load(weights_only=True)``.

    The generic checks are :func:`generators.checkpoint_io.load_checkpoint_file`'s.

    Raises:
        CheckpointError: missing file, not a torch file, wrong format tag, missing keys or
            weights that are not finite.
    """
    return load_checkpoint_file(path, CHECKPOINT_FORMAT, CHECKPOINT_KEYS, CHECKPOINT_WHAT)


def generator_from_checkpoint(ckpt: dict[str, Any], path: str | Path) -> SenseGenGenerator:
    """Rebuild the generator from a checkpoint's config and load its weights.

    Raises:
        CheckpointError: a config with unknown or missing keys, one that does not build, or
            weights of another shape.
    """
    config = config_from_checkpoint(GeneratorConfig, ckpt, "config", path)
    try:
        model = SenseGenGenerator(config)
        model.load_state_dict(ckpt["generator"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"generator weights do not match the stored config: {first}", path=path
        ) from exc
    check_entries(config, ckpt, path)
    return model.eval()
