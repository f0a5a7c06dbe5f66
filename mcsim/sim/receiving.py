"""The platform's inbox: every reading of a day as received, fabricated ones included, judged.

**Dishonest users.** A scenario can make a share of users dishonest (``dishonest``). Such a
user senses honestly whatever it passes anyway, and *claims* every other copy it was assigned
without going there: at the copy's deadline (the end of the cycle when it has none), it
uploads a fabricated window of one kind, its *conduct*:

* ``noise``: white Gaussian noise, each window at its own level, log-uniform in
  :data:`NOISE_STD_G` (a script filling the upload);
* ``resting``: the phone's own window while it lies on a desk (the sensor conditioned on
  HAPT ``LAYING``; an unconditioned sensor gives a plain window);
* ``replay``: an exact copy of the latest window the platform received before the claim
  (the cheapest forgery); the day's first claim, with nothing to copy, sends ``noise``.

Why claims wait for the deadline: a cheater who might still pass the place has no reason to
forge earlier, and the platform sees a claim only as a late reading. The claim counts as a
completed copy until the platform's check says otherwise.

**The check.** :class:`Inbox` holds the day's windows in the order they were received (time,
then user, then pair) and, with a validator, the verdict of
:func:`mcsim.platform.validation.verdicts` per window; without one, every window is accepted
(the paper's platform trusts its users).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcsim.platform.validation import (
    ACCEPTED,
    ReadingValidator,
    replayed_windows,
    verdicts,
)
from mcsim.sim.sensing import N_AXES, SAMPLE_RATE_HZ, Reading

#: A user's conduct: 0 honest, else how it fabricates the copies it claims.
HONEST, NOISE, RESTING, REPLAY = 0, 1, 2, 3
CONDUCTS = ("honest", "noise", "resting", "replay")
FABRICATION_KINDS = CONDUCTS[1:]
NOISE_STD_G = (0.02, 0.3)  # [g] range of a noise forgery's level (still to brisk walking)
NO_ACTIVITY = 0  # the activity of a window no phone was in (noise, replay)


@dataclass(frozen=True, eq=False)
class Inbox:
    """The day's received windows, in receiving order, with the platform's verdicts.

    Attributes:
        pair: (n,) int64 the copy each window claims.
        windows: (n, steps, 3) float32 [g].
        conduct: (n,) int8 HONEST or the fabrication kind.
        activity: (n,) int8 HAPT id of what the phone was doing (0: no phone state).
        context: (n,) int8 the sensing context of the copy's task.
        verdict: (n,) int8 :data:`mcsim.platform.validation.VERDICT_NAMES` code.
        p_real: (n,) float64 the validator's realism score (NaN without a validator).
        judged_activity: (n,) int8 the validator's activity (0 without a validator).
    """

    pair: np.ndarray
    windows: np.ndarray
    conduct: np.ndarray
    activity: np.ndarray
    context: np.ndarray
    verdict: np.ndarray
    p_real: np.ndarray
    judged_activity: np.ndarray

    def __len__(self) -> int:
        return len(self.pair)


def noise_window(rng: np.random.Generator, steps: int) -> np.ndarray:
    """A noise forgery: white Gaussian noise at a log-uniform level in NOISE_STD_G [g]."""
    low, high = np.log(NOISE_STD_G[0]), np.log(NOISE_STD_G[1])
    std = float(np.exp(rng.uniform(low, high)))
    return rng.normal(0.0, std, (steps, N_AXES)).astype(np.float32)


def receive(
    readings: Sequence[Reading],
    conduct: Sequence[int],
    sensed: np.ndarray,
    steps: int,
    rng: np.random.Generator,
    *,
    contexts: np.ndarray,
    validator: ReadingValidator | None,
    min_p_real: float,
) -> Inbox:
    """Build the inbox: order the windows, make the noise and replay forgeries, check them.

    Args:
        readings: every window the platform got, in any order: first those the phones made
            (genuine readings and ``resting`` forgeries), then the claims forged here.
        conduct: HONEST or the fabrication kind of each reading.
        sensed: the phones' windows, one per phone-made reading, in order.
        steps: samples per window.
        rng: the forgeries' generator (drawn in receiving order).
        contexts: (n_pairs,) int the sensing context of each pair's task.
        validator: the platform's judge (None: every window accepted).
        min_p_real: the realism threshold.
    """
    order = sorted(
        range(len(readings)), key=lambda i: (readings[i].time_s, readings[i].user, readings[i].pair)
    )
    windows = np.empty((len(order), steps, N_AXES), dtype=np.float32)
    for row, i in enumerate(order):
        if i < len(sensed):
            windows[row] = sensed[i]
        elif conduct[i] == REPLAY and row > 0:
            windows[row] = windows[row - 1]
        else:
            windows[row] = noise_window(rng, steps)
    pair = np.array([readings[i].pair for i in order], dtype=np.int64)
    n = len(order)
    context = np.asarray(contexts, dtype=np.int8)[pair]
    verdict = np.full(n, ACCEPTED, dtype=np.int8)
    p_real = np.full(n, np.nan)
    judged = np.zeros(n, dtype=np.int8)
    if validator is not None and n:
        judgement = validator.judge(windows)
        verdict = verdicts(judgement, context, replayed_windows(windows), min_p_real)
        p_real = np.asarray(judgement.p_real, dtype=np.float64)
        judged = np.asarray(judgement.activity, dtype=np.int8)
    return Inbox(
        pair=pair,
        windows=windows,
        conduct=np.array([conduct[i] for i in order], dtype=np.int8),
        activity=np.array([readings[i].activity for i in order], dtype=np.int8),
        context=context,
        verdict=verdict,
        p_real=p_real,
        judged_activity=judged,
    )


def check_validator(validator: ReadingValidator, steps: int) -> None:
    """Refuse a validator that cannot judge the world's windows (before the day runs).

    Raises:
        ValueError: another sample rate, or windows shorter than it can judge.
    """
    if validator.sample_rate_hz != SAMPLE_RATE_HZ:
        raise ValueError(
            f"the validator judges {validator.sample_rate_hz:g} Hz windows; the phones "
            f"stream {SAMPLE_RATE_HZ:g} Hz"
        )
    if steps < validator.min_steps:
        raise ValueError(
            f"readings of {steps} samples are shorter than the validator's minimum "
            f"{validator.min_steps} (raise reading_s)"
        )
