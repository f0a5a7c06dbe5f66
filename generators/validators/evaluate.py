"""How good is a reading validator? Held-out real users, fabricated windows, SenseGen streams.

Three questions, each answered on data the validator never saw:

1. **Real held-out users** (the checkpoint's ``held_out_users``; disjoint windows): accuracy
   per activity, of the walking-vs-still family (what a task's context needs), and the share
   judged real.
2. **Fabricated windows** of each kind of :data:`~generators.validators.data.FAKE_KINDS`
   (``shuffled`` drawn from the held-out users' windows), plus white noise of a fixed
   ``noise_std_g``: the share rejected, and the balanced real-vs-fabricated accuracy
   (mean of the real acceptance and the fake rejection).
3. **SenseGen streams** (the shipped generator unless another checkpoint is named),
   conditioned on each activity: the share accepted as real and judged the requested
   activity (and family). This is a finding about the generator, not a training target:
   the validator never sees generated data.

A window is *accepted as real* when ``p_real >= threshold`` (the platform's ``min_p_real``).
Results are a JSON-ready dict; :func:`evaluate` also writes it to ``report.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from generators.validators.config import ACTIVITY_IDS, ACTIVITY_NAMES, EvalConfig
from generators.validators.data import (
    FAKE_KINDS,
    RealWindows,
    fabricate,
    real_windows,
)
from mcsim.data.outputs import atomic_file
from mcsim.platform.validation import MOVING_ACTIVITIES, ReadingValidator

NAMES = dict(zip(ACTIVITY_IDS, ACTIVITY_NAMES, strict=True))


def _share(hits: np.ndarray) -> float | None:
    """Mean of a boolean array; None when empty (JSON has no NaN)."""
    return float(hits.mean()) if len(hits) else None


def _family(ids: np.ndarray) -> np.ndarray:
    return np.isin(ids, MOVING_ACTIVITIES)


def real_report(
    validator: ReadingValidator, held_out: RealWindows, threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy on real held-out windows, per activity and overall.

    Returns:
        ``{"n", "activity_accuracy", "family_accuracy", "accepted", "per_activity": {name:
        {"n", "activity_accuracy", "family_accuracy", "accepted"}}, "confusion"}`` (None for
        an activity without windows); the confusion matrix has a row per true and a column per predicted activity (ids 1-6).
    """
    judged = validator.judge(held_out.windows)
    hit = judged.activity == held_out.activity
    family = _family(judged.activity) == _family(held_out.activity)
    accepted = judged.p_real >= threshold
    per: dict[str, Any] = {}
    confusion = []
    for a in ACTIVITY_IDS:
        rows = held_out.activity == a
        per[NAMES[a]] = {
            "n": int(rows.sum()),
            "activity_accuracy": _share(hit[rows]),
            "family_accuracy": _share(family[rows]),
            "accepted": _share(accepted[rows]),
        }
        confusion.append([int((judged.activity[rows] == b).sum()) for b in ACTIVITY_IDS])
    return {
        "n": len(held_out),
        "activity_accuracy": float(hit.mean()),
        "family_accuracy": float(family.mean()),
        "accepted": float(accepted.mean()),
        "per_activity": per,
        "confusion": confusion,
    }


def fake_report(
    validator: ReadingValidator,
    held_out: RealWindows,
    config: EvalConfig,
) -> dict[str, Any]:
    """Rejection of each fabricated kind, and the balanced real-vs-fabricated accuracy.

    Returns:
        ``{kind: {"n", "rejected", "balanced_accuracy", "mean_p_real"}}`` for every kind and
        ``noise_<std>g``.
    """
    rng = np.random.default_rng(config.seed)
    real_accepted = float((validator.judge(held_out.windows).p_real >= config.threshold).mean())
    kinds: list[tuple[str, str, float | None]] = [(k, k, None) for k in FAKE_KINDS]
    kinds.append((f"noise_{config.noise_std_g:g}g", "noise", config.noise_std_g))
    out: dict[str, Any] = {}
    for label, kind, std in kinds:
        fakes = fabricate(kind, config.fakes_per_kind, config.steps, rng, held_out.windows, std)
        p_real = validator.judge(fakes).p_real
        rejected = float((p_real < config.threshold).mean())
        out[label] = {
            "n": config.fakes_per_kind,
            "rejected": rejected,
            "balanced_accuracy": 0.5 * (rejected + real_accepted),
            "mean_p_real": float(p_real.mean()),
        }
    return out


