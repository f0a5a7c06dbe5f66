"""The reading validator's network and its checkpoint format.

What the platform needs from one accelerometer window (50 Hz body acceleration [g], gravity
removed) is two answers: which HAPT activity it shows, and whether a phone recorded it at
all. One small 1D CNN gives both from shared features (two heads), so a judgement costs one
forward pass.

Why the input is split into *shape* and *scale*: a phone at rest moves by about 0.005 g, a
walking one by 0.2 g and a fabricated noise stream by anything; a 100-fold range. The network
therefore sees each window divided by its own root mean square (the shape: rhythm, spectrum,
how the axes move together, any offset), and, beside its pooled features, the log RMS of each
axis relative to the training data's (the scale). A still window keeps its detail that way,
instead of being a few thousandths of a walking one.

Why global pooling: the convolutions are followed by mean and max pooling over time, so the
same weights judge any window long enough for them (the checkpoint's ``min_steps``).

The checkpoint (see :func:`checkpoint_dict`, :func:`load_validator_checkpoint`) is a plain
``torch.save`` dict read with ``weights_only=True``; format tag :data:`CHECKPOINT_FORMAT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generators.checkpoint_io import (
    check_sample_rate,
    config_from_checkpoint,
    load_checkpoint_file,
)
from generators.validators.config import (
    ACTIVITY_IDS,
    ACTIVITY_NAMES,
    Normalization,
    ValidatorConfig,
)
from mcsim.errors import CheckpointError
from mcsim.sim.sensing import SAMPLE_RATE_HZ

CHECKPOINT_FORMAT = "mcsim-validator/1"
_REQUIRED_KEYS = (
    "format",
    "sample_rate_hz",
    "min_steps",
    "activity_ids",
    "config",
    "normalization",
    "model",
    "training",
)


class ValidatorNet(nn.Module):
    """1D CNN with two heads: activity logits (n, 6) and the logit of P(real) (n,).

    Example:
        >>> net = ValidatorNet(ValidatorConfig(channels=(4, 4), hidden=8), (0.1, 0.1, 0.1))
        >>> activity, real = net(torch.zeros(2, 64, 3))
        >>> tuple(activity.shape), tuple(real.shape)
        ((2, 6), (2,))
    """

    log_rms_ref: torch.Tensor  # (n_axes,) log of the training data's per-axis RMS [log g]

    def __init__(self, config: ValidatorConfig, rms_g: tuple[float, ...]) -> None:
        super().__init__()
        if len(rms_g) != config.n_axes:
            raise ValueError(f"expected {config.n_axes} per-axis RMS values, got {len(rms_g)}")
        if not all(r > 0 for r in rms_g):
            raise ValueError(f"per-axis RMS values must be > 0 g, got {list(rms_g)}")
        self.config = config
        layers: list[nn.Module] = []
        width = config.n_axes
        for i, out in enumerate(config.channels):
            stride = 1 if i == 0 else 2
            layers += [nn.Conv1d(width, out, config.kernel, stride, config.kernel // 2), nn.ReLU()]
            width = out
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(2 * width + config.n_axes, config.hidden)
        self.activity_head = nn.Linear(config.hidden, config.n_activities)
        self.real_head = nn.Linear(config.hidden, 1)
        # Not in the state dict: it travels as the checkpoint's "normalization" entry.
        self.register_buffer("log_rms_ref", torch.log(torch.tensor(rms_g)), persistent=False)

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Judge (n, steps, n_axes) windows [g].

        Returns:
            Activity logits (n, n_activities) and the real-vs-fabricated logit (n,).
        """
        eps = self.config.eps_g
        axis_rms = windows.pow(2).mean(dim=1).sqrt() + eps  # (n, axes) [g]
        rms = windows.pow(2).mean(dim=(1, 2)).sqrt() + eps  # (n,) [g]
        shape = (windows / rms[:, None, None]).transpose(1, 2)  # (n, axes, steps)
        scale = torch.log(axis_rms) - self.log_rms_ref
        h = self.features(shape)
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2), scale], dim=1)
        z = F.relu(self.fc(pooled))
        return self.activity_head(z), self.real_head(z).squeeze(-1)


def checkpoint_dict(net: ValidatorNet, min_steps: int, training: dict[str, Any]) -> dict[str, Any]:
    """The plain dict saved as a validator checkpoint (loadable with ``weights_only=True``).

    Args:
        net: the trained network.
        min_steps: shortest window it may judge [samples].
        training: the training record (users, epochs, seed, accuracies, time, ...).
    """
    rms = torch.exp(net.log_rms_ref).tolist()
    return {
        "format": CHECKPOINT_FORMAT,
        "sample_rate_hz": float(SAMPLE_RATE_HZ),
        "min_steps": int(min_steps),
        "activity_ids": list(ACTIVITY_IDS),
        "activity_names": list(ACTIVITY_NAMES),
        "config": net.config.to_dict(),
        "normalization": Normalization(tuple(rms)).to_dict(),
        "model": {k: v.detach().float().cpu().clone() for k, v in net.state_dict().items()},
        "training": training,
    }


@dataclass(frozen=True)
class LoadedValidator:
    """What a checkpoint holds once checked: the network (eval mode) and its settings."""

    net: ValidatorNet
    min_steps: int
    sample_rate_hz: float
    training: dict[str, Any]


def load_validator_checkpoint(path: str | Path, steps: int | None = None) -> LoadedValidator:
    """Load and check a validator checkpoint; rebuild its network.

    Args:
        path: the ``.pt`` file.
        steps: the window length it will be asked to judge [samples], if known; a checkpoint
            that needs longer windows is refused here rather than at the first reading.

    Raises:
        CheckpointError: (naming the file) missing, truncated or not a torch file, another
            format tag, missing keys, non-finite weights, another sample rate than the
            world's 50 Hz, another activity set, a window length it does not support, or
            weights that do not fit the stored config.
    """
    path = Path(path)
    ckpt = load_checkpoint_file(
        path, CHECKPOINT_FORMAT, _REQUIRED_KEYS, "a reading-validator .pt checkpoint"
    )
    rate = ckpt["sample_rate_hz"]
    check_sample_rate(rate, path)
    min_steps = ckpt["min_steps"]
    if not isinstance(min_steps, int) or min_steps < 1:
        raise CheckpointError(f"min_steps must be a positive int, got {min_steps!r}", path=path)
    if steps is not None and steps < min_steps:
        raise CheckpointError(
            f"judges windows of at least {min_steps} samples; the readings have {steps}",
            path=path,
        )
    if list(ckpt["activity_ids"]) != list(ACTIVITY_IDS):
        raise CheckpointError(
            f"predicts activities {ckpt['activity_ids']!r}; expected HAPT ids {list(ACTIVITY_IDS)}",
            path=path,
        )
    config = config_from_checkpoint(ValidatorConfig, ckpt, "config", path)
    norm = config_from_checkpoint(Normalization, ckpt, "normalization", path)
    if not isinstance(ckpt["training"], dict):
        raise CheckpointError("entry 'training' must be a dict (the training record)", path=path)
    try:
        net = ValidatorNet(config, norm.rms_g)
        net.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"model weights do not match the stored config: {first}", path=path
        ) from exc
    return LoadedValidator(net.eval(), min_steps, float(rate), ckpt["training"])
