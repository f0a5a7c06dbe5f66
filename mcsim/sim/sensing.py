"""Phone readings: requests collected during the simulation, generated in one batched call.

A completed task copy is a window of the sensing phone's accelerometer. Generating a full
50 Hz day per phone would cost millions of samples per user for a handful of windows, so the
world only *requests* readings while SimPy runs, and :class:`ReadingBuffer` turns the pending
requests into samples with one :meth:`SensorGenerator.windows` call when the results are
read (the end of the day).

**A reading is a fresh window keyed by what it is.** Its randomness comes from
:func:`reading_rng` of the day's sensor seed and the reading's key (user, task, sensing time,
activity), so its samples depend on nothing else: not on the other readings of the day, not
on the order in which they were requested, not on how many are rolled together. Why:

* the hours between two readings of a phone are not generated, so nothing physical links
  them; a reading starts from the generator's learned start state of its activity (plus its
  burn-in), i.e. a fresh draw of what a phone in that activity streams;
* policies compared on the same day see the same window wherever they send the same user to
  the same task at the same time (common random numbers: their data-quality gaps come from
  the allocation, not the draw), and such a window is generated once;
* several worlds can share one buffer (a runner job: every policy on the same day), and all
  their readings are rolled in one call, tens of times larger than one world's, which is what
  makes an LSTM generator cheap per reading; a world stepped alone (the Gym env) gets the
  same windows.

Activity conditioning uses HAPT ids (see ``generators.sensors``): a reading taken on a short
visit (the user passes through, dwell < ``walking_dwell_s``) is conditioned on walking, a
reading on a longer stay on standing still; a checkpoint trained without conditions gets
unconditioned requests (the paper's SenseGen).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mcsim.errors import InputError
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
    """A source of 50 Hz 3-axis body-acceleration windows in g, one per phone reading.

    The world calls it; implementations live above the core (``generators.sensors``:
    SenseGen, a noise stand-in) and are chosen by name through that module's registry.
    """

    @property
    def conditions_on_activity(self) -> bool:
        """Whether :meth:`windows` uses activity ids (False: the world passes none)."""
        ...

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        """One fresh window per reading, row ``i`` drawn from ``reading_rng(seed, keys[i])``.

        Row ``i`` must depend only on ``seed``, ``keys[i]`` and ``activities[i]``: not on the
        other rows (see the module docstring for why).

        Args:
            seed: the day's sensor seed.
            keys: (n, k) non-negative integer reading keys (:attr:`Reading.key`); the first
                entry is the phone, so a sensor may give each person a trait of its own
                (SenseGen's style: one gait in all of a person's readings).
            steps: samples per window.
            activities: optional (n,) integer HAPT activity ids (0 = unspecified).

        Returns:
            float32 array (n, steps, 3) [g].
        """
        ...


def check_keys(keys: np.ndarray) -> np.ndarray:
    """``keys`` as a 2-D array of non-negative integers (what :func:`reading_rng` takes).

    Raises:
        InputError: another shape or dtype, or a negative key.
    """
    arr = np.asarray(keys)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"keys must be a 2-D integer array, got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise InputError("keys must be non-negative")
    return arr


def reading_rng(seed: int, key: np.ndarray | tuple[int, ...]) -> np.random.Generator:
    """The random numbers of one reading: child ``key`` of ``SeedSequence(seed)``.

    The one definition every sensor draws a reading's randomness from.
    """
    spawn_key = tuple(int(k) for k in key)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=spawn_key))


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
    task: int  # the task id (pairs differ between worlds, tasks do not)

    @property
    def key(self) -> tuple[int, int, int, int]:
        """What identifies the reading's window in a day: user, task, the sensing time's
        float64 bits (exact, without rounding) and the activity."""
        bits = int.from_bytes(struct.pack("<d", self.time_s), "little")  # 4x faster than numpy
        return (self.user, self.task, bits, self.activity)


class ReadingBuffer:
    """Collects the reading requests of one world or several and generates them together.

    Each world takes a lane (:meth:`open_lane`); a lane's readings and windows are read back
    with :meth:`readings` and :meth:`windows`, which first generate everything pending, in
    all lanes, with one :meth:`SensorGenerator.windows` call. Requests with the same key (one
    user sensing one task at one time in one activity, e.g. under two policies) share one
    generated window.

    Args:
        sensor: the phones' generator.
        steps: samples per reading window (``reading_s * 50 Hz``).
        seed: the day's sensor seed.
        conditioned: pass activities to a sensor that conditions on them.
    """

    def __init__(
        self, sensor: SensorGenerator, steps: int, seed: int, *, conditioned: bool = True
    ) -> None:
        self.sensor = sensor
        self.steps = steps
        self.seed = seed
        self._conditioned = conditioned and sensor.conditions_on_activity
        self._pending: list[tuple[int, Reading]] = []
        self._done: list[list[Reading]] = []
        self._windows: list[list[np.ndarray]] = []
        self.calls = 0  # generator calls made (the batching figure)

    def open_lane(self) -> int:
        """A new lane (one world's readings)."""
        self._done.append([])
        self._windows.append([])
        return len(self._done) - 1

    def request(self, reading: Reading, lane: int = 0) -> None:
        if not 0 <= lane < len(self._done):
            raise ValueError(f"lane {lane} was not opened")
        self._pending.append((lane, reading))

    def flush(self) -> None:
        """Generate every pending reading of every lane in one ``windows`` call."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        rows: dict[tuple[int, ...], int] = {}
        row_of = [rows.setdefault(self._key(reading), len(rows)) for _, reading in pending]
        keys = np.array(list(rows), dtype=np.uint64)
        activities = keys[:, -1].astype(np.int64) if self._conditioned else None
        windows = np.asarray(
            self.sensor.windows(self.seed, keys, self.steps, activities), dtype=np.float32
        )
        self.calls += 1
        for (lane, reading), row in zip(pending, row_of, strict=True):
            self._done[lane].append(reading)
            self._windows[lane].append(windows[row])

    def _key(self, reading: Reading) -> tuple[int, ...]:
        """The reading's key; an unconditioned sensor's is activity-free (activity 0)."""
        key = reading.key
        return key if self._conditioned else (*key[:-1], 0)

    def readings(self, lane: int = 0) -> list[Reading]:
        """The lane's generated readings, in request order (matching :meth:`windows`)."""
        self.flush()
        return list(self._done[lane])

    def windows(self, lane: int = 0) -> np.ndarray:
        """The lane's windows, float32 (n_readings, steps, 3) [g], in request order."""
        self.flush()
        if not self._windows[lane]:
            return np.zeros((0, self.steps, N_AXES), dtype=np.float32)
        return np.stack(self._windows[lane])
