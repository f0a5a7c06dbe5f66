"""How close are SenseGen's streams to real HAPT data? Metrics on held-out or training users.

By default every comparison's real side is the validation users stored in the checkpoint
(never trained on): a test of whether generated streams pass for *other people*. With
``EvalConfig.real_users = "training"`` it is the training users, the protocol of the SenseGen
paper (a discriminator of the generator's own training data against its output, scored on
windows held out from the discriminator) and of TimeGAN's discriminative and predictive
scores: a test of whether the generator reproduces the people it learnt from. Test 5 then
tells fitting apart from copying. Numbered, the report holds:

1. the paper's test: a freshly trained paper discriminator (LSTM 64) on real vs generated
   400-step windows, accuracy on held-out windows (the paper reaches ~50 %);
2. TimeGAN's discriminative score |accuracy - 0.5| of a post-hoc GRU classifier;
3. TimeGAN's predictive score: a GRU next-step predictor trained on generated windows, its MAE
   on real windows [g] (train-synthetic-test-real), beside the same predictor trained on real
   windows of other validation recordings as the reference (train-real-test-real);
4. per-axis marginal Wasserstein distance [g], autocorrelation and log power-spectrum gaps;
5. memorisation: nearest-neighbour distances of generated windows to training windows against
   those of real validation windows to training windows (generated much closer = copying),
   absolute and relative to each window's own norm (so that quiet resting windows, which are
   close to every other resting window in absolute terms, are not mistaken for copies);
6. the real reference: both classifiers of test 1-2 again, with real windows of the training
   users in place of generated ones (see :func:`real_reference`);
7. figures: real vs generated windows (paper Fig. 2), marginals, autocorrelation and spectra.

Results go to ``OUT/report.json`` and PNGs, written atomically.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.signal import welch
from scipy.stats import wasserstein_distance
from torch import nn

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensegen.config import REAL_USERS
from generators.sensegen.data import (
    Normalizer,
    Series,
    load_hapt,
    split_by_user,
)
from generators.sensegen.model import (
    DiscriminatorConfig,
    SenseGenDiscriminator,
    config_from_checkpoint,
    load_checkpoint,
)
from generators.sensegen.sample import Sampler
from generators.sensegen.train import TrainConfig
from mcsim.data.outputs import atomic_file, save_figure
from mcsim.errors import InputError
from mcsim.sim.sensing import SAMPLE_RATE_HZ
from mcsim.stats import mean_ci

AXES = ("x", "y", "z")


@dataclass(frozen=True)
class EvalConfig:
    """Sizes of the evaluation; the defaults run in about two minutes on one CPU core.

    Attributes:
        seed: seeds window choice, generation, splits and post-hoc model initialisation.
        windows: real and generated windows each (validation users).
        window: window length [samples] (paper: 400).
        train_windows: training-user windows for the memorisation check.
        test_frac: share of windows held out to score the post-hoc models.
        epochs: training epochs of each post-hoc model.
        batch: post-hoc mini-batch size.
        lr: post-hoc learning rate (RMSProp for the paper's D, Adam for the GRUs).
        gru_hidden: hidden units of the post-hoc GRU classifier and predictor.
        max_lag: autocorrelation lags compared [samples].
        repeats: seeds (``seed``, ``seed + 1``, ...) over which the two classifiers and their
            real reference are repeated, for their spread (:func:`repeated_accuracies`).
        real_users: the real side of every comparison, one of :data:`REAL_USERS`: the
            checkpoint's validation users (other people) or its training users (the people
            the generator learnt from; the paper's and TimeGAN's protocol).
    """

    seed: int = 0
    windows: int = 256
    window: int = 400  # [samples]
    train_windows: int = 2048
    test_frac: float = 0.3
    epochs: int = 30
    batch: int = 32
    lr: float = 1e-3
    gru_hidden: int = 32  # [units]
    max_lag: int = 50  # [samples] = 1 s
    repeats: int = 1
    real_users: str = "validation"

    def __post_init__(self) -> None:
        for name in ("windows", "window", "epochs", "batch", "repeats"):
            if getattr(self, name) < 1:
                raise InputError(
                    f"evaluation {name}: expected an integer >= 1, got {getattr(self, name)}"
                )
        if self.real_users not in REAL_USERS:
            raise InputError(
                f"evaluation real_users: expected one of {', '.join(REAL_USERS)}, "
                f"got {self.real_users!r}"
            )


def _fit_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: EvalConfig,
    rng: torch.Generator,
    optimizer: torch.optim.Optimizer,
) -> None:
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), config.batch):
            idx = order[start : start + config.batch]
            optimizer.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()


class _GRUHead(nn.Module):
    """GRU over 3-axis windows with a linear read-out: of the last step only (a classifier's
    logit, ``outputs=1``) or of every step (a next-step predictor, ``outputs=3``)."""

    def __init__(self, hidden: int, outputs: int) -> None:
        super().__init__()
        self.gru = nn.GRU(3, hidden, batch_first=True)
        self.out = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x)
        if self.out.out_features == 1:
            return self.out(h[:, -1]).squeeze(-1)
        return self.out(h)


def _split(n: int, frac: float, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=rng)
    n_test = max(1, round(n * frac))
    return order[n_test:], order[:n_test]


def discriminator_accuracy(
    real: torch.Tensor, fake: torch.Tensor, config: EvalConfig, kind: str
) -> float:
    """Held-out accuracy of a fresh classifier of real vs generated (normalised) windows.

    Args:
        real: (n, T, 3) real windows.
        fake: (n, T, 3) generated windows.
        config: sizes and seed.
        kind: ``"paper"`` (the paper's LSTM discriminator, RMSProp) or ``"gru"`` (TimeGAN's
            post-hoc GRU classifier, Adam).
    """
    rng = torch.Generator().manual_seed(config.seed + 11)
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    train_idx, test_idx = _split(len(x), config.test_frac, rng)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(config.seed)
        if kind == "paper":
            model: nn.Module = SenseGenDiscriminator(DiscriminatorConfig())
            opt: torch.optim.Optimizer = torch.optim.RMSprop(model.parameters(), lr=config.lr)
        else:
            model = _GRUHead(config.gru_hidden, 1)
            opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    _fit_classifier(model, x[train_idx], y[train_idx], config, rng, opt)
    with torch.no_grad():
        pred = (model(x[test_idx]) > 0).float()
    return float((pred == y[test_idx]).float().mean())


def predictive_mae(
    train: torch.Tensor, test: torch.Tensor, std: torch.Tensor, config: EvalConfig
) -> float:
    """Next-step MAE [g, mean over axes] on ``test`` of a GRU predictor fitted on ``train``."""
    rng = torch.Generator().manual_seed(config.seed + 13)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(config.seed)
        model = _GRUHead(config.gru_hidden, 3)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.epochs):
        order = torch.randperm(len(train), generator=rng)
        for start in range(0, len(train), config.batch):
            batch = train[order[start : start + config.batch]]
            opt.zero_grad()
            (model(batch[:, :-1]) - batch[:, 1:]).abs().mean().backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    with torch.no_grad():
        err = (model(test[:, :-1]) - test[:, 1:]).abs() * std
    return float(err.mean())


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean autocorrelation per axis over windows: (max_lag + 1, 3)."""
    x = x - x.mean(axis=1, keepdims=True)
    var = (x * x).mean(axis=1) + 1e-12
    lags = [(x[:, : x.shape[1] - k] * x[:, k:]).mean(axis=1) / var for k in range(max_lag + 1)]
    return np.stack(lags).mean(axis=1)


