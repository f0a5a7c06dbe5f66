"""The platform's check of the readings it receives: sensing contexts and the acceptance rule.

A task may need a phone in a given state (its *sensing context*): a gait or road-surface task
needs a walking phone, a noise task a still one, most tasks do not care. A reading reaches
the platform as a window of 50 Hz 3-axis body acceleration [g]; the platform cannot see where
the phone was, only the window, so it judges the window with a :class:`ReadingValidator` (an
activity classifier and a real-versus-fabricated score, implemented above the core:
``generators.validators``) and accepts a reading iff

* it is not a replay: no window with identical samples reached the platform before that day
  (dishonest users re-upload old windows);
* the validator finds it real: ``p_real >= min_p_real``;
* its predicted activity fits the task's context (any activity fits ``any``).

The rule lives here, in the core, so every validator is judged the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mcsim.seeding import draw_by_share

#: HAPT activity ids (``activity_labels.txt``) of a moving and of a still phone.
MOVING_ACTIVITIES = (1, 2, 3)  # walking, walking upstairs, walking downstairs
STILL_ACTIVITIES = (4, 5, 6)  # sitting, standing, laying

#: A task's sensing context -> the HAPT activities whose readings fit it ("any": all).
CONTEXT_ACTIVITIES: dict[str, tuple[int, ...]] = {
    "any": MOVING_ACTIVITIES + STILL_ACTIVITIES,
    "walking": MOVING_ACTIVITIES,
    "still": STILL_ACTIVITIES,
}
CONTEXTS = tuple(CONTEXT_ACTIVITIES)  # context codes are indices into this tuple
ANY, WALKING, STILL = (CONTEXTS.index(name) for name in ("any", "walking", "still"))


def draw_contexts(
    n_tasks: int, names: Sequence[str], shares: Sequence[float], rng: np.random.Generator
) -> np.ndarray:
    """(n_tasks,) int8 context codes drawn independently with the given shares.

    Args:
        n_tasks: tasks to draw for.
        names: context names (from :data:`CONTEXTS`).
        shares: their weights (normalised here).
        rng: the task pool's generator.
    """
    return draw_by_share(rng, n_tasks, [CONTEXTS.index(name) for name in names], shares)


#: Why a reading was rejected (0: accepted), one code per reading.
ACCEPTED, REPLAYED, NOT_REAL, WRONG_ACTIVITY = 0, 1, 2, 3
VERDICT_NAMES = ("accepted", "replayed", "not_real", "wrong_activity")


@dataclass(frozen=True)
class Judgement:
    """A validator's view of n windows.

    Attributes:
        activity: (n,) int64 predicted HAPT activity id (1-6).
        p_real: (n,) float64 probability that the window is a real phone recording.
    """

    activity: np.ndarray
    p_real: np.ndarray


@runtime_checkable
class ReadingValidator(Protocol):
    """Judges reading windows; implementations live above the core (``generators``)."""

    @property
    def sample_rate_hz(self) -> float:
        """Rate of the windows it was trained on [Hz] (the world's is 50 Hz)."""
        ...

    @property
    def min_steps(self) -> int:
        """Shortest window it can judge [samples]."""
        ...

    def judge(self, windows: np.ndarray) -> Judgement:
        """Judge float32 windows of shape (n, steps, 3) [g] (steps >= ``min_steps``)."""
        ...


def verdicts(
    judgement: Judgement,
    contexts: np.ndarray,
    replayed: np.ndarray,
    min_p_real: float,
) -> np.ndarray:
    """The platform's verdict code per reading (``ACCEPTED``, ``REPLAYED``, ...).

    The first failing check names the verdict, in the order replay, realism, activity.

    Args:
        judgement: the validator's view of the windows.
        contexts: (n,) int context code per reading (index into :data:`CONTEXTS`).
        replayed: (n,) bool, the window repeats one the platform received earlier.
        min_p_real: the realism threshold.
    """
    fits = np.zeros(len(contexts), dtype=bool)
    for code, name in enumerate(CONTEXTS):
        rows = contexts == code
        fits[rows] = np.isin(judgement.activity[rows], CONTEXT_ACTIVITIES[name])
    out = np.full(len(contexts), ACCEPTED, dtype=np.int8)
    out[~fits] = WRONG_ACTIVITY
    out[judgement.p_real < min_p_real] = NOT_REAL
    out[replayed] = REPLAYED
    return out


def replayed_windows(windows: np.ndarray) -> np.ndarray:
    """(n,) bool: window i has the same samples as an earlier window j < i.

    Windows are compared by their bytes (a replayed window is an exact copy).
    """
    seen: set[bytes] = set()
    out = np.zeros(len(windows), dtype=bool)
    for i, window in enumerate(np.ascontiguousarray(windows)):
        key = window.tobytes()
        out[i] = key in seen
        seen.add(key)
    return out
