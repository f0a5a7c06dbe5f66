"""What simulated phones deliver: SenseGen readings as the world draws them, against the real
windows of the people the model learned from.

``evaluate`` scores 8-s torch streams against *other* people (the held-out users). A phone in
the simulator uploads something else: a 2.56-s window (``WorldOptions.reading_s``) after the
burn-in, drawn by the numpy runtime the world uses (``NumpyGenerator.windows``), in the style
of its person (``runtime.person_styles``). This report measures those windows against the
training users' own disjoint windows of the same length, per activity and axis:

- **loudness**: the geometric mean of window std, as a share of the real one (item 4 of the
  sensing issue asks for z within 10 %); per style against its user, too;
- **spread of loudness within one person**: the std of log window std over one style's phones,
  averaged over the styles, against the std over one user's windows, averaged over the users
  (a checkpoint without styles: over all phones against all windows). A generator pulled to
  the mean loudness narrows it (``TrainConfig.amplitude_target``);
- **at rest**: the median window std, and the share of windows with an axis std above
  :attr:`PhoneConfig.moving_g` (real rest moves now and then);
- **long rest**: resting streams of :attr:`PhoneConfig.long_steps` samples cut into windows of
  :attr:`PhoneConfig.burst_steps`, the share of those that move, against the real resting
  segments cut the same way: a model that learned to move now and then may keep moving.

Why beside ``evaluate``: these are the figures the checkpoint records quote, and a number a
record quotes must come from a command anyone can run again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensegen.data import Recording, label_runs, load_hapt, split_by_user
from generators.sensegen.evaluate import validation_users
from generators.sensegen.model import load_checkpoint
from generators.sensegen.runtime import NumpyGenerator, person_styles
from mcsim.data.outputs import atomic_file
from mcsim.errors import InputError
from mcsim.platform.validation import MOVING_ACTIVITIES, STILL_ACTIVITIES
from mcsim.sim.sensing import ACTIVITY_NAMES
from mcsim.sim.world import WorldOptions

AXES = ("x", "y", "z")


@dataclass(frozen=True)
class PhoneConfig:
    """Sizes of the report; the defaults take about a minute for the paper-width model on two
    cores.

    Attributes:
        seed: the sensor seed of the readings.
        phones: phones per activity (spread over the styles by their index).
        steps: samples per reading (the world's ``reading_s`` at 50 Hz).
        moving_g: a window with an axis std above this [g] moves.
        long_phones: resting phones streaming :attr:`long_steps` each.
        long_steps: samples per long resting stream (60 s).
        burst_steps: window length the long streams are judged on (10 s) [samples].
    """

    seed: int = 0
    phones: int = 800
    steps: int = WorldOptions().reading_steps
    moving_g: float = 0.05
    long_phones: int = 48
    long_steps: int = 3000
    burst_steps: int = 500

    def __post_init__(self) -> None:
        for name in ("phones", "steps", "long_phones", "long_steps", "burst_steps"):
            if getattr(self, name) < 2:
                raise InputError(f"{name} must be >= 2, got {getattr(self, name)}")
        if self.burst_steps > self.long_steps:
            raise InputError(
                f"burst_steps ({self.burst_steps}) must not exceed long_steps ({self.long_steps})"
            )


def cut_windows(values: np.ndarray, steps: int) -> np.ndarray:
    """Non-overlapping windows of ``steps`` samples from the start of ``values`` (T, d):
    (T // steps, steps, d)."""
    k = len(values) // steps
    return values[: k * steps].reshape(k, steps, values.shape[1])


def real_windows(recordings: list[Recording], activity: int, steps: int) -> dict[int, np.ndarray]:
    """Per user, the non-overlapping ``steps``-sample windows inside that user's labelled
    segments of ``activity`` [g]: (windows, steps, 3); users without one are left out."""
    found: dict[int, list[np.ndarray]] = {}
    for rec in recordings:
        for lo, hi in label_runs(rec.labels):
            if rec.labels[lo] != activity:
                continue
            cut = cut_windows(rec.acc[lo:hi], steps)
            if len(cut):
                found.setdefault(rec.user, []).append(cut)
    return {user: np.concatenate(parts) for user, parts in sorted(found.items())}


def log_std(windows: np.ndarray) -> np.ndarray:
    """Each window's log std per axis, (n, d); a constant window gets the log of 1e-6 g."""
    return np.log(np.maximum(windows.std(axis=1), 1e-6))


def loudness_share(generated: np.ndarray, real: list[np.ndarray]) -> np.ndarray:
    """Geometric mean of generated window std over that of the real windows, per axis.

    ``generated`` (n, d) log stds; ``real`` the log stds of each person, (k_i, d) each, every
    person weighing the same (phones are spread evenly over the styles, whatever the amount
    each user recorded). Why the geometric mean: half and twice as loud are equally wrong, as
    in the amplitude loss.
    """
    person_means = np.stack([r.mean(axis=0) for r in real])
    return np.exp(generated.mean(axis=0) - person_means.mean(axis=0))


def within_spread(groups: list[np.ndarray]) -> np.ndarray:
    """Mean over groups (a style's phones, a user's windows) of the std of log window std
    within the group, per axis; groups of one window carry no spread and are left out."""
    kept = [g.std(axis=0, ddof=1) for g in groups if len(g) > 1]
    if not kept:
        return np.full(len(AXES), np.nan)
    return np.mean(kept, axis=0)


def moving_share(windows: np.ndarray, moving_g: float) -> float:
    """Share of ``windows`` (n, steps, d) with some axis std above ``moving_g`` [g]."""
    if not len(windows):
        return float("nan")
    return float((windows.std(axis=1) > moving_g).any(axis=1).mean())


def phone_report(
    checkpoint: str | Path | None = None,
    config: PhoneConfig | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Measure the readings phones deliver against the training users' real windows.

    Args:
        checkpoint: a SenseGen ``.pt`` conditioned on activities (default: the shipped one).
        config: sizes (default :class:`PhoneConfig`).
        data_dir: HAPT folder (default: ``data.default_data_dir()``).

    Returns:
        ``{"checkpoint", "config", "styles", "activities": {name: {...}}}``: per activity with
        real windows, ``loudness_share``, ``spread`` and ``real_spread`` by axis, with styles
        ``style_loudness_share`` (per style, by axis); at rest also ``median_std_g``,
        ``real_median_std_g``, ``moving_share``, ``real_moving_share``, ``long_moving_share``,
        ``real_long_moving_share`` and the numbers of real windows behind the real shares,
        ``real_windows`` and ``real_long_windows``.

    Raises:
        InputError: a checkpoint without activity conditions, bad sizes, or HAPT missing.
        CheckpointError: a missing or broken checkpoint.
    """
    config = config or PhoneConfig()
    path = SHIPPED_CHECKPOINT if checkpoint is None else Path(checkpoint)
    generator = NumpyGenerator.from_checkpoint(path)
    if not generator.conditions_on_activity:
        raise InputError("the phone report needs a checkpoint conditioned on activities", path=path)
    ckpt = load_checkpoint(path)
    train_recs, _ = split_by_user(load_hapt(data_dir), validation_users(ckpt, path))
    style_users = [int(name.removeprefix("user")) for name in ckpt.get("styles", [])]
    n_styles = generator.config.n_styles
    phones = np.arange(config.phones)
    styles = person_styles(phones, n_styles) if n_styles else np.zeros(config.phones, np.int64)
    report: dict[str, Any] = {
        "checkpoint": str(path),
        "config": asdict(config),
        "styles": n_styles,
        "activities": {},
    }
    real = {
        a: real_windows(train_recs, a, config.steps)
        for a in (*MOVING_ACTIVITIES, *STILL_ACTIVITIES)
    }
    measured = [a for a, windows in real.items() if windows]
    resting = [a for a in measured if a in STILL_ACTIVITIES]
    readings = _streams(generator, config.seed, config.phones, measured, config.steps, 0)
    long = _streams(generator, config.seed, config.long_phones, resting, config.long_steps, 1)
    for activity in measured:
        logs = log_std(readings[activity])
        real_logs = {user: log_std(w) for user, w in real[activity].items()}
        stats: dict[str, Any] = {
            "loudness_share": _by_axis(loudness_share(logs, list(real_logs.values()))),
        }
        if n_styles:
            groups = [logs[styles == s] for s in range(1, n_styles + 1)]
            stats["spread"] = _by_axis(within_spread(groups))
            stats["real_spread"] = _by_axis(within_spread(list(real_logs.values())))
            stats["style_loudness_share"] = {
                f"user{user:02d}": _by_axis(loudness_share(group, [real_logs[user]]))
                for user, group in zip(style_users, groups, strict=True)
                if user in real_logs and len(group)
            }
        else:
            stats["spread"] = _by_axis(within_spread([logs]))
            stats["real_spread"] = _by_axis(
                within_spread([np.concatenate(list(real_logs.values()))])
            )
        if activity in STILL_ACTIVITIES:
            real_long = real_windows(train_recs, activity, config.burst_steps)
            stats |= _rest(config, readings[activity], real[activity], long[activity], real_long)
        report["activities"][ACTIVITY_NAMES[activity]] = stats
    return report


def _streams(
    generator: NumpyGenerator, seed: int, phones: int, activities: list[int], steps: int, kind: int
) -> dict[int, np.ndarray]:
    """``phones`` fresh windows of ``steps`` samples in each of ``activities``, drawn in one
    call (rows of all activities share the runtime's blocks); keyed (phone, activity, kind),
    so readings (kind 0) and long streams (kind 1) are different draws."""
    if not activities:
        return {}
    rows = np.repeat(np.asarray(activities, np.int64), phones)
    index = np.tile(np.arange(phones), len(activities))
    keys = np.stack([index, rows, np.full_like(rows, kind)], axis=1)
    windows = generator.windows(seed, keys, steps, rows)
    return {a: windows[i * phones : (i + 1) * phones] for i, a in enumerate(activities)}


def _rest(
    config: PhoneConfig,
    readings: np.ndarray,
    real: dict[int, np.ndarray],
    long: np.ndarray,
    real_long: dict[int, np.ndarray],
) -> dict[str, Any]:
    pooled = np.concatenate(list(real.values()))
    long_cut = np.concatenate([cut_windows(stream, config.burst_steps) for stream in long])
    real_cut = np.concatenate(list(real_long.values())) if real_long else long_cut[:0]
    return {
        "median_std_g": _by_axis(np.median(readings.std(axis=1), axis=0)),
        "real_median_std_g": _by_axis(np.median(pooled.std(axis=1), axis=0)),
        "moving_share": moving_share(readings, config.moving_g),
        "real_moving_share": moving_share(pooled, config.moving_g),
        "long_moving_share": moving_share(long_cut, config.moving_g),
        "real_long_moving_share": moving_share(real_cut, config.moving_g),
        "real_windows": len(pooled),
        "real_long_windows": len(real_cut),  # few: a share of them is rough (binomial)
    }


def _by_axis(values: np.ndarray) -> dict[str, float]:
    return {axis: float(v) for axis, v in zip(AXES, values, strict=True)}


def format_report(report: dict[str, Any]) -> str:
    """The report as a Markdown table, one row per activity (x / y / z where by axis)."""

    def axes(stats: dict[str, float], fmt: str) -> str:
        return " / ".join(format(stats[a], fmt) for a in AXES)

    def beside_real(s: dict[str, Any], key: str, windows: str) -> str:
        return f"{s[key]:.1%} ({s['real_' + key]:.1%} of {s[windows]})"

    spread_kind = "within a style" if report["styles"] else "over all phones"
    header = (
        f"| activity | loudness, share of real | spread of log std {spread_kind} (real) "
        "| median std [g] (real) | moving windows (real) | long streams moving (real) |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for name, s in report["activities"].items():
        row = [
            name,
            axes(s["loudness_share"], ".0%"),
            f"{axes(s['spread'], '.3f')} ({axes(s['real_spread'], '.3f')})",
            "",
            "",
            "",
        ]
        if "median_std_g" in s:
            row[3:] = [
                f"{axes(s['median_std_g'], '.4f')} ({axes(s['real_median_std_g'], '.4f')})",
                beside_real(s, "moving_share", "real_windows"),
                beside_real(s, "long_moving_share", "real_long_windows"),
            ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write ``report`` as JSON to ``path``, atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    return Path(path)
