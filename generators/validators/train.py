"""Training the reading validator on real HAPT users, deterministically, in a few CPU minutes.

One run: load the real windows of the training users (held-out users never enter), then for
``epochs`` passes over them, each mini-batch is ``batch`` real windows (amplitude-augmented)
and as many freshly fabricated ones (:func:`~generators.validators.data.fabricate_mix`, kinds
in equal shares), all cropped to one random length between ``min_steps`` and ``steps`` so
that the pooled network learns every window length it accepts. The loss is the activity
cross-entropy on the real windows plus the real-vs-fabricated binary cross-entropy on all.
Adam with a cosine-decayed learning rate.

Determinism: every random draw comes from one ``numpy.random.Generator`` seeded by
``TrainConfig.seed``, the initial weights from a forked torch RNG seeded by it, and the run
uses a fixed number of torch threads; the same config, data and thread count give the same
weights.

The checkpoint carries the training record (users, epochs, seed, time, held-out accuracies
from :mod:`generators.validators.evaluate`), so a shipped file says how it was made.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from generators.sensegen.data import default_data_dir
from generators.validators.config import ACTIVITY_IDS, TrainConfig, ValidatorConfig
from generators.validators.data import (
    FAKE_KINDS,
    RealWindows,
    augment,
    fabricate_mix,
    load_split,
)
from generators.validators.model import ValidatorNet, checkpoint_dict
from mcsim.data.outputs import atomic_file
from mcsim.errors import InputError


def _lengths(config: TrainConfig) -> np.ndarray:
    """Crop lengths a batch may use: min_steps to steps in steps of 16 samples."""
    return np.unique(np.r_[np.arange(config.min_steps, config.steps, 16), config.steps])


def _crop(windows: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample slice of each window."""
    offset = rng.integers(0, windows.shape[1] - length + 1, len(windows))
    return windows[np.arange(len(windows))[:, None], offset[:, None] + np.arange(length)]


def fit(
    config: TrainConfig,
    model_config: ValidatorConfig,
    train_set: RealWindows,
    progress: bool = False,
) -> tuple[ValidatorNet, dict[str, Any]]:
    """Train a fresh network on ``train_set``; returns it (eval mode) and loss figures.

    Raises:
        InputError: settings that cannot train (lengths, batch, epochs).
    """
    if not 1 <= config.min_steps <= config.steps <= train_set.windows.shape[1]:
        raise InputError(
            f"need 1 <= min_steps ({config.min_steps}) <= steps ({config.steps}) <= the "
            f"windows' length ({train_set.windows.shape[1]})"
        )
    if config.batch < 1 or config.epochs < 1:
        raise InputError(f"batch and epochs must be >= 1, got {config.batch}, {config.epochs}")
    rng = np.random.default_rng(config.seed)
    rms = np.sqrt((train_set.windows.astype(np.float64) ** 2).mean(axis=(0, 1)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = ValidatorNet(model_config, tuple(float(r) for r in rms))
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    column = np.zeros(max(ACTIVITY_IDS) + 1, dtype=np.int64)  # HAPT id -> output index
    column[list(ACTIVITY_IDS)] = np.arange(len(ACTIVITY_IDS))
    labels = torch.from_numpy(column[train_set.activity])
    n = len(train_set)
    per_epoch = max(1, n // config.batch)
    total = per_epoch * config.epochs
    lengths = _lengths(config)
    losses: list[float] = []
    net.train()
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        for b in range(per_epoch):
            step = epoch * per_epoch + b
            frac = step / max(total - 1, 1)
            for group in opt.param_groups:
                group["lr"] = config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            idx = order[b * config.batch : (b + 1) * config.batch]
            length = int(rng.choice(lengths))
            real = augment(_crop(train_set.windows[idx], length, rng), rng)
            fake = fabricate_mix(len(idx), length, rng, train_set.windows)
            x = torch.from_numpy(np.concatenate([real, fake]))
            target = torch.cat([torch.ones(len(idx)), torch.zeros(len(idx))])
            activity_logits, real_logit = net(x)
            loss = F.cross_entropy(activity_logits[: len(idx)], labels[idx]) + (
                F.binary_cross_entropy_with_logits(real_logit, target)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        if progress:
            recent = float(np.mean(losses[-per_epoch:]))
            print(f"epoch {epoch + 1}/{config.epochs}: loss {recent:.4f}", flush=True)
    return net.eval(), {
        "steps": total,
        "final_loss": float(np.mean(losses[-per_epoch:])),
    }


def train(
    config: TrainConfig,
    model_config: ValidatorConfig,
    out: str | Path,
    data_dir: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train on HAPT (all users but ``config.held_out_users``), score on the held-out users
    and write the checkpoint ``out`` atomically.

    Returns:
        The checkpoint dict that was written.

    Raises:
        InputError: missing or malformed data, or settings that cannot train.
    """
    from generators.validators.config import EvalConfig
    from generators.validators.evaluate import fake_report, real_report
    from generators.validators.validator import HaptValidator

    torch.set_num_threads(config.threads)
    start = time.monotonic()
    train_set, held_out = load_split(
        config.held_out_users, config.steps, config.stride, None, data_dir
    )
    net, fitted = fit(config, model_config, train_set, progress)
    elapsed = time.monotonic() - start
    judge = HaptValidator(net, config.min_steps)
    held_out_report = {
        "real": real_report(judge, held_out),
        "fabricated": fake_report(judge, held_out, EvalConfig(seed=config.seed + 1)),
    }
    record = {
        "data": f"HAPT RawData ({Path(default_data_dir() if data_dir is None else data_dir).name}),"
        " labelled segments of activities 1-6, body acceleration [g] at 50 Hz",
        "train_users": sorted({int(u) for u in train_set.user}),
        "held_out_users": sorted({int(u) for u in held_out.user}),
        "train_windows": len(train_set),
        "held_out_windows": len(held_out),
        "fake_kinds": list(FAKE_KINDS),
        "epochs": config.epochs,
        "optimizer_steps": fitted["steps"],
        "final_loss": fitted["final_loss"],
        "seed": config.seed,
        "elapsed_s": round(elapsed, 1),
        "threads": config.threads,
        "torch": str(torch.__version__),
        "train_config": config.to_dict(),
        "held_out": held_out_report,
    }
    ckpt = checkpoint_dict(net, config.min_steps, record)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        torch.save(ckpt, tmp)
    return ckpt