def sensegen_report(
    validator: ReadingValidator, config: EvalConfig, checkpoint: str | Path | None = None
) -> dict[str, Any]:
    """How SenseGen streams conditioned on each activity fare before the validator.

    Each of ``sensegen_phones`` fresh streams per activity (with the sampler's burn-in) gives
    ``sensegen_windows`` consecutive windows of ``steps`` samples.

    Returns:
        ``{name: {"n", "accepted", "activity_accuracy", "family_accuracy", "accepted_and_fits",
        "predicted": {name: share}, "mean_p_real"}}``; ``accepted_and_fits`` is the share the
        platform would accept for a task of that activity's family context.
    """
    from generators.sensegen.sample import Sampler

    sampler = Sampler.from_checkpoint(checkpoint)
    n, k = config.sensegen_phones, config.sensegen_windows
    out: dict[str, Any] = {}
    for i, a in enumerate(ACTIVITY_IDS):
        sampler.reset(n, config.seed + i)
        stream = sampler.sample(None, k * config.steps, np.full(n, a, dtype=np.int64))
        windows = stream.reshape(n * k, config.steps, 3)
        judged = validator.judge(windows)
        accepted = judged.p_real >= config.threshold
        fits = _family(judged.activity) == _family(np.array([a]))
        out[NAMES[a]] = {
            "n": n * k,
            "accepted": float(accepted.mean()),
            "activity_accuracy": float((judged.activity == a).mean()),
            "family_accuracy": float(fits.mean()),
            "accepted_and_fits": float((accepted & fits).mean()),
            "mean_p_real": float(judged.p_real.mean()),
            "predicted": {NAMES[b]: float((judged.activity == b).mean()) for b in ACTIVITY_IDS},
        }
    return out


def evaluate(
    checkpoint: str | Path | None = None,
    out: str | Path | None = None,
    config: EvalConfig | None = None,
    data_dir: str | Path | None = None,
    sensegen_checkpoint: str | Path | None = None,
    sensegen: bool = True,
) -> dict[str, Any]:
    """Evaluate a validator checkpoint (default: the shipped one) on its held-out users.

    Args:
        checkpoint: the validator ``.pt``.
        out: folder for ``report.json`` (None: nothing written).
        config: sizes and seeds (default :class:`EvalConfig`).
        data_dir: the HAPT folder.
        sensegen_checkpoint: the generator to test (default: the shipped SenseGen).
        sensegen: whether to test SenseGen streams at all.

    Raises:
        CheckpointError: a bad checkpoint; InputError: missing data.
    """
    from generators.sensegen.data import load_hapt
    from generators.validators import SHIPPED_CHECKPOINT
    from generators.validators.validator import HaptValidator

    config = EvalConfig() if config is None else config
    path = SHIPPED_CHECKPOINT if checkpoint is None else Path(checkpoint)
    validator = HaptValidator.from_checkpoint(path, config.steps)
    training = validator_training(path)
    users = tuple(int(u) for u in training["held_out_users"])
    held_out = real_windows(load_hapt(data_dir, users=set(users)), config.steps, config.steps)
    report: dict[str, Any] = {
        "checkpoint": str(path),
        "config": asdict(config),
        "held_out_users": list(users),
        "real": real_report(validator, held_out, config.threshold),
        "fabricated": fake_report(validator, held_out, config),
    }
    if sensegen:
        report["sensegen"] = sensegen_report(validator, config, sensegen_checkpoint)
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(folder / "report.json") as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    return report


def validator_training(path: str | Path) -> dict[str, Any]:
    """The training record stored in a validator checkpoint."""
    from generators.validators.model import load_validator_checkpoint

    return load_validator_checkpoint(path).training


def _fmt(share: float | None) -> str:
    return "  -  " if share is None else f"{share:.3f}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short plain-text table of a report (what the CLI prints)."""
    real = report["real"]
    lines = [
        (
            f"held-out users {report['held_out_users']}: activity "
            f"{real['activity_accuracy']:.3f}, walking/still {real['family_accuracy']:.3f}, "
            f"judged real {real['accepted']:.3f} (n={real['n']})"
        )
    ]
    lines += [
        f"  {name:<10} n={v['n']:<4} activity {_fmt(v['activity_accuracy'])}  "
        f"family {_fmt(v['family_accuracy'])}  real {_fmt(v['accepted'])}"
        for name, v in real["per_activity"].items()
    ]
    lines.append("fabricated (rejected / balanced real-vs-fabricated accuracy):")
    lines += [
        f"  {kind:<10} {v['rejected']:.3f} / {v['balanced_accuracy']:.3f}"
        for kind, v in report["fabricated"].items()
    ]
    if "sensegen" in report:
        lines.append("SenseGen streams (accepted / activity / family / accepted and fits):")
        lines += [
            f"  {name:<10} {v['accepted']:.3f} / {v['activity_accuracy']:.3f} / "
            f"{v['family_accuracy']:.3f} / {v['accepted_and_fits']:.3f}"
            for name, v in report["sensegen"].items()
        ]
    return lines
