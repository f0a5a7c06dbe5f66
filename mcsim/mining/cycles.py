"""Cut traces into cycles (days): the unit in which repetitive patterns are counted.

The paper cuts each user's observation period into non-overlapping cycles of length C_len
(24 h); a cycle in which the user appears is *valid*, and N(u) counts them. A cycle's sequence
is the user's locations in time order with consecutive repeats collapsed (an AP log that
sights a user every 20 s at the same AP is one visit, not hundreds).

:class:`CycleTable` stores all cycles of all users in flat CSR-style arrays (one ``offsets``
array into flat location/arrival/departure arrays) so that 100,000 users x 30 cycles stay a
few hundred MB and every consumer (miner, location model, simulator) slices without copying.
Location and user codes index :attr:`CycleTable.locations` and :attr:`CycleTable.users`, which
are the trace's category orders: one code universe for the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from mcsim.data.traces import Trace


@dataclass(frozen=True)
class CycleOptions:
    """How a trace is cut into cycles.

    The default origin is 04:00 local time, not midnight: people are at home then, so a late
    evening out stays in the day it belongs to instead of opening a new one.
    """

    length_h: float = 24.0  # [h] cycle length C_len
    origin_hour: float = 4.0  # [h] local wall-clock hour at which every cycle starts
    timezone: str = "UTC"  # zone of that wall clock (IANA name)
    min_dwell_s: float = 0.0  # [s] visits shorter than this are dropped before collapsing

    def __post_init__(self) -> None:
        if not self.length_h > 0:
            raise ValueError(f"cycle length must be positive, got {self.length_h} h")
        if not 0 <= self.origin_hour < 24:
            raise ValueError(f"origin hour must be in [0, 24), got {self.origin_hour}")
        if self.min_dwell_s < 0:
            raise ValueError(f"minimum dwell must be >= 0 s, got {self.min_dwell_s}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @property
    def length_s(self) -> float:
        return self.length_h * 3600.0


@dataclass(frozen=True, eq=False)
class CycleTable:
    """All valid cycles of all users, sorted by user code then cycle index.

    Attributes:
        users: user ids; a user code is a position in this index.
        locations: location ids; a location code is a position in this index.
        user: user code of each cycle.
        cycle: cycle index (cycles since the Unix epoch's origin hour, so equal across users).
        offsets: cycle ``i`` owns flat elements ``offsets[i]:offsets[i + 1]``.
        location: location code of each visit, in time order, repeats collapsed.
        arrival: seconds from the cycle's start to the visit's arrival.
        departure: seconds from the cycle's start to the visit's departure.
        options: the cutting options (length, origin) that define the cycle indices.
    """

    users: pd.Index
    locations: pd.Index
    user: np.ndarray
    cycle: np.ndarray
    offsets: np.ndarray
    location: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    options: CycleOptions

    def __len__(self) -> int:
        return len(self.user)

    def sequence(self, i: int) -> np.ndarray:
        """Location codes of cycle ``i``."""
        return self.location[self.offsets[i] : self.offsets[i + 1]]

    def sequences(self) -> list[np.ndarray]:
        """All cycles' location-code sequences (views, no copies)."""
        return np.split(self.location, self.offsets[1:-1]) if len(self) else []

    def user_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per user code, the [start, stop) range of its cycles (empty when it has none)."""
        codes = np.arange(len(self.users))
        return (
            np.searchsorted(self.user, codes, "left"),
            np.searchsorted(self.user, codes, "right"),
        )

    def n_cycles(self) -> np.ndarray:
        """N(u): number of valid cycles of every user code."""
        return np.bincount(self.user, minlength=len(self.users)).astype(np.int32)

    def iter_users(self) -> Iterator[tuple[int, list[np.ndarray]]]:
        """(user code, that user's cycle sequences) for every user with at least one cycle."""
        starts, stops = self.user_bounds()
        for code in np.flatnonzero(stops > starts):
            yield int(code), [self.sequence(i) for i in range(starts[code], stops[code])]

    def select(self, mask: np.ndarray) -> CycleTable:
        """The cycles where ``mask`` is true (user and location universes unchanged)."""
        mask = np.asarray(mask, dtype=bool)
        lengths = np.diff(self.offsets)[mask]
        element_mask = np.repeat(mask, np.diff(self.offsets))
        return replace(
            self,
            user=self.user[mask],
            cycle=self.cycle[mask],
            offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            location=self.location[element_mask],
            arrival=self.arrival[element_mask],
            departure=self.departure[element_mask],
        )

    def start_times(self) -> pd.DatetimeIndex:
        """Wall-clock start of each cycle, tz-aware in the options' zone."""
        seconds = self.cycle * self.options.length_s + self.options.origin_hour * 3600.0
        wall = pd.to_datetime(seconds, unit="s")
        return pd.DatetimeIndex(wall).tz_localize(
            self.options.timezone, ambiguous="NaT", nonexistent="shift_forward"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per cycle: ``user``, ``cycle``, ``sequence`` (location ids), start, times.

        ``user``, ``cycle`` and ``sequence`` are the public contract of ``cycles.parquet``;
        ``start``, ``arrival_s`` and ``departure_s`` extend it for replaying cycles.
        """
        names = np.asarray(self.locations, dtype=object)
        splits = self.offsets[1:-1]
        return pd.DataFrame(
            {
                "user": np.asarray(self.users, dtype=object)[self.user],
                "cycle": self.cycle.astype(np.int64),
                "sequence": [list(s) for s in np.split(names[self.location], splits)],
                "start": self.start_times(),
                "arrival_s": [a.tolist() for a in np.split(self.arrival, splits)],
                "departure_s": [d.tolist() for d in np.split(self.departure, splits)],
            }
        )


def _wall_clock_seconds(times: pd.Series, timezone: str) -> np.ndarray:
    """Seconds since 1970-01-01 00:00 of the local wall clock (DST days are 23 or 25 h)."""
    local = times.dt.tz_convert(timezone).dt.tz_localize(None)
    return ((local - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def cut_cycles(trace: Trace, options: CycleOptions | None = None) -> CycleTable:
    """Cut every user's trace into cycles, collapse repeats and keep the valid cycles.

    A visit (a row with ``end``) that spans a cycle boundary appears in every cycle it overlaps,
    clipped to that cycle: a user asleep at home from 22:00 to 08:00 is at home at the start of
    the next day too. An AP-log sighting (no ``end``) is a point visit; a run of sightings at
    one location becomes one visit from its first to its last sighting.
    """
    options = options or CycleOptions()
    frame = trace.frame
    origin = options.origin_hour * 3600.0
    start = _wall_clock_seconds(frame["time"], options.timezone) - origin
    stop = (
        _wall_clock_seconds(frame["end"], options.timezone) - origin
        if "end" in frame.columns
        else start
    )
    first = np.floor(start / options.length_s).astype(np.int64)
    # A visit ending exactly on a boundary does not open the next cycle.
    last = np.maximum(first, np.ceil(stop / options.length_s).astype(np.int64) - 1)
    spans = last - first + 1
    row = np.repeat(np.arange(len(frame)), spans)
    cycle = np.repeat(first, spans) + (
        np.arange(len(row)) - np.repeat(np.cumsum(spans) - spans, spans)
    )
    cycle_start = cycle * options.length_s
    arrival = np.maximum(start[row] - cycle_start, 0.0)
    departure = np.minimum(stop[row] - cycle_start, options.length_s)
    user = frame["user"].cat.codes.to_numpy()[row].astype(np.int32)
    location = frame["location"].cat.codes.to_numpy()[row].astype(np.int32)
    # A long visit can reach into cycles that later rows start in: order the pieces by
    # (user, cycle, arrival); lexsort is stable, so equal arrivals keep the trace's order.
    order = np.lexsort((arrival, cycle, user))
    table = _collapse(user[order], cycle[order], location[order], arrival[order], departure[order])
    if options.min_dwell_s > 0:
        keep = (table[4] - table[3]) >= options.min_dwell_s
        table = _collapse(*(column[keep] for column in table))
    return _build(trace, options, *table)


def _collapse(
    user: np.ndarray,
    cycle: np.ndarray,
    location: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Merge consecutive elements of one (user, cycle) at the same location into one visit."""
    if len(user) == 0:
        return user, cycle, location, arrival, departure
    new_run = np.ones(len(user), dtype=bool)
    new_run[1:] = (
        (user[1:] != user[:-1]) | (cycle[1:] != cycle[:-1]) | (location[1:] != location[:-1])
    )
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], len(user)) - 1
    return (
        user[starts],
        cycle[starts],
        location[starts],
        arrival[starts],
        np.maximum.reduceat(departure, starts) if len(starts) else departure[ends],
    )


def _build(
    trace: Trace,
    options: CycleOptions,
    user: np.ndarray,
    cycle: np.ndarray,
    location: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
) -> CycleTable:
    new_cycle = np.ones(len(user), dtype=bool)
    new_cycle[1:] = (user[1:] != user[:-1]) | (cycle[1:] != cycle[:-1])
    heads = np.flatnonzero(new_cycle)
    return CycleTable(
        users=trace.users,
        locations=trace.locations,
        user=user[heads].astype(np.int32),
        cycle=cycle[heads].astype(np.int64),
        offsets=np.append(heads, len(user)).astype(np.int64),
        location=location.astype(np.int32),
        arrival=arrival.astype(np.float32),
        departure=departure.astype(np.float32),
        options=options,
    )


def split_boundary(
    table: CycleTable, *, train_cycles: int | None = None, train_fraction: float | None = None
) -> int:
    """The first calendar cycle of the test period (see :func:`split_cycles`).

    Raises:
        ValueError: not exactly one of the two given, or one out of range.
    """
    if (train_cycles is None) == (train_fraction is None):
        raise ValueError("give exactly one of train_cycles and train_fraction")
    first = int(table.cycle.min()) if len(table) else 0
    last = int(table.cycle.max()) if len(table) else 0
    if train_cycles is not None:
        if train_cycles < 1:
            raise ValueError(f"train_cycles must be >= 1, got {train_cycles}")
        return first + train_cycles
    assert train_fraction is not None
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    return first + max(1, round((last - first + 1) * train_fraction))


def split_cycles(
    table: CycleTable, *, train_cycles: int | None = None, train_fraction: float | None = None
) -> tuple[CycleTable, CycleTable]:
    """Split by calendar cycle into (train, test), the same boundary for every user.

    The platform mines what happened before a date and is tested on what came after, as in
    the paper (30 days to mine, later days to test). Give the number of calendar cycles from
    the trace's first cycle that go to training, or the fraction of its calendar span.
    """
    boundary = split_boundary(table, train_cycles=train_cycles, train_fraction=train_fraction)
    if len(table) == 0:
        return table, table
    is_train = table.cycle < boundary
    return table.select(is_train), table.select(~is_train)
