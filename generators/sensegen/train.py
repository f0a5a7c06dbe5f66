"""SenseGen training: the paper's Algorithm 1 schedule, checkpoints, resume and curves.

Each round (paper, Algorithm 1): (1) draw m real and m generated 400-step windows and train the
discriminator D on them by cross-entropy; (2) train the generator G by negative log-likelihood
on real data with truncated back-propagation through time. As in the paper, G never receives a
gradient through D: D is the judge whose accuracy (Fig. 4) tracks how far G still is from real
data, while the NLL (Fig. 3) is what G minimises.

G's batches are parallel lanes that walk through the training recordings chunk by chunk with
the LSTM state carried (detached) from chunk to chunk (``data.Streams``), so G sees long 50 Hz
series as in the paper's 7,000-step sequence rather than independent short windows.

Determinism: all randomness comes from two ``torch.Generator`` objects seeded from the config
(one on the CPU for data, one on the training device for G's samples). Checkpoints are written
at round boundaries and hold every piece of state (weights, optimisers, generator states, lane
positions, carried LSTM states, history), so ``--resume`` continues exactly as an uninterrupted
run would. Ctrl-C writes the state of the last completed round and exits.
"""

from __future__ import annotations

import copy
import csv
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from generators.sensegen.config import TrainConfig
from generators.sensegen.data import (
    Normalizer,
    Series,
    Streams,
    WindowAmplitudes,
    default_data_dir,
    load_hapt,
    read_activity_names,
    split_by_user,
    window_log_std,
)
from generators.sensegen.model import (
    CHECKPOINT_FORMAT,
    DiscriminatorConfig,
    GeneratorConfig,
    MixtureParams,
    SenseGenDiscriminator,
    SenseGenGenerator,
    config_from_checkpoint,
    load_checkpoint,
)
from mcsim.data.outputs import atomic_file, save_figure
from mcsim.errors import CheckpointError, InputError
from mcsim.platform.validation import MOVING_ACTIVITIES
from mcsim.sim.sensing import SAMPLE_RATE_HZ

CHECKPOINT_NAME = "checkpoint.pt"  # full, resumable state
MODEL_NAME = "model.pt"  # weights, config, statistics and metadata only (what ships)
HISTORY_NAME = "history.csv"
AMPLITUDE_TARGETS = ("mean", "distribution", "distribution-moving")  # TrainConfig.amplitude_target
AMPLITUDE_RUN = 4  # generated windows of one condition per run ("distribution...")
AMPLITUDE_REAL_DRAWS = 16  # real windows each generated one is compared with