def _psd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean Welch power spectral density per axis [g²/Hz]: (freqs, (F, 3))."""
    freqs, p = welch(x, fs=SAMPLE_RATE_HZ, nperseg=min(128, x.shape[1]), axis=1)
    return freqs, p.mean(axis=0)


def _nn_distance(query: torch.Tensor, reference: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance of each flattened query window to its nearest reference window, and
    that distance divided by the query window's norm (0 = an exact copy; a little under 1.4,
    sqrt 2, for windows independent of references of the same scale)."""
    q, r = query.flatten(1), reference.flatten(1)
    dist = torch.cdist(q, r).min(dim=1).values
    return dist.numpy(), (dist / q.norm(dim=1).clamp_min(1e-12)).numpy()


def evaluate(
    checkpoint: str | Path | None,
    out_dir: str | Path,
    config: EvalConfig | None = None,
    data_dir: str | Path | None = None,
    activity: str | None = None,
) -> dict[str, Any]:
    """Run every metric for a checkpoint and write ``report.json`` and PNGs to ``out_dir``.

    Args:
        checkpoint: a ``.pt`` file, or None for the shipped HAPT checkpoint.
        out_dir: output folder.
        config: sizes (default :class:`EvalConfig`).
        data_dir: HAPT folder (default: ``data.default_data_dir()``).
        activity: generate conditioned on this HAPT activity and compare with real windows
            lying entirely inside that activity (None: all windows, unconditioned).

    Returns:
        The report (as written to JSON).
    """
    config = config or EvalConfig()
    path = SHIPPED_CHECKPOINT if checkpoint is None else Path(checkpoint)
    sampler = Sampler.from_checkpoint(path)
    ckpt = load_checkpoint(path)
    val_users = validation_users(ckpt, path)
    norm: Normalizer = sampler.normalizer
    train_recs, val_recs = split_by_user(load_hapt(data_dir), val_users)
    val_series, train_series = Series(val_recs, norm), Series(train_recs, norm)
    real_series = train_series if config.real_users == "training" else val_series
    rng = torch.Generator().manual_seed(config.seed)

    cond_id = None if activity is None else sampler.activity_id(activity)
    real, fake_g = _draw(sampler, real_series, config, cond_id, rng)
    n = len(real)
    fake = torch.from_numpy(norm.normalize(fake_g))
    real_g = norm.denormalize(real.numpy())
    std = torch.tensor(norm.std, dtype=torch.float32)

    first = _accuracies(real, fake, train_series, norm, config, cond_id)
    paper_acc, gru_acc = first["paper"], first["gru"]
    half = n // 2
    tstr = predictive_mae(fake[:half], real[half:], std, config)
    trtr = predictive_mae(real[:half], real[half:], std, config)
    reference = first["reference"]
    reference["model_minus_reference"] = {
        "paper": paper_acc - reference["paper_discriminator_accuracy"],
        "gru": gru_acc - reference["gru_discriminator_accuracy"],
    }

    train_ref, _ = train_series.random_windows(config.train_windows, config.window, rng)
    nn_fake = _nn_distance(fake, train_ref)
    nn_real = _nn_distance(_other_people(real, val_series, config, cond_id), train_ref)

    acf_r, acf_f = _acf(real_g, config.max_lag), _acf(fake_g, config.max_lag)
    freqs, psd_r = _psd(real_g)
    _, psd_f = _psd(fake_g)
    log_gap = np.abs(np.log10(psd_f + 1e-12) - np.log10(psd_r + 1e-12)).mean(axis=0)
    report: dict[str, Any] = {
        "checkpoint": str(path),
        "styles": list(ckpt.get("styles", [])),  # one per training user; phones hash to one
        "activity": activity,
        "val_users": list(val_users),
        "windows": n,
        "held_out_windows": round(2 * n * config.test_frac),
        "paper_discriminator_accuracy": paper_acc,
        "gru_discriminator_accuracy": gru_acc,
        "discriminative_score": abs(gru_acc - 0.5),
        "predictive_score": tstr,
        "predictive_score_real_reference": trtr,
        "wasserstein_g": dict(
            zip(
                AXES,
                (
                    wasserstein_distance(real_g[..., a].ravel(), fake_g[..., a].ravel())
                    for a in range(3)
                ),
                strict=True,
            )
        ),
        "std_g": {
            "real": dict(zip(AXES, real_g.std(axis=(0, 1)).tolist(), strict=True)),
            "generated": dict(zip(AXES, fake_g.std(axis=(0, 1)).tolist(), strict=True)),
            "real_training_users": reference.pop("std_g"),
        },
        "window_std_g": {
            "real": window_std_percentiles(real_g),
            "generated": window_std_percentiles(fake_g),
            "real_training_users": reference.pop("window_std_g"),
        },
        "real_reference": reference,
        "repeats": repeated_accuracies(
            first, sampler, (real_series, train_series), norm, config, cond_id
        ),
        "acf_mean_abs_diff": dict(
            zip(AXES, np.abs(acf_r - acf_f).mean(axis=0).tolist(), strict=True)
        ),
        "log10_psd_mean_abs_diff": dict(zip(AXES, log_gap.tolist(), strict=True)),
        "memorisation": {
            "nn_distance_generated_to_train_median": float(np.median(nn_fake[0])),
            "nn_distance_real_val_to_train_median": float(np.median(nn_real[0])),
            "relative_nn_distance_generated_median": float(np.median(nn_fake[1])),
            "relative_nn_distance_real_val_median": float(np.median(nn_real[1])),
            "ratio": float(np.median(nn_fake[1]) / max(float(np.median(nn_real[1])), 1e-12)),
            "units": "Euclidean distance of flattened normalised 400x3 windows; relative: "
            "divided by the window's own norm; ratio: of the relative medians",
        },
        "activity_std_g": activity_profile(sampler, real_series, config),
        "config": asdict(config),
        "checkpoint_metadata": ckpt.get("metadata", {}),
    }
    out = Path(out_dir)
    with atomic_file(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    _plots(out, real_g, fake_g, (acf_r, acf_f), (freqs, psd_r, psd_f), config.real_users)
    return report


def validation_users(ckpt: dict[str, Any], path: Path) -> tuple[int, ...]:
    """The users checkpoint ``ckpt`` (read from ``path``) was validated on, never trained on
    (``TrainConfig``'s default where it records none)."""
    if "train_config" not in ckpt:
        return TrainConfig().val_users
    return config_from_checkpoint(TrainConfig, ckpt, "train_config", path).val_users


def _other_people(
    real: torch.Tensor, val_series: Series, config: EvalConfig, cond_id: int | None
) -> torch.Tensor:
    """Real windows of people the generator never saw, the memorisation test's yardstick: the
    run's own real windows when they are the validation users', else the windows a run
    against the validation users draws. Why: the training users' windows lie inside the
    training set that distances are measured to."""
    if config.real_users == "validation":
        return real
    rng = torch.Generator().manual_seed(config.seed)
    return val_series.random_windows(len(real), config.window, rng, cond_id)[0]


def _draw(
    sampler: Sampler,
    real_series: Series,
    config: EvalConfig,
    cond_id: int | None,
    rng: torch.Generator,
) -> tuple[torch.Tensor, np.ndarray]:
    """``config.windows`` real windows of ``real_series`` (normalised, drawn with ``rng``) and
    as many fresh generated windows [g], seeded by ``config.seed``."""
    real, _ = real_series.random_windows(config.windows, config.window, rng, cond_id)
    sampler.reset(len(real), config.seed)
    ids = None if cond_id is None else np.full(len(real), cond_id, dtype=np.int64)
    return real, sampler.sample(None, config.window, ids)


def _accuracies(
    real: torch.Tensor,
    fake: torch.Tensor,
    train_series: Series,
    norm: Normalizer,
    config: EvalConfig,
    cond_id: int | None,
) -> dict[str, Any]:
    """Both classifiers' held-out accuracy on real vs generated, and the real reference."""
    return {
        "paper": discriminator_accuracy(real, fake, config, "paper"),
        "gru": discriminator_accuracy(real, fake, config, "gru"),
        "reference": real_reference(real, train_series, norm, config, cond_id),
    }


def repeated_accuracies(
    first: dict[str, Any],
    sampler: Sampler,
    series: tuple[Series, Series],
    norm: Normalizer,
    config: EvalConfig,
    cond_id: int | None,
) -> dict[str, Any]:
    """The two classifiers and their real reference over ``config.repeats`` seeds, with spread.

    Why: one held-out test set of ~150 windows leaves each accuracy about +-0.04, and which
    256 windows are drawn moves the real reference by as much again (HAPT walking: 0.66-0.86
    over eight seeds), so a single seed cannot say whether a model is worse than real data of
    other people. Repeat r is exactly a run with ``--seed seed + r`` (fresh real windows,
    generated windows and classifiers); repeat 0 is the run's own figures (``first``).

    Args:
        first: :func:`_accuracies` of the run's own seed.
        sampler: the generator.
        series: (the real side's users, training users).
        norm: the checkpoint's normalisation.
        config: sizes, seed and ``repeats``.
        cond_id: the activity id, or None.

    Returns:
        ``seeds`` and, per classifier, the accuracies of the model and of the reference per
        seed with :func:`mcsim.stats.mean_ci` of each and of their difference (model minus
        reference; NaN spread, written as null, with one repeat).
    """
    real_series, train_series = series
    runs = [first]
    for r in range(1, config.repeats):
        seeded = replace(config, seed=config.seed + r)
        rng = torch.Generator().manual_seed(seeded.seed)
        real, fake_g = _draw(sampler, real_series, seeded, cond_id, rng)
        fake = torch.from_numpy(norm.normalize(fake_g))
        runs.append(_accuracies(real, fake, train_series, norm, seeded, cond_id))
    summary: dict[str, Any] = {"seeds": [config.seed + r for r in range(config.repeats)]}
    for kind in ("paper", "gru"):
        model = [run[kind] for run in runs]
        reference = [run["reference"][f"{kind}_discriminator_accuracy"] for run in runs]
        summary[f"{kind}_discriminator_accuracy"] = {
            "model": model,
            "reference": reference,
            "model_stats": _finite(mean_ci(model)),
            "reference_stats": _finite(mean_ci(reference)),
            "difference_stats": _finite(
                mean_ci(m - r for m, r in zip(model, reference, strict=True))
            ),
        }
    return summary


def _finite(stats: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: a spread that does not exist (one repeat) is written as null."""
    return {k: (v if math.isfinite(v) else None) for k, v in stats.items()}


def real_reference(
    real: torch.Tensor,
    train_series: Series,
    norm: Normalizer,
    config: EvalConfig,
    cond_id: int | None,
) -> dict[str, Any]:
    """Both classifiers on the real side's windows against real windows of the training users.

    Why: the held-out test compares a generator with *other people*, and people walk
    differently. On HAPT's split (users 1-20 trained on, 21-24 held out) the training users'
    own walking recordings are told from the validation users' at 0.77 (paper discriminator) /
    0.82 (GRU) over 8 seeds, with z at 0.143 g against 0.178 g: more than the 0.60 target,
    before any generator is involved. These figures are what a generator that reproduced its
    training users exactly would score, the floor under the model's own on this split, so a
    report reads "how much worse than real data of other people", not only "how far from 0.5".
    Where the real side is the training users themselves (``EvalConfig.real_users``), both
    sides are windows of the same people, and the figures are this test's chance level
    (about 0.5, less where the two draws share samples).

    Args:
        real: (n, T, 3) the real windows the model was compared with (normalised).
        train_series: the training users' recordings.
        norm: the checkpoint's normalisation (for the std in g).
        config: sizes and seed; the windows are drawn from their own stream (seed + 19), so
            the model's figures do not change with this reference.
        cond_id: activity id the windows lie inside, or None for any window.

    Returns:
        ``paper_discriminator_accuracy``, ``gru_discriminator_accuracy``, ``std_g`` (per-axis
        std of the training-user windows [g]) and ``window_std_g``
        (:func:`window_std_percentiles` of them).
    """
    rng = torch.Generator().manual_seed(config.seed + 19)
    other, _ = train_series.random_windows(len(real), config.window, rng, cond_id)
    other_g = norm.denormalize(other.numpy())
    return {
        "paper_discriminator_accuracy": discriminator_accuracy(real, other, config, "paper"),
        "gru_discriminator_accuracy": discriminator_accuracy(real, other, config, "gru"),
        "std_g": dict(zip(AXES, other_g.std(axis=(0, 1)).tolist(), strict=True)),
        "window_std_g": window_std_percentiles(other_g),
        "what": "real windows of the training users in place of generated ones: what a "
        "generator that reproduced its training users exactly would score",
    }


def window_std_percentiles(windows: np.ndarray) -> dict[str, dict[str, float]]:
    """10th, 50th and 90th percentiles over windows of each window's per-axis std [g].

    Why: a pooled std hides how amplitudes spread across windows. People walk more or less
    loudly; a generator can match the typical walker and still miss the loud ones (SenseGen's
    walking z without styles: median 0.12 g like the training users', 90th percentile 0.16
    against 0.21 g).
    """
    per_window = windows.std(axis=1)  # (n, 3)
    q = np.percentile(per_window, [10, 50, 90], axis=0)
    return {
        axis: {"p10": float(q[0, a]), "p50": float(q[1, a]), "p90": float(q[2, a])}
        for a, axis in enumerate(AXES)
    }


def activity_profile(
    sampler: Sampler, series: Series, config: EvalConfig, n_streams: int = 64
) -> dict[str, dict[str, dict[str, float]]]:
    """Per-axis std [g] of real and activity-conditioned generated windows, per activity.

    Why: an activity-conditioned generator must make a walking phone move and a seated one
    rest. Per-activity signal energy is the first thing that shows whether it does; the
    shipped checkpoint's first version did not (every activity looked like the mix).
    Only activities with validation segments of at least ``config.window`` samples count.

    Returns:
        ``{activity name: {"real": {axis: std}, "generated": {axis: std}}}``; empty for a
        checkpoint without conditioning.
    """
    if sampler.model.config.n_conditions == 0:
        return {}
    rng = torch.Generator().manual_seed(config.seed + 17)
    profile = {}
    for cond_id, name in enumerate(sampler.activities[1:], start=1):
        try:
            real, _ = series.random_windows(n_streams, config.window, rng, cond_id)
        except InputError:  # no validation segment of this activity is long enough
            continue
        real_g = sampler.normalizer.denormalize(real.numpy())
        sampler.reset(n_streams, config.seed + cond_id)
        fake_g = sampler.sample(None, config.window, np.full(n_streams, cond_id))
        profile[name.lower()] = {
            "real": dict(zip(AXES, real_g.std(axis=1).mean(axis=0).tolist(), strict=True)),
            "generated": dict(zip(AXES, fake_g.std(axis=1).mean(axis=0).tolist(), strict=True)),
        }
    return profile


def _json_default(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _plots(
    out: Path,
    real: np.ndarray,
    fake: np.ndarray,
    acf: tuple[np.ndarray, np.ndarray],
    spectra: tuple[np.ndarray, np.ndarray, np.ndarray],
    real_users: str,
) -> None:
    """Windows, marginals, autocorrelations (real, generated) and power spectra (frequencies,
    real, generated) as PNGs; ``real_users`` names the real side in the titles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(real.shape[1]) / SAMPLE_RATE_HZ
    rows = min(4, len(real))
    fig, axes = plt.subplots(
        rows, 2, figsize=(10, 2 * rows), sharex=True, sharey=True, squeeze=False
    )
    for i in range(rows):
        for j, (data, title) in enumerate(
            ((real, f"real ({real_users} users)"), (fake, "generated"))
        ):
            for a, name in enumerate(AXES):
                axes[i, j].plot(t, data[i, :, a], lw=0.6, label=name)
            if i == 0:
                axes[i, j].set_title(title)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time [s]")
    for ax in axes[:, 0]:
        ax.set_ylabel("body acc. [g]")
    fig.suptitle("Real vs generated 8 s windows (cf. paper Fig. 2)")
    fig.tight_layout()
    save_figure(fig, out / "windows.png", dpi=110)

    acf_r, acf_f = acf
    freqs, psd_r, psd_f = spectra
    fig, axes = plt.subplots(3, 3, figsize=(12, 8))
    lags = np.arange(len(acf_r)) / SAMPLE_RATE_HZ
    for a, name in enumerate(AXES):
        lo, hi = np.percentile(real[..., a], [0.5, 99.5])
        bins = np.linspace(lo, hi, 80)
        axes[0, a].hist(real[..., a].ravel(), bins, density=True, alpha=0.5, label="real")
        axes[0, a].hist(fake[..., a].ravel(), bins, density=True, alpha=0.5, label="generated")
        axes[0, a].set_title(f"{name}: marginal [g]")
        axes[1, a].plot(lags, acf_r[:, a], label="real")
        axes[1, a].plot(lags, acf_f[:, a], label="generated")
        axes[1, a].set_title(f"{name}: autocorrelation (lag [s])")
        axes[2, a].semilogy(freqs, psd_r[:, a], label="real")
        axes[2, a].semilogy(freqs, psd_f[:, a], label="generated")
        axes[2, a].set_title(f"{name}: power spectrum [g²/Hz] vs Hz")
    axes[0, 0].legend()
    fig.tight_layout()
    save_figure(fig, out / "statistics.png", dpi=110)
