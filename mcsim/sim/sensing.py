"""Phone readings: requests collected during the simulation, generated in batched calls.

A completed task copy is a window of the sensing phone's accelerometer stream. Generating a
full 50 Hz day per phone would cost millions of samples per user for a handful of windows, so
the world only *requests* readings while SimPy runs, and :class:`ReadingBuffer` turns all
pending requests into samples in as few :meth:`SensorGenerator.sample` calls as possible: one
call per "round", where round k holds the k-th pending request of every phone (a phone appears
at most once per call, as the interface requires). The world flushes once, at the end of
the day, so the number of calls is the largest number of readings of any one phone.

Each phone's stream is the concatenation of its reading windows: the generator continues the
phone's stream (its LSTM state) from the previous window while the activity stays the same,
starts it afresh when the activity changes (see ``generators.sensegen.sample.Sampler``), and
the hours between two readings are not generated. Requests are ordered by (time, user, task) before sampling, so a phone's
windows come in time order and the arrays do not depend on how requests were interleaved.

Activity conditioning uses HAPT ids (see ``generators.sensors``): a reading taken on a short
visit (the user passes through, dwell < ``walking_dwell_s``) is conditioned on walking, a
reading on a longer stay on standing still; a checkpoint trained without conditions gets
unconditioned requests (the paper's SenseGen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mcsim.platform.validation import STILL, WALKING

#: HAPT activity names by id (``activity_labels.txt``, lower case); id 0: no activity (a
#: window no phone was in, or an unconditioned request).
ACTIVITY_NAMES = ("none", "walking", "walking_upstairs", "walking_downstairs", "sitting",
                  "standing", "laying")  # fmt: skip
HAPT_WALKING = ACTIVITY_NAMES.index("walking")  # 1
HAPT_STANDING = ACTIVITY_NAMES.index("standing")  # 5
HAPT_LAYING = ACTIVITY_NAMES.index("laying")  # 6: a resting phone
SAMPLE_RATE_HZ = 50.0  # [Hz] phone accelerometer rate (HAPT, SenseGen): the one definition
N_AXES = 3  # accelerometer axes x, y, z


@runtime_checkable
class SensorGenerator(Protocol):
    """A source of per-phone 50 Hz 3-axis body-acceleration streams in g.

    The world calls it; implementations live above the core (``generators.sensors``:
    SenseGen, a noise stand-in) and are chosen by name through that module's registry.
    """

    @property
    def conditions_on_activity(self) -> bool:
        """Whether :meth:`sample` uses activity ids (False: the world passes none)."""
        ...

    def reset(self, n_phones: int, seed: int) -> None:
        """Start ``n_phones`` fresh streams seeded by ``seed``."""
        ...

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """Continue each listed phone's stream by ``steps`` samples.

        Args:
            phones: distinct integer phone indices, shape (n,).
            steps: samples per phone.
            activities: optional integer HAPT activity ids per phone (0 = unspecified).

        Returns:
            float32 array (n, steps, 3) [g].
        """
        ...


def activity_for_dwell(dwell_s: float, walking_dwell_s: float) -> int:
    """HAPT activity id for a reading on a visit of ``dwell_s`` seconds (walking vs still)."""
    return HAPT_WALKING if dwell_s < walking_dwell_s else HAPT_STANDING


def activity_for_context(context: int, dwell_s: float, walking_dwell_s: float) -> int:
    """HAPT activity id of a reading for a task of sensing context ``context``.

    A task that needs a walking phone (``walking``: gait, road surface) is sensed on the
    user's walk in, one that needs a still phone (``still``: noise) once it stands; for
    ``any`` the visit decides (:func:`activity_for_dwell`). Context codes index
    :data:`mcsim.platform.validation.CONTEXTS`.
    """
    if context == WALKING:
        return HAPT_WALKING
    if context == STILL:
        return HAPT_STANDING
    return activity_for_dwell(dwell_s, walking_dwell_s)


@dataclass(frozen=True)
class Reading:
    """A requested reading: the copy it completes, the phone, when and in which activity."""

    pair: int  # index of the assigned (user, task) pair in the world's pair table
    user: int  # user code = phone index
    time_s: float  # [s from cycle start] start of the window
    activity: int  # HAPT activity id


class ReadingBuffer:
    """Collects reading requests and samples them in batched generator calls.

    Args:
        sensor: the phones' generator, already ``reset`` for the population.
        steps: samples per reading window (``reading_s * 50 Hz``).
    """

    def __init__(self, sensor: SensorGenerator, steps: int, *, conditioned: bool = True) -> None:
        self.sensor = sensor
        self.steps = steps
        self._conditioned = conditioned and sensor.conditions_on_activity
        self._pending: list[Reading] = []
        self._done: list[Reading] = []
        self._windows: list[np.ndarray] = []
        self.calls = 0  # generator calls made (the batching figure)

    def request(self, reading: Reading) -> None:
        self._pending.append(reading)

    def flush(self) -> None:
        """Generate every pending reading, one ``sample`` call per round of distinct phones."""
        if not self._pending:
            return
        pending = sorted(self._pending, key=lambda r: (r.time_s, r.user, r.pair))
        self._pending = []
        rounds: list[list[Reading]] = []
        depth: dict[int, int] = {}
        for reading in pending:
            k = depth.get(reading.user, 0)
            depth[reading.user] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(reading)
        for batch in rounds:
            phones = np.array([r.user for r in batch], dtype=np.int64)
            activities = (
                np.array([r.activity for r in batch], dtype=np.int64) if self._conditioned else None
            )
            windows = self.sensor.sample(phones, self.steps, activities)
            self.calls += 1
            self._done.extend(batch)
            self._windows.append(np.asarray(windows, dtype=np.float32))

    @property
    def readings(self) -> list[Reading]:
        """Generated readings, in generation order (matching :meth:`windows`)."""
        return list(self._done)

    def windows(self) -> np.ndarray:
        """All generated windows, float32 (n_readings, steps, 3) [g]."""
        if not self._windows:
            return np.zeros((0, self.steps, N_AXES), dtype=np.float32)
        return np.concatenate(self._windows)
