"""Windows for the reading validator: real HAPT windows, and fabricated ones made without a model.

Real windows come from the labelled HAPT segments of activities 1-6 (walking, upstairs,
downstairs, sitting, standing, laying), read by SenseGen's loader
(:func:`generators.sensegen.data.load_hapt`: body acceleration in g at 50 Hz, gravity removed
the same way as the simulator's streams) and split by user with its
:func:`~generators.sensegen.data.split_by_user`, so that held-out users are never trained on.
Transitions (ids 7-12) and unlabelled stretches are left out: a task's context is one of the
six steady activities.

Fabricated windows (the negatives of the real-vs-fabricated head) are built only from real
windows and simple noise, never from a generative model: the validator must not learn what one
particular generator gets wrong, but what a recorded window looks like. The kinds
(:data:`FAKE_KINDS`) are what a dishonest user can make without recording anything:

* ``noise``: white Gaussian noise, std anywhere from a phone at rest to a shaken one;
* ``shuffled``: a real window with its samples in random order (the right values, no rhythm);
* ``smooth``: white noise through a moving average (band-limited noise, a smooth wobble);
* ``walk``: a random walk with its mean removed (drift, as from integrating noise);
* ``offset``: a constant per-axis offset plus noise (e.g. raw readings with gravity left in).

Every amplitude is drawn log-uniformly over the range of real windows, so that loudness alone
never gives a fake away. Randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

from generators.sensegen.data import Recording, load_hapt, split_by_user
from generators.validators.config import ACTIVITY_IDS
from mcsim.errors import InputError

FAKE_KINDS = ("noise", "shuffled", "smooth", "walk", "offset")
STD_RANGE_G = (0.002, 0.6)  # fabricated window std, drawn log-uniformly [g]


@dataclass(frozen=True)
class RealWindows:
    """Real windows with their labels.

    Attributes:
        windows: (n, steps, 3) float32 body acceleration [g].
        activity: (n,) int64 HAPT activity id (1-6).
        user: (n,) int64 HAPT volunteer id.
    """

    windows: np.ndarray
    activity: np.ndarray
    user: np.ndarray

    def __len__(self) -> int:
        return len(self.activity)


def real_windows(recordings: Iterable[Recording], steps: int, stride: int) -> RealWindows:
    """Every ``steps``-sample window, ``stride`` samples apart, inside one labelled segment
    of an activity 1-6.

    Raises:
        InputError: no segment is ``steps`` samples long.
    """
    windows, activity, user = [], [], []
    for rec in recordings:
        change = np.flatnonzero(np.diff(rec.labels)) + 1
        bounds = np.concatenate([[0], change, [len(rec.labels)]])
        for lo, hi in itertools.pairwise(bounds):
            label = int(rec.labels[lo])
            if label not in ACTIVITY_IDS or hi - lo < steps:
                continue
            starts = np.arange(lo, hi - steps + 1, stride)
            windows.append(rec.acc[starts[:, None] + np.arange(steps)])
            activity.append(np.full(len(starts), label, dtype=np.int64))
            user.append(np.full(len(starts), rec.user, dtype=np.int64))
    if not windows:
        raise InputError(f"no labelled segment of activities 1-6 is {steps} samples long")
    return RealWindows(
        np.concatenate(windows).astype(np.float32),
        np.concatenate(activity),
        np.concatenate(user),
    )


def load_split(
    held_out_users: tuple[int, ...],
    steps: int,
    stride: int,
    test_stride: int | None = None,
    data_dir: str | Path | None = None,
) -> tuple[RealWindows, RealWindows]:
    """Real (training, held-out) windows, split by user.

    Args:
        held_out_users: HAPT users never trained on.
        steps: window length [samples].
        stride: step between training windows [samples] (overlapping windows are fine there).
        test_stride: step between held-out windows (default ``steps``: disjoint windows, so
            each counts once).
        data_dir: the HAPT folder (default: SenseGen's ``default_data_dir``).

    Raises:
        InputError: missing data, or a split that leaves one side empty.
    """
    train, test = split_by_user(load_hapt(data_dir), held_out_users)
    return (
        real_windows(train, steps, stride),
        real_windows(test, steps, steps if test_stride is None else test_stride),
    )


def _log_uniform(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _scaled(shape_: np.ndarray, rng: np.random.Generator, std_g: float | None) -> np.ndarray:
    """Rescale each (steps, axes) window to unit std per axis, then to a drawn (or given) std
    with per-axis factors in [0.6, 1.4]."""
    n, _, axes = shape_.shape
    unit = (shape_ - shape_.mean(axis=1, keepdims=True)) / (
        shape_.std(axis=1, keepdims=True) + 1e-12
    )
    std = np.full(n, std_g) if std_g is not None else _log_uniform(rng, n, *STD_RANGE_G)
    return unit * (std[:, None, None] * rng.uniform(0.6, 1.4, (n, 1, axes)))


def fabricate(
    kind: str,
    n: int,
    steps: int,
    rng: np.random.Generator,
    pool: np.ndarray | None = None,
    std_g: float | None = None,
) -> np.ndarray:
    """``n`` fabricated windows of one kind (see the module docstring).

    Args:
        kind: one of :data:`FAKE_KINDS`.
        n: number of windows.
        steps: window length [samples].
        rng: the source of randomness.
        pool: (m, >= steps, 3) real windows that ``shuffled`` draws from.
        std_g: a fixed std for ``noise``, ``smooth`` and ``walk`` (default: drawn
            log-uniformly in :data:`STD_RANGE_G`) [g].

    Returns:
        (n, steps, 3) float32 [g].

    Raises:
        InputError: an unknown kind, or ``shuffled`` without a pool of long enough windows.
    """
    shape = (n, steps, 3)
    if kind == "noise":
        out = _scaled(rng.standard_normal(shape), rng, std_g)
    elif kind == "shuffled":
        if pool is None or len(pool) == 0 or pool.shape[1] < steps:
            raise InputError(f"'shuffled' needs a pool of real windows of >= {steps} samples")
        picks = pool[rng.integers(0, len(pool), n), :steps]
        order = np.argsort(rng.random((n, steps)), axis=1)
        out = np.take_along_axis(picks, order[:, :, None], axis=1)
    elif kind == "smooth":
        noise = rng.standard_normal(shape)
        widths = rng.integers(3, 26, n)
        smooth = np.stack(
            [
                uniform_filter1d(w, int(k), axis=0, mode="wrap")
                for w, k in zip(noise, widths, strict=True)
            ]
        )
        out = _scaled(smooth, rng, std_g)
    elif kind == "walk":
        out = _scaled(np.cumsum(rng.standard_normal(shape), axis=1), rng, std_g)
    elif kind == "offset":
        sign = rng.choice([-1.0, 1.0], (n, 1, 3))
        offset = sign * rng.uniform(0.1, 1.0, (n, 1, 3))
        noise = rng.standard_normal(shape) * _log_uniform(rng, n, 0.002, 0.05)[:, None, None]
        out = offset + noise
    else:
        raise InputError(f"unknown fabrication kind {kind!r}; expected one of {FAKE_KINDS}")
    return np.asarray(out, dtype=np.float32)


def fabricate_mix(n: int, steps: int, rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
    """``n`` fabricated windows, the kinds in equal shares (in a random order)."""
    kinds = rng.integers(0, len(FAKE_KINDS), n)
    out = np.empty((n, steps, 3), dtype=np.float32)
    for i, kind in enumerate(FAKE_KINDS):
        rows = np.flatnonzero(kinds == i)
        if len(rows):
            out[rows] = fabricate(kind, len(rows), steps, rng, pool)
    return out


def augment(windows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Real windows with their amplitude scaled by a factor in [0.8, 1.25] each (phones and
    people differ in how hard they shake; the activity and realness stay)."""
    factor = _log_uniform(rng, len(windows), 0.8, 1.25).astype(np.float32)
    return windows * factor[:, None, None]
