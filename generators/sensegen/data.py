"""HAPT accelerometer data for SenseGen: loading, gravity removal, normalisation, batches.

The generator is trained on *linear (body) acceleration*, as in the paper: gravity is estimated
per recording with a zero-phase 0.3 Hz, 3rd-order Butterworth low-pass (the HAPT authors' filter)
and subtracted. Units stay g, rate stays 50 Hz.

Labels: every sample gets the HAPT activity id of the labelled segment it lies in, and samples
outside every labelled segment (about 28 % of HAPT: set-up, pauses, ends of recordings) get
id 0, "unlabelled". They are kept rather than dropped so that recordings stay continuous 50 Hz
series for truncated back-propagation, and id 0 doubles as the generator's "no activity given"
condition: an unlabelled stretch is, to the model, a stretch whose activity is not given.

Randomness comes only from an explicit ``torch.Generator`` passed in by the caller.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.signal import butter, filtfilt

from generators.sensegen.config import Normalizer
from mcsim.errors import InputError
from mcsim.sim.sensing import SAMPLE_RATE_HZ

GRAVITY_CUTOFF_HZ = 0.3  # low-pass cut-off of the gravity estimate [Hz]
GRAVITY_ORDER = 3  # Butterworth order of the gravity estimate
UNLABELLED = 0  # label id of samples outside every labelled segment

_MIN_SAMPLES = 3 * (GRAVITY_ORDER + 1) * 2 + 1  # filtfilt needs more than its padding


@dataclass(frozen=True)
class Recording:
    """One HAPT experiment: body acceleration and per-sample labels.

    Attributes:
        user: volunteer id (1-30).
        experiment: experiment id.
        acc: (T, 3) float32 body acceleration [g] at 50 Hz.
        labels: (T,) int64 HAPT activity id per sample, 0 = unlabelled.
    """

    user: int
    experiment: int
    acc: np.ndarray
    labels: np.ndarray


def default_data_dir() -> Path:
    """The HAPT folder: ``$MCSIM_DATA/hapt`` if set, else ``shared/data/hapt`` beside the repo."""
    env = os.environ.get("MCSIM_DATA")
    if env:
        return Path(env) / "hapt"
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "hapt"


def read_activity_names(root: Path) -> list[str]:
    """Activity names by id from ``activity_labels.txt``; index 0 is ``"UNLABELLED"``.

    Raises:
        InputError: the file is missing or a line is not ``<id> <NAME>`` with ids 1, 2, ....
    """
    path = Path(root) / "activity_labels.txt"
    if not path.is_file():
        raise InputError("missing; expected '<id> <NAME>' lines (HAPT layout)", path=path)
    names = ["UNLABELLED"]
    for row, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != len(names):
            raise InputError(f"expected '{len(names)} <NAME>', got {line!r}", path=path, row=row)
        names.append(parts[1].upper())
    return names


def body_acceleration(acc: np.ndarray) -> np.ndarray:
    """Remove gravity: subtract a zero-phase 0.3 Hz 3rd-order Butterworth low-pass estimate.

    Args:
        acc: (T, 3) raw acceleration in g, including gravity, at 50 Hz.

    Returns:
        (T, 3) float32 body acceleration in g.
    """
    b, a = butter(GRAVITY_ORDER, GRAVITY_CUTOFF_HZ, btype="low", fs=SAMPLE_RATE_HZ)
    gravity = filtfilt(b, a, acc, axis=0)
    return (acc - gravity).astype(np.float32)


def _read_acc(path: Path) -> np.ndarray:
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"expected 3 numeric columns x y z in g ({exc})", path=path) from exc
    values = table.to_numpy()
    if values.ndim != 2 or values.shape[1] != 3:
        raise InputError(f"expected 3 columns x y z in g, got {values.shape[1]}", path=path)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise InputError("expected finite numbers", path=path, row=int(np.argmax(bad)) + 1)
    if len(values) < _MIN_SAMPLES:
        raise InputError(f"expected at least {_MIN_SAMPLES} samples, got {len(values)}", path=path)
    return values


def _read_labels(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError("missing; expected 'exp user activity start end' rows", path=path)
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.int64)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"expected 5 integer columns exp user activity start end ({exc})", path=path
        ) from exc
    if table.shape[1] != 5:
        raise InputError(
            f"expected 5 columns exp user activity start end, got {table.shape[1]}", path=path
        )
    return table.to_numpy()


def load_hapt(root: str | Path | None = None, users: set[int] | None = None) -> list[Recording]:
    """Load HAPT raw accelerometer recordings as body acceleration with per-sample labels.

    Args:
        root: the HAPT folder (holding ``RawData/``); default :func:`default_data_dir`.
        users: keep only these volunteer ids (default: all present).

    Returns:
        Recordings sorted by experiment id.

    Raises:
        InputError: missing folder or files, malformed rows, labels outside a recording.
    """
    root = default_data_dir() if root is None else Path(root)
    raw = root / "RawData"
    if not raw.is_dir():
        raise InputError(
            "missing HAPT folder; expected RawData/acc_expXX_userYY.txt and "
            "RawData/labels.txt (set MCSIM_DATA or --data)",
            path=raw,
        )
    labels = _read_labels(raw / "labels.txt")
    files = sorted(raw.glob("acc_exp*_user*.txt"))
    if not files:
        raise InputError("no acc_expXX_userYY.txt files", path=raw)
    recordings = []
    for path in files:
        stem = path.stem.split("_")  # acc, expXX, userYY
        try:
            exp, user = int(stem[1][3:]), int(stem[2][4:])
        except (IndexError, ValueError) as exc:
            raise InputError("expected a name like acc_exp01_user01.txt", path=path) from exc
        if users is not None and user not in users:
            continue
        acc = _read_acc(path)
        per_sample = np.full(len(acc), UNLABELLED, dtype=np.int64)
        for row in labels[(labels[:, 0] == exp) & (labels[:, 1] == user)]:
            start, end = int(row[3]) - 1, int(row[4])  # 1-based inclusive -> slice
            if not 0 <= start < end <= len(acc):
                raise InputError(
                    f"label segment {row[3]}..{row[4]} outside experiment {exp} "
                    f"of {len(acc)} samples",
                    path=raw / "labels.txt",
                )
            per_sample[start:end] = row[2]
        recordings.append(Recording(user, exp, body_acceleration(acc), per_sample))
    if not recordings:
        raise InputError(f"no recordings for users {sorted(users or [])}", path=raw)
    return sorted(recordings, key=lambda r: r.experiment)


def split_by_user(
    recordings: list[Recording], val_users: tuple[int, ...]
) -> tuple[list[Recording], list[Recording]]:
    """Split into (train, validation) so that no user appears in both.

    Raises:
        InputError: one side would be empty.
    """
    val = [r for r in recordings if r.user in val_users]
    train = [r for r in recordings if r.user not in val_users]
    if not train or not val:
        raise InputError(
            f"user split {sorted(val_users)} leaves "
            f"{len(train)} train and {len(val)} validation recordings"
        )
    return train, val


class Series:
    """Normalised recordings concatenated in one tensor, for fast random slicing.

    Args:
        recordings: the recordings (of one side of the user split).
        normalizer: the training statistics.
        styles: style id (1, 2, ...) of each user whose segments carry one, for a generator
            with a style per training user; users not in it (and every user without it) have
            style 0, none.
    """

    def __init__(
        self,
        recordings: list[Recording],
        normalizer: Normalizer,
        styles: Mapping[int, int] | None = None,
    ) -> None:
        self.values = torch.from_numpy(
            np.concatenate([normalizer.normalize(r.acc) for r in recordings])
        )
        self.labels = torch.from_numpy(np.concatenate([r.labels for r in recordings]))
        lengths = torch.tensor([len(r.acc) for r in recordings])
        self.starts = torch.cumsum(lengths, 0) - lengths
        self.lengths = lengths
        self.segment_starts, self.segment_lengths, self.segment_labels, users = _segments(
            recordings
        )
        style_of = {} if styles is None else styles
        self.segment_styles = torch.tensor(
            [style_of.get(int(u), 0) for u in users.tolist()], dtype=torch.long
        )

    def segment_conditions(self, style_stride: int = 0) -> torch.Tensor:
        """Condition id of every labelled segment: its activity, or with ``style_stride`` (the
        number of activity ids) the pair of activity and style
        (``activity + style_stride * style``, ``GeneratorConfig.condition_ids``)."""
        return self.segment_labels + style_stride * self.segment_styles

    def random_starts(
        self, n: int, length: int, generator: torch.Generator, activity: int | None = None
    ) -> torch.Tensor:
        """Global start indices of ``n`` random windows of ``length`` samples.

        Every admissible window is equally likely: inside one recording, or, with ``activity``,
        inside one labelled segment of that activity id.

        Raises:
            InputError: no recording (or segment of ``activity``) is ``length`` samples long.
        """
        if activity is None:
            return _draw_spans(self.starts, self.lengths, length, n, generator, "recording")[1]
        keep = self.segment_labels == activity
        return _draw_spans(
            self.segment_starts[keep],
            self.segment_lengths[keep],
            length,
            n,
            generator,
            f"segment of activity id {activity}",
        )[1]

    def windows(self, starts: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(values (n, length, d), labels (n, length)) of windows at global ``starts``."""
        idx = starts[:, None] + torch.arange(length)
        return self.values[idx], self.labels[idx]

    def random_windows(
        self, n: int, length: int, generator: torch.Generator, activity: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` uniformly drawn windows (values, labels) of ``length`` steps; see
        :meth:`random_starts`."""
        return self.windows(self.random_starts(n, length, generator, activity), length)


def label_runs(labels: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, end) of every maximal run of one activity in a recording's ``labels``,
    unlabelled samples left out."""
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], change, [len(labels)]]).tolist()
    for lo, hi in itertools.pairwise(bounds):
        if labels[lo] != UNLABELLED:
            yield lo, hi


def _segments(
    recordings: list[Recording],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(global starts, lengths, labels, users) of the maximal labelled runs of one activity
    each."""
    starts, lengths, labels, users = [], [], [], []
    offset = 0
    for rec in recordings:
        for lo, hi in label_runs(rec.labels):
            starts.append(offset + lo)
            lengths.append(hi - lo)
            labels.append(rec.labels[lo])
            users.append(rec.user)
        offset += len(rec.labels)
    return (
        torch.tensor(starts, dtype=torch.long),
        torch.tensor(lengths, dtype=torch.long),
        torch.tensor(labels, dtype=torch.long),
        torch.tensor(users, dtype=torch.long),
    )


def _draw_spans(
    starts: torch.Tensor,
    lengths: torch.Tensor,
    need: int,
    n: int,
    generator: torch.Generator,
    what: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of ``n`` spans (weighted by their room for ``need`` samples) and start offsets.

    Raises:
        InputError: ``n > 0`` and no span (a ``what``) is ``need`` samples long.
    """
    if n == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    room = (lengths - need + 1).clamp(min=0)
    if int(room.sum()) == 0:
        raise InputError(f"no {what} is {need} samples long")
    span = torch.multinomial(room.double(), n, replacement=True, generator=generator)
    offset = (torch.rand(n, generator=generator, dtype=torch.float64) * room[span]).long()
    return span, starts[span] + offset


class Streams:
    """Parallel lanes of training chunks for truncated BPTT, of two kinds.

    * Unconditioned lanes (the first ``round(lanes * drop_condition)``; the paper's model)
      walk through recordings, activity changes and unlabelled stretches included, with
      condition 0. The caller carries the LSTM state from chunk to chunk (detached) as over
      one long series. At the end of a recording, and otherwise with probability
      ``1 / lane_life`` per chunk, a lane jumps to a random place and reports a reset, so
      that the caller starts it afresh.
    * Conditioned lanes read a fresh window inside one labelled activity segment every
      chunk, with that activity as condition (always reported as a reset); with
      ``style_stride``, the pair of the activity and the segment's style
      (``activity + style_stride * style``, ``GeneratorConfig.condition_ids``).

    A lane's first chunk after a reset has a zero first input: it starts exactly as the
    sampler starts a stream (fresh state, zero input), so the model learns to begin a stream
    from nothing, as it must when it generates.

    Why conditioned lanes look like this: a lane that ran through whole recordings with
    per-sample labels never needed its condition, because the recent signal already told the
    LSTM the activity; the network learnt to ignore the condition, and a conditioned stream
    drifted to whatever its own history suggested. A conditioned chunk instead starts exactly
    as the sampler starts a stream (zero state, zero input), so the first values can only
    come from the condition, and the whole start-up of every activity is trained.

    Args:
        series: the training series.
        lanes: batch size B.
        chunk: time steps per chunk L.
        drop_condition: share of lanes that are unconditioned.
        generator: source of randomness for the places the lanes read.
        lane_life: mean number of chunks an unconditioned lane reads before it restarts
            (if its recording lasts).
        style_stride: the number of activity ids when conditioned lanes carry the segment's
            style (``Series.segment_styles``), else 0.

    Raises:
        InputError: no recording (or, with conditioned lanes, no labelled segment) is
            ``chunk + 1`` samples long.
    """

    def __init__(
        self,
        series: Series,
        lanes: int,
        chunk: int,
        drop_condition: float,
        generator: torch.Generator,
        lane_life: float = 8.0,
        style_stride: int = 0,
    ) -> None:
        self.series = series
        self.segment_conditions = series.segment_conditions(style_stride)
        self.chunk = chunk
        self.generator = generator
        self.lane_life = lane_life
        self.n_plain = round(lanes * drop_condition)
        self.position = torch.zeros(lanes, dtype=torch.long)
        self.end = torch.zeros(lanes, dtype=torch.long)  # exclusive end of the lane's span
        self.label = torch.zeros(lanes, dtype=torch.long)  # the lane's condition (0 = none)
        self._restart(torch.ones(lanes, dtype=torch.bool))

    def _restart(self, mask: torch.Tensor) -> None:
        series, need = self.series, self.chunk + 1
        lanes = torch.nonzero(mask).squeeze(1)
        plain, cond = lanes[lanes < self.n_plain], lanes[lanes >= self.n_plain]
        rec, start = _draw_spans(
            series.starts, series.lengths, need, len(plain), self.generator, "recording"
        )
        self.position[plain] = start
        self.end[plain] = series.starts[rec] + series.lengths[rec]
        seg, start = _draw_spans(
            series.segment_starts,
            series.segment_lengths,
            need,
            len(cond),
            self.generator,
            "labelled segment",
        )
        self.position[cond] = start
        self.end[cond] = series.segment_starts[seg] + series.segment_lengths[seg]
        self.label[cond] = self.segment_conditions[seg]

    def next_chunk(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next chunk of every lane.

        Returns:
            x (B, L, d), target (B, L, d) = the series one step ahead of x, condition ids
            (B, L) and a (B,) mask of lanes that restarted (their carried state must be
            zeroed).
        """
        lanes = len(self.position)
        retire = torch.rand(lanes, generator=self.generator) * self.lane_life < 1.0
        reset = (self.position + self.chunk + 1 > self.end) | retire
        reset[self.n_plain :] = True
        self._restart(reset)
        idx = self.position[:, None] + torch.arange(self.chunk + 1)
        values = self.series.values[idx]
        x = values[:, :-1].clone()
        x[reset, 0] = 0.0  # a fresh lane starts as a sampled stream does
        cond = self.label[:, None].expand(-1, self.chunk).clone()
        self.position += self.chunk
        return x, values[:, 1:], cond, reset

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Lane positions for a resumable checkpoint."""
        return {"position": self.position.clone(), "end": self.end.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore lane positions saved by :meth:`state_dict`."""
        self.position = state["position"].clone()
        self.end = state["end"].clone()


def window_log_std(windows: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """Each window's log standard deviation per axis, (n, d), of (n, length, d) windows.

    Why the log: an amplitude that is half or twice the real one is equally wrong, and a
    resting window (0.005 g) counts as much as a walking one (0.2 g). ``floor`` [the windows'
    units] keeps a constant window finite.
    """
    return windows.std(dim=1).clamp_min(floor).log()


class WindowAmplitudes:
    """How loud the real windows of each condition are, for the generator's amplitude loss.

    Per condition id (``Series.segment_conditions``), :func:`window_log_std` (normalised
    units) of every non-overlapping ``length``-sample window inside its labelled segments,
    and their mean; and conditions to roll generated windows of, drawn as those windows are
    (a condition with more real windows is drawn more often). The single windows are kept
    because people do not walk equally loud all the time: a loss that matches only the mean
    pulls every generated window to it (see ``TrainConfig.amplitude_target``).

    Args:
        series: the training series.
        style_stride: as for :class:`Streams`.
        length: window length [samples].

    Raises:
        InputError: ``length`` below 2 (a window has no spread), or no labelled segment is
            ``length`` samples long.
    """

    def __init__(self, series: Series, length: int, style_stride: int = 0) -> None:
        if length < 2:
            raise InputError(f"amplitude windows need at least 2 samples, got {length}")
        conditions = series.segment_conditions(style_stride)
        self.style_stride = style_stride
        n_ids = int(conditions.max()) + 1 if len(conditions) else 1
        d = series.values.shape[1]
        logs: list[torch.Tensor] = []  # (k, d) per segment
        ids: list[int] = []  # the condition of each window
        for start, size, cond in zip(
            series.segment_starts.tolist(),
            series.segment_lengths.tolist(),
            conditions.tolist(),
            strict=True,
        ):
            k = size // length
            if k:
                cut = series.values[start : start + k * length].reshape(k, length, d)
                logs.append(window_log_std(cut))
                ids.extend([cond] * k)
        if not ids:
            raise InputError(f"no labelled segment is {length} samples long")
        id_of = torch.tensor(ids)
        order = torch.argsort(id_of, stable=True)
        #: every real window's log std, (windows, d), grouped by condition id
        self.values = torch.cat(logs)[order]
        counts = torch.bincount(id_of, minlength=n_ids)
        self.windows = counts.double()  # real windows per condition
        self.first = torch.cumsum(counts, 0) - counts  # row of each condition's first window
        sums = torch.zeros(n_ids, d, dtype=torch.float64).index_add_(
            0, id_of[order], self.values.double()
        )
        self.target = (sums / self.windows.clamp_min(1)[:, None]).float()  # (ids, d)

    def activities(self, conditions: torch.Tensor) -> torch.Tensor:
        """The activity id of each of ``conditions``' ids (their style left out)."""
        return conditions % self.style_stride if self.style_stride else conditions

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` condition ids, each as likely as its share of the real windows."""
        return torch.multinomial(self.windows, n, replacement=True, generator=generator)

    def draw_groups(
        self, n: int, group: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` condition ids in runs of one drawn id, and each one's run number.

        ``n // group`` runs (at least one), as equal in size as ``n`` allows, so every run has
        at least two lanes when ``n`` >= 2: a distribution is compared by its spread too, and
        one generated window of a condition has none.
        """
        runs = max(1, n // group)
        sizes = torch.full((runs,), n // runs) + (torch.arange(runs) < n % runs).long()
        run_of = torch.arange(runs).repeat_interleave(sizes)
        return self.draw(runs, generator)[run_of], run_of

    def real(self, conditions: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` real window log stds of each of ``conditions``' ids, drawn with replacement:
        (len(conditions), k, d). Every id must have real windows (as :meth:`draw` gives)."""
        u = torch.rand(len(conditions), k, generator=generator, dtype=torch.float64)
        rows = self.first[conditions, None] + (u * self.windows[conditions, None]).long()
        return self.values[rows]