def energy_gap(generated: torch.Tensor, run: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Unbiased estimate of the energy distance between generated and real values, per
    condition, averaged over windows and axes.

    ``generated`` (n, d) are values of generated windows; ``run`` (n,) numbers the runs of
    windows that share one condition (at least two windows a run); ``real`` (n, k, d), k >= 2,
    holds for each window k draws from the real values of its condition. Per run, the
    estimate of ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (X, X' generated, Y real) from its
    windows and their draws, with U-statistics (no value paired with itself), so that its
    mean over draws is the distance itself: zero where the distributions agree, positive
    otherwise (Szekely & Rizzo 2013). A single draw can be negative.

    Why not the squared gap to the real mean: that is least when every generated window is
    as loud as the average one, so it narrows the spread; here the pull towards the real
    values (the first term) is balanced by the push apart of one condition's generated
    windows (the second).
    """
    n, k = real.shape[0], real.shape[1]
    cross = (generated[:, None, :] - real).abs().mean(1)  # (n, d): E|X - Y| per window
    mates = (run[:, None] == run[None, :]) & ~torch.eye(n, dtype=torch.bool, device=run.device)
    pairs = (generated[:, None, :] - generated[None, :, :]).abs()  # (n, n, d)
    within = (pairs * mates[..., None]).sum(1) / mates.sum(1, keepdim=True)  # E|X - X'|
    real_pairs = (real[:, :, None, :] - real[:, None, :, :]).abs().sum((1, 2)) / (k * (k - 1))
    return (2 * cross - within - real_pairs).mean()


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """One training run: data, both networks, optimisers and the round loop.

    Args:
        config: schedule settings.
        model_config: generator shape (ignored on resume: the checkpoint's is used).
        out_dir: where checkpoints, history CSV and plots go.
        data_dir: HAPT folder (default: ``data.default_data_dir()``).
        device: torch device for the networks.
        init: a model checkpoint whose weights (generator and discriminator) start this run
            instead of a random initialisation: fine-tuning, e.g. under a new lane scheme.
            It must have the same model shape and normalisation statistics.
        styles: give the generator a style per training user (``GeneratorConfig.n_styles``
            set to their number; conditioned lanes carry their segment's user's style).
    """

    def __init__(
        self,
        config: TrainConfig,
        model_config: GeneratorConfig,
        out_dir: Path,
        data_dir: Path | None = None,
        device: torch.device | None = None,
        init: Path | None = None,
        styles: bool = False,
    ) -> None:
        if config.lr_warmup < 0:
            raise InputError(f"lr_warmup must be >= 0 generator updates, got {config.lr_warmup}")
        self.config = config
        self.out_dir = Path(out_dir)
        self.device = device or torch.device("cpu")
        self.data_dir = data_dir
        recordings = load_hapt(data_dir)
        train_recs, val_recs = split_by_user(recordings, config.val_users)
        self.activities = read_activity_names(recordings_root(data_dir))
        if model_config.n_conditions not in (0, len(self.activities)):
            raise InputError(
                f"n_conditions must be 0 or {len(self.activities)} "
                f"(none + HAPT activities), got {model_config.n_conditions}"
            )
        self.normalizer = Normalizer.fit(train_recs)
        self.train_users = sorted({r.user for r in train_recs})
        style_of: dict[int, int] | None = None  # training user -> style id
        if styles:
            if not model_config.n_conditions:
                raise InputError("styles need activity conditions (not --unconditioned)")
            model_config = replace(model_config, n_styles=len(self.train_users))
            style_of = {user: i + 1 for i, user in enumerate(self.train_users)}
        self.styles = [f"user{user:02d}" for user in style_of or ()]
        self.train_series = Series(train_recs, self.normalizer, style_of)
        self.val_series = Series(val_recs, self.normalizer)
        # Condition ids are activity + style_stride * style (GeneratorConfig.condition_ids).
        style_stride = model_config.n_conditions if model_config.n_styles else 0
        self.amplitudes: WindowAmplitudes | None = None
        if config.amplitude_weight > 0:
            if not model_config.n_conditions:
                raise InputError(
                    "the amplitude loss needs activity conditions (not --unconditioned)"
                )
            if config.amplitude_every < 1 or config.amplitude_lanes < 1:
                raise InputError(
                    "amplitude_every and amplitude_lanes must be >= 1, got "
                    f"{config.amplitude_every} and {config.amplitude_lanes}"
                )
            if config.amplitude_target not in AMPLITUDE_TARGETS:
                raise InputError(
                    f"amplitude_target must be one of {list(AMPLITUDE_TARGETS)}, "
                    f"got {config.amplitude_target!r}"
                )
            if config.amplitude_target != "mean" and config.amplitude_lanes < 2:
                raise InputError(
                    f"amplitude_target {config.amplitude_target!r} compares spreads: "
                    f"amplitude_lanes must be >= 2, got {config.amplitude_lanes}"
                )
            self.amplitudes = WindowAmplitudes(
                self.train_series, config.amplitude_window, style_stride
            )

        self.data_rng = torch.Generator().manual_seed(config.seed)
        self.sample_rng = torch.Generator(device=self.device).manual_seed(config.seed + 1)
        fixed = torch.Generator().manual_seed(config.seed + 2)
        self.eval_sets = {
            "train": self.train_series.random_windows(config.eval_windows, config.window, fixed),
            "val": self.val_series.random_windows(config.eval_windows, config.window, fixed),
        }

        # Weight initialisation draws from torch's default CPU generator: seed it inside
        # fork_rng so the caller's global RNG state is left untouched.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(config.seed)
            self.gen = SenseGenGenerator(model_config).to(self.device)
            self.disc = SenseGenDiscriminator(DiscriminatorConfig(n_axes=model_config.n_axes))
        self.disc.to(self.device)
        self.initialised_from: dict[str, Any] | None = None
        if init is not None:
            self._load_init(Path(init))
        self.opt_g = torch.optim.RMSprop(self.gen.parameters(), lr=config.lr_g)
        self.opt_d = torch.optim.RMSprop(self.disc.parameters(), lr=config.lr_d)
        # A model without a condition input is the paper's: every lane unconditioned.
        drop = config.drop_condition if model_config.n_conditions else 1.0
        self.streams = Streams(
            self.train_series,
            config.lanes,
            config.chunk,
            drop,
            self.data_rng,
            config.lane_life,
            style_stride,
        )
        self.lstm_state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.round = 0
        self.elapsed_s = 0.0
        self.history: dict[str, list[float]] = {k: [] for k in HISTORY_COLUMNS}

    def _load_init(self, path: Path) -> None:
        """Start from another checkpoint's weights (see the ``init`` argument).

        Raises:
            CheckpointError: unreadable, another model shape or other normalisation statistics.
        """
        ckpt = load_checkpoint(path)
        # Through the dataclass, so that a checkpoint from before a field with a default
        # existed (e.g. ``n_styles``) compares by value, not by its dict's keys.
        shape = config_from_checkpoint(GeneratorConfig, ckpt, "config", path)
        if shape != self.gen.config:
            raise CheckpointError(
                f"--init model shape {shape.to_dict()} differs from this run's "
                f"{self.gen.config.to_dict()}; use the same shape options",
                path=path,
            )
        stored = config_from_checkpoint(Normalizer, ckpt, "normalization", path)
        if not np.allclose(stored.mean, self.normalizer.mean) or not np.allclose(
            stored.std, self.normalizer.std
        ):
            raise CheckpointError(
                "--init normalisation differs from this run's training users; "
                "use the same --val-users and data",
                path=path,
            )
        try:
            # A checkpoint from before learned start states was trained from zero states,
            # which is exactly what the zero-initialised ``initial_state`` gives.
            missing, unexpected = self.gen.load_state_dict(ckpt["generator"], strict=False)
            if unexpected or set(missing) - {"initial_state"}:
                raise RuntimeError(f"missing keys {missing}, unexpected keys {unexpected}")
            if "discriminator" in ckpt:
                self.disc.load_state_dict(ckpt["discriminator"])
        except RuntimeError as exc:
            raise CheckpointError(
                f"weights do not match: {str(exc).splitlines()[0]}", path=path
            ) from exc
        meta = ckpt.get("metadata", {})
        self.initialised_from = {
            "file": path.name,
            "rounds": int(meta.get("rounds", 0)),
            "elapsed_s": float(meta.get("elapsed_s", 0.0)),
            "initialised_from": meta.get("initialised_from"),
        }

    # --- one round ------------------------------------------------------------------------

    def discriminator_phase(self) -> tuple[float, float]:
        """Train D on m real and m generated windows; returns (accuracy before, loss after).

        The accuracy is measured on the fresh batch before D trains on it, so it is a held-out
        estimate of how well D tells G's current output from real data (the paper's Fig. 4).
        """
        cfg = self.config
        real, _ = self.train_series.random_windows(cfg.d_batch, cfg.window, self.data_rng)
        real = real.to(self.device)
        with torch.inference_mode():
            x0 = torch.zeros(cfg.d_batch, self.gen.config.n_axes, device=self.device)
            fake, _, _ = self.gen.generate(x0, cfg.burn_in + cfg.window, self.sample_rng)
        fake = fake[:, cfg.burn_in :].clone()
        windows = torch.cat([real, fake])
        labels = torch.cat([torch.ones(cfg.d_batch), torch.zeros(cfg.d_batch)]).to(self.device)
        loss_fn = nn.BCEWithLogitsLoss()
        with torch.no_grad():
            accuracy = ((self.disc(windows) > 0).float() == labels).float().mean().item()
        loss = torch.zeros(())
        for _ in range(cfg.d_steps):
            self.opt_d.zero_grad()
            loss = loss_fn(self.disc(windows), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(self.disc.parameters(), cfg.clip)
            self.opt_d.step()
        return accuracy, float(loss.item())

    def generator_phase(self) -> tuple[float, float]:
        """``g_steps`` TBPTT updates of G by NLL; returns their mean NLL and the mean
        amplitude loss (NaN without it), which every ``amplitude_every``-th update adds.

        With ``input_noise``, G reads a noisy history but is scored on the clean next value
        (denoising training against exposure bias). Why: fed only clean inputs, G never
        learns what to do when its history is slightly off, which is all it ever sees when
        it runs on its own samples; at rest the generated stream drifted from a few
        thousandths of a g to walking-sized swings within seconds. With noisy inputs it
        learns to pull back to the activity's dynamics, and a less exact history makes the
        activity condition worth using.
        """
        cfg = self.config
        total = 0.0
        amplitude: list[float] = []
        for step in range(cfg.g_steps):
            x, target, cond, reset = self.streams.next_chunk()
            if cfg.input_noise > 0:
                x = x + self.input_noise_std(x) * torch.randn(x.shape, generator=self.data_rng)
            x, target, cond = x.to(self.device), target.to(self.device), cond.to(self.device)
            state = self.lstm_state
            if state is not None:  # restarted lanes begin from their learned start state
                keep = (~reset).to(self.device, torch.float32)[None, :, None]
                h0, c0 = self.gen.start_state(cond[:, 0], len(cond))
                state = (state[0] * keep + h0 * (1 - keep), state[1] * keep + c0 * (1 - keep))
            if cfg.sampled_inputs > 0:
                x = self.mix_in_samples(x, cond, state)
            for group in self.opt_g.param_groups:
                group["lr"] = self.generator_lr(self.round * cfg.g_steps + step)
            self.opt_g.zero_grad()
            loss, state = self.gen.nll(x, target, cond, state)
            objective = loss
            if self.amplitudes is not None and step % cfg.amplitude_every == 0:
                gap = self.amplitude_loss(self.amplitudes)
                objective = loss + cfg.amplitude_weight * gap
                amplitude.append(float(gap.item()))
            objective.backward()
            nn.utils.clip_grad_norm_(self.gen.parameters(), cfg.clip)
            self.opt_g.step()
            self.lstm_state = (state[0].detach(), state[1].detach())
            total += float(loss.item())
        return total / cfg.g_steps, float(np.mean(amplitude)) if amplitude else math.nan

    def amplitude_loss(self, amplitudes: WindowAmplitudes) -> torch.Tensor:
        """How far the log std of G's own windows is from that of real windows of their
        condition: with ``amplitude_target`` "mean", the squared gap, per window and axis, to
        the real windows' mean; with "distribution", the energy distance (:func:`energy_gap`)
        to the real windows, from runs of generated windows of one condition; with
        "distribution-moving", the energy distance for the lanes of a moving activity and
        the squared gap for the others, each part weighted by its share of the lanes.

        Why: the NLL scores one step ahead from a real history, and a model that is right
        there can still be wrong over a window of its own draws: generated walking downstairs
        lacked the loud walkers (its z std 82-86 % of the training users') and resting streams
        burst into motion for a while. This term looks at what a phone delivers, a window
        after the burn-in, drawn from the model itself. The gradient flows through the drawn
        components' means and scales and through the fed-back samples (the choice of
        component is not differentiated); the burn-in runs without it.
        """
        cfg = self.config
        n = cfg.amplitude_lanes
        if cfg.amplitude_target == "mean":
            drawn, run = amplitudes.draw(n, self.data_rng), None
        else:
            drawn, run = amplitudes.draw_groups(n, AMPLITUDE_RUN, self.data_rng)
        cond = drawn.to(self.device)
        x0 = torch.zeros(n, self.gen.config.n_axes, device=self.device)
        with torch.no_grad():
            _, last, state = self.gen.generate(x0, cfg.burn_in, self.sample_rng, cond)
        window, _, _ = self.gen.generate(last, cfg.amplitude_window, self.sample_rng, cond, state)
        logs = window_log_std(window)
        # The lanes that pay the energy distance; the others pay the squared gap to the mean.
        if run is None:
            spread = torch.zeros(n, dtype=torch.bool)
        elif cfg.amplitude_target == "distribution":
            spread = torch.ones(n, dtype=torch.bool)
        else:
            spread = torch.isin(amplitudes.activities(drawn), torch.tensor(MOVING_ACTIVITIES))
        on = spread.to(self.device)
        loss = torch.zeros((), device=self.device)
        if run is not None and spread.any():
            real = amplitudes.real(drawn[spread], AMPLITUDE_REAL_DRAWS, self.data_rng)  # CPU
            gap = energy_gap(logs[on], run[spread].to(self.device), real.to(self.device))
            loss = loss + gap * spread.float().mean().item()
        if not spread.all():
            target = amplitudes.target.to(self.device)[cond[~on]]
            loss = loss + (logs[~on] - target).pow(2).mean() * (~spread).float().mean().item()
        return loss

    def input_noise_std(self, x: torch.Tensor) -> torch.Tensor | float:
        """The std of the noise on G's inputs ``x`` (B, L, d): scalar, or (B, 1, d) per lane.

        Why a cap relative to the signal: a resting phone moves 0.005-0.01 g, 0.03-0.1
        normalised units, so noise of 0.08 buries it. G then cannot read the rest signal's
        sample-to-sample correlation (lag-1 autocorrelation 0.45-0.8 real) and generates white
        rest, which the platform's validator rightly takes for fabricated noise. Capped at a
        share of each lane's own std, the noise still teaches walking lanes to recover from an
        imperfect history, while a resting lane's history stays legible.
        """
        cfg = self.config
        if cfg.input_noise_relative <= 0:
            return cfg.input_noise
        return torch.clamp(
            cfg.input_noise_relative * x.std(dim=1, keepdim=True), max=cfg.input_noise
        )

    @torch.no_grad()
    def mix_in_samples(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        """Replace a random share of input steps by G's own one-step-ahead samples.

        Why: trained on real inputs only, G never sees its own errors, and at sampling time
        they compound. On resting activities the free-running stream drifted from a few
        thousandths of a g to walking-sized swings within 2 s, so generated windows rarely
        rested and conditioned "sitting" looked like moving. Fed its own samples in training
        while still scored on the real next value, G learns to pull back towards real
        dynamics (and to lean on the activity condition when its inputs are unreliable).
        One teacher-forced pass without gradients gives every step's prediction, so the
        samples cost one extra forward pass, not a sequential roll-out.

        Args:
            x: (B, L, d) real inputs of the chunk.
            cond: (B, L) condition ids.
            state: the carried LSTM state.

        Returns:
            The inputs with step t + 1 replaced by a draw from p(x_{t+1} | real x_{<=t})
            with probability ``config.sampled_inputs`` (the first step stays real).
        """
        params, _ = self.gen(x, cond, state)
        lanes, steps, k = params.logits.shape
        flat = MixtureParams(
            params.logits.reshape(-1, k),
            params.mu.reshape(lanes * steps, k, -1),
            params.sigma.reshape(lanes * steps, k, -1),
        )
        draws = self.gen.sample_next(flat, self.sample_rng).reshape(x.shape)
        swap = torch.rand(lanes, steps - 1, generator=self.data_rng) < self.config.sampled_inputs
        mixed = x.clone()
        mixed[:, 1:][swap.to(x.device)] = draws[:, :-1][swap.to(x.device)]
        return mixed

    @torch.no_grad()
    def evaluate_nll(self) -> dict[str, float]:
        """Unconditioned NLL per step on the fixed train and validation windows (fresh state)."""
        out = {}
        for name, (values, _) in self.eval_sets.items():
            values = values.to(self.device)
            loss, _ = self.gen.nll(values[:, :-1], values[:, 1:])
            out[name] = float(loss.item())
        return out

    # --- checkpoints ----------------------------------------------------------------------

    def model_dict(self) -> dict[str, Any]:
        """The shippable part: weights, configs, statistics, activity names and metadata."""
        last = {k: v[-1] for k, v in self.history.items() if v}
        evaluated = [i for i, v in enumerate(self.history["val_nll"]) if not math.isnan(v)]
        final = evaluated[-1] if evaluated else None
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.gen.config.to_dict(),
            "discriminator_config": self.disc.config.to_dict(),
            "generator": {
                k: v.detach().float().cpu().clone() for k, v in self.gen.state_dict().items()
            },
            "discriminator": {
                k: v.detach().float().cpu().clone() for k, v in self.disc.state_dict().items()
            },
            "normalization": self.normalizer.to_dict(),
            "activities": list(self.activities),
            "styles": list(self.styles),
            "sample_rate_hz": float(SAMPLE_RATE_HZ),
            "train_config": self.config.to_dict(),
            "metadata": {
                "rounds": self.round,
                "generator_updates": self.round * self.config.g_steps,
                "elapsed_s": self.elapsed_s,
                "train_users": list(self.train_users),
                "val_users": list(self.config.val_users),
                "last_train_nll": float(last.get("train_nll", math.nan)),
                "last_d_accuracy": float(last.get("d_accuracy", math.nan)),
                "final_eval_train_nll": (
                    math.nan if final is None else self.history["eval_train_nll"][final]
                ),
                "final_eval_val_nll": (
                    math.nan if final is None else self.history["val_nll"][final]
                ),
                "nll_units": "nats per 50 Hz step, 3 axes, normalised units",
                "device": str(self.device),
                "torch": str(torch.__version__),
                "initialised_from": self.initialised_from,
            },
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume exactly (deep copies, safe to keep while training)."""
        ckpt = self.model_dict()
        ckpt.update(
            {
                "optimizer_g": copy.deepcopy(self.opt_g.state_dict()),
                "optimizer_d": copy.deepcopy(self.opt_d.state_dict()),
                "data_rng": self.data_rng.get_state(),
                "sample_rng": self.sample_rng.get_state().cpu(),
                "streams": self.streams.state_dict(),
                "lstm_state": (
                    None
                    if self.lstm_state is None
                    else [t.detach().cpu().clone() for t in self.lstm_state]
                ),
                "history": copy.deepcopy(self.history),
                "round": self.round,
            }
        )
        return ckpt

    def restore(self, path: Path) -> None:
        """Load a resumable checkpoint written by :meth:`snapshot`.

        Raises:
            CheckpointError: not a full training checkpoint or from another configuration.
        """
        ckpt = load_checkpoint(path)
        needed = (
            "optimizer_g",
            "optimizer_d",
            "data_rng",
            "sample_rng",
            "streams",
            "history",
            "round",
            "train_config",
        )
        missing = [k for k in needed if k not in ckpt]
        if missing:
            raise CheckpointError(
                f"not a resumable training checkpoint: missing {missing}", path=path
            )
        stored = config_from_checkpoint(TrainConfig, ckpt, "train_config", path)
        if stored != self.config or ckpt["config"] != self.gen.config.to_dict():
            raise CheckpointError(
                "training or model settings differ from the checkpoint's; "
                "resume with the same options",
                path=path,
            )
        try:
            self.gen.load_state_dict(ckpt["generator"])
            self.disc.load_state_dict(ckpt["discriminator"])
            self.opt_g.load_state_dict(ckpt["optimizer_g"])
            self.opt_d.load_state_dict(ckpt["optimizer_d"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"weights do not match: {str(exc).splitlines()[0]}", path=path
            ) from exc
        self.data_rng.set_state(ckpt["data_rng"])
        self.sample_rng.set_state(ckpt["sample_rng"])  # a CPU ByteTensor on every device
        self.streams.load_state_dict(ckpt["streams"])
        lstm = ckpt["lstm_state"]
        self.lstm_state = (
            None if lstm is None else (lstm[0].to(self.device), lstm[1].to(self.device))
        )
        # A run from before a column existed resumes with NaN in it.
        rounds = len(ckpt["history"]["round"])
        self.history = {
            k: list(ckpt["history"].get(k, [math.nan] * rounds)) for k in HISTORY_COLUMNS
        }
        self.round = int(ckpt["round"])
        self.elapsed_s = float(ckpt["metadata"]["elapsed_s"])
        self.initialised_from = ckpt["metadata"].get("initialised_from")

    def write(self, snapshot: dict[str, Any]) -> None:
        """Write the resumable checkpoint, the slim model file, history CSV and plots."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.out_dir / CHECKPOINT_NAME) as tmp:
            torch.save(snapshot, tmp)
        slim = {k: v for k, v in snapshot.items() if k in _SLIM_KEYS}
        with atomic_file(self.out_dir / MODEL_NAME) as tmp:
            torch.save(slim, tmp)
        write_history(snapshot["history"], self.out_dir)

    # --- the loop -------------------------------------------------------------------------

    def run(
        self,
        max_minutes: float | None = None,
        progress: bool = True,
        on_round: Callable[[Trainer], None] | None = None,
    ) -> dict[str, Any]:
        """Train until ``config.rounds`` rounds are done (or ``max_minutes`` have passed).

        Args:
            max_minutes: wall-clock budget of this call; it stops after the round that
                exceeds it and saves, so a later ``--resume`` can continue.
            progress: show a tqdm bar with NLL and D accuracy.
            on_round: called after every completed round (tests use it to interrupt).

        Returns:
            The last snapshot (also written to ``out_dir``).
        """
        cfg = self.config
        start = time.monotonic()
        base_elapsed = self.elapsed_s
        latest = self.snapshot()
        bar = tqdm(
            total=cfg.rounds,
            initial=self.round,
            disable=not progress,
            desc="sensegen",
            unit="round",
            dynamic_ncols=True,
        )
        try:
            while self.round < cfg.rounds:
                self.gen.train()
                d_acc, d_loss = self.discriminator_phase()
                nll, amplitude = self.generator_phase()
                self.round += 1
                self.elapsed_s = base_elapsed + time.monotonic() - start
                evals = {"train": math.nan, "val": math.nan}
                if self.round % cfg.eval_every == 0 or self.round == cfg.rounds:
                    evals = self.evaluate_nll()
                row = {
                    "round": self.round,
                    "generator_updates": self.round * cfg.g_steps,
                    "train_nll": nll,
                    "d_loss": d_loss,
                    "d_accuracy": d_acc,
                    "eval_train_nll": evals["train"],
                    "val_nll": evals["val"],
                    "elapsed_s": self.elapsed_s,
                    "amplitude_loss": amplitude,
                }
                for key, value in row.items():
                    self.history[key].append(float(value))
                latest = self.snapshot()
                if self.round % cfg.checkpoint_every == 0 or self.round == cfg.rounds:
                    self.write(latest)
                bar.update(1)
                bar.set_postfix(
                    nll=f"{nll:.3f}",
                    d_acc=f"{d_acc:.2f}",
                    val=f"{self.history_last('val_nll'):.3f}",
                )
                if on_round is not None:
                    on_round(self)
                if max_minutes is not None and time.monotonic() - start > 60 * max_minutes:
                    break
        except KeyboardInterrupt:
            bar.write(f"interrupted: saving round {latest['round']} to {self.out_dir}")
            self.write(latest)
            raise
        finally:
            bar.close()
        self.write(latest)
        return latest

    def generator_lr(self, update: int) -> float:
        """G's learning rate for generator update ``update`` (0-based, counted over the
        run) of the current round: cosine-decayed by round, times the linear warm-up of the
        first ``lr_warmup`` updates."""
        cfg = self.config
        frac = self.round / max(cfg.rounds - 1, 1)
        warmup = min(1.0, (update + 1) / cfg.lr_warmup) if cfg.lr_warmup else 1.0
        return (
            warmup
            * cfg.lr_g
            * (cfg.lr_final_frac + (1 - cfg.lr_final_frac) * 0.5 * (1 + math.cos(math.pi * frac)))
        )

    def history_last(self, key: str) -> float:
        """Most recent non-NaN value of a history column (NaN if none yet)."""
        values = [v for v in self.history[key] if not math.isnan(v)]
        return values[-1] if values else math.nan


HISTORY_COLUMNS = (
    "round",
    "generator_updates",
    "train_nll",
    "d_loss",
    "d_accuracy",
    "eval_train_nll",
    "val_nll",
    "elapsed_s",
    "amplitude_loss",  # NaN without it; with target "distribution" an estimate that can be < 0
)
_SLIM_KEYS = (
    "format",
    "config",
    "discriminator_config",
    "generator",
    "discriminator",
    "normalization",
    "activities",
    "styles",
    "sample_rate_hz",
    "train_config",
    "metadata",
)


def recordings_root(data_dir: Path | None) -> Path:
    """The HAPT root folder actually used (default resolved)."""
    return default_data_dir() if data_dir is None else Path(data_dir)


def write_history(history: dict[str, list[float]], out_dir: Path) -> None:
    """Write the curves as CSV and plot NLL (paper Fig. 3) and D accuracy (Fig. 4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_file(out_dir / HISTORY_NAME) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HISTORY_COLUMNS)
        writer.writerows(zip(*(history[k] for k in HISTORY_COLUMNS), strict=True))
    updates = history["generator_updates"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(updates, history["train_nll"], lw=0.8, label="train (running, conditioned mix)")
    evaluated = [i for i, v in enumerate(history["val_nll"]) if not math.isnan(v)]
    for column, style, users in (
        ("eval_train_nll", "o-", "train"),
        ("val_nll", "s-", "validation"),
    ):
        ax.plot(
            [updates[i] for i in evaluated],
            [history[column][i] for i in evaluated],
            style,
            ms=3,
            label=f"{users} users (fixed windows)",
        )
    ax.set_xlabel("generator updates")
    ax.set_ylabel("NLL [nats / step, normalised]")
    ax.set_title("SenseGen generator loss (cf. paper Fig. 3)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out_dir / "nll.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["round"], history["d_accuracy"], lw=0.8)
    ax.axhline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("round")
    ax.set_ylabel("D accuracy on a fresh batch")
    ax.set_title("Discriminator accuracy (cf. paper Fig. 4)")
    fig.tight_layout()
    save_figure(fig, out_dir / "d_accuracy.png")


def train(
    config: TrainConfig,
    model_config: GeneratorConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "auto",
    max_minutes: float | None = None,
    progress: bool = True,
    on_round: Callable[[Trainer], None] | None = None,
    init: str | Path | None = None,
    styles: bool = False,
) -> dict[str, Any]:
    """Train SenseGen on HAPT; see :class:`Trainer`. Returns the final snapshot.

    Args:
        overwrite: start afresh in an ``out_dir`` that holds a trained run (its checkpoint is
            replaced); without it, or ``resume``, such a folder is refused.

    Raises:
        CheckpointError: ``resume`` without a usable checkpoint in ``out_dir``.
        InputError: missing or malformed data, or ``out_dir`` holds a run and neither
            ``resume`` nor ``overwrite`` is set (nothing is touched then).
    """
    out = Path(out_dir)
    if not resume and not overwrite and (out / CHECKPOINT_NAME).exists():
        raise InputError(
            f"{out} already holds a training run ({CHECKPOINT_NAME}); continue it with "
            "--resume, or pass --overwrite to start afresh and replace it",
        )
    dev = pick_device(device)
    trainer = Trainer(
        config,
        model_config,
        out,
        None if data_dir is None else Path(data_dir),
        dev,
        None if init is None or resume else Path(init),
        styles,
    )
    if resume:
        trainer.restore(out / CHECKPOINT_NAME)
    return trainer.run(max_minutes=max_minutes, progress=progress, on_round=on_round)
