"""The campus as a whole: its layout, its users' routines, and their days on demand.

Why a module of its own: :func:`generate_campus` is the entry point that ties the other modules
together (one seed gives the layout and every user's key), and :class:`SyntheticCampus` is what
callers hold: the observation period as a :class:`~mcsim.data.traces.Trace`, any other window
of days or subset of users drawn lazily in blocks, one user's ground-truth day or routine, and
the matching :class:`~mcsim.mining.cycles.CycleOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, SupportsFloat, SupportsInt

import numpy as np
import pandas as pd

from generators.mobility.config import HOUR, MINUTE, WEEKDAYS, CampusConfig
from generators.mobility.days import DAY_VARIATES, Visits, draw_days
from generators.mobility.layout import CampusLayout, build_layout
from generators.mobility.passby import add_passby
from generators.mobility.rng import seed_key, user_keys
from generators.mobility.routines import Routines, draw_routines
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleOptions


@dataclass(frozen=True, eq=False)
class SyntheticCampus:
    """A synthetic campus: its layout, its users' routines, and their days on demand.

    ``trace`` is the observation period (days ``0 .. n_days - 1``); :meth:`visits` and
    :meth:`day` draw any other days (held-out test days, days for a subset of users) from the
    same routines, identical to what a longer trace would contain.
    """

    config: CampusConfig
    seed: int
    layout: CampusLayout
    routines: Routines
    _keys: np.ndarray = field(repr=False)

    @cached_property
    def user_ids(self) -> pd.Index:
        """User ids ``u000001``... in user-index order (also their sorted order)."""
        width = max(6, len(str(self.config.n_users)))
        return pd.Index([f"u{i + 1:0{width}d}" for i in range(self.config.n_users)])

    @cached_property
    def location_ids(self) -> pd.Index:
        """AP ids ``AP0001``... in location-code order (also their sorted order)."""
        return pd.Index(self.layout.aps["location"].to_numpy(dtype=str))

    @cached_property
    def trace(self) -> Trace:
        """Visits of every user over the observation period (days 0 .. n_days - 1).

        The period is a recording window: it starts and ends at ``day_start_h``, and the nights
        at home that cross its edges are cut there, so cutting it into the campus's cycles
        (:meth:`cycle_options`) gives at most ``n_days`` cycles per user.
        """
        return self.visits()

    def cycle_options(self, **overrides: Any) -> CycleOptions:
        """CycleOptions whose days are this campus's days (same zone and start hour)."""
        return CycleOptions(
            **{
                "timezone": self.config.timezone,
                "origin_hour": self.config.day_start_h,
                **overrides,
            }
        )

    def visits(
        self,
        days: range | None = None,
        users: np.ndarray | None = None,
        *,
        chunk_users: int | None = None,
    ) -> Trace:
        """Visits (user, location, time, end, latitude, longitude) of some users on some days.

        Args:
            days: consecutive day indices (0 = ``config.start_date``); default the observation
                period. Days past it are held-out days of the same routines.
            users: user indices (0-based; id ``u000001`` is index 0); default everyone.
            chunk_users: users drawn per vectorised block (results do not depend on it).
                Default: about 1 M random variates per block, which keeps the block's arrays
                in the CPU caches.

        Returns:
            A Trace whose categories are the campus's full user and AP universes (so traces of
            different days share codes), rows sorted by user then time. Visits are clipped to
            the window, so each day's cycle (cut with :meth:`cycle_options`) is the same in
            every window that holds the day, and consecutive windows join into a longer one
            (a night at a window edge is then split in two; cutting cycles joins it again).
        """
        days = range(self.config.n_days) if days is None else days
        if days.step != 1 or len(days) == 0:
            raise ValueError(f"days must be a non-empty range with step 1, got {days}")
        users = self._user_indices(users)
        chunk = chunk_users or max(1, 1_000_000 // ((len(days) + 2) * DAY_VARIATES))
        parts = [
            self._draw_block(block, days)
            for block in np.array_split(users, max(1, -(-len(users) // chunk)))
            if len(block)
        ]
        visits = Visits(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("user", "location", "start", "end")
            )
        )
        return self._to_trace(visits, f"<synthetic campus seed={self.seed} days={days}>")

    def _user_indices(self, users: np.ndarray | None) -> np.ndarray:
        """Sorted unique user indices (default everyone), checked against the population."""
        if users is None:
            return np.arange(self.config.n_users)
        users = np.unique(np.asarray(users, dtype=np.int64))
        if len(users) == 0:
            raise ValueError("no users to draw")
        if users[0] < 0 or users[-1] >= self.config.n_users:
            raise ValueError(f"user indices must be in [0, {self.config.n_users})")
        return users

    def _draw_block(self, users: np.ndarray, days: range) -> Visits:
        """Visits of one block of users: their stays, plus pass-by sightings for an AP log."""
        config, layout = self.config, self.layout
        stays = draw_days(
            config, layout, self.routines, users, self._keys[users], days.start, len(days)
        )
        return add_passby(layout, config, stays) if config.passby_radius_m > 0 else stays

    def day(self, user: int | str, day: int) -> pd.DataFrame:
        """User ``user``'s visits on day ``day`` (a ground-truth day, drawn on its own).

        The day runs from ``day_start_h`` to the next day's; its cycle equals that day's cycle in
        any longer trace.
        """
        return self.visits(range(day, day + 1), np.array([self._index(user)])).frame

    def routine(self, user: int | str) -> dict[str, Any]:
        """One user's ground-truth routine in readable form (ids, hours, probabilities)."""
        i = self._index(user)
        r, ap = self.routines, self._ap
        timetable = self._timetable(r.courses[i])
        return {
            "user": str(self.user_ids[i]),
            "role": "student" if r.student[i] else "staff",
            "occasional": bool(r.occasional[i]),
            "p_active_weekday": float(r.p_active[i]),
            "p_active_weekend": float(r.p_active[i] * self.config.weekend_activity),
            "home": ap(r.home[i]),
            "courses": timetable,
            "p_attend": float(r.p_attend[i]) if timetable else None,
            "office": ap(r.office[i]),
            "work_hours": (_hhmm(r.work_start[i]), _hhmm(r.work_start[i] + r.work_len[i]))
            if r.office[i] >= 0
            else None,
            "dining": [ap(c) for c in r.dining[i]],
            "lunch": (_hhmm(r.lunch_mean[i]), float(r.p_lunch[i])),
            "dinner": (_hhmm(r.dinner_mean[i]), float(r.p_dinner[i])),
            "library": ap(r.library[i]),
            "study": (_hhmm(r.study_mean[i]), float(r.p_study[i])),
            "sport": ap(r.sport_ap[i]),
            "sport_days": _weekdays(int(r.sport_days[i])),
            "sport_time": (_hhmm(r.sport_mean[i]), float(r.p_sport[i])),
            "favourites": [ap(c) for c in r.favourites[i]],
            "social_visits_per_day": float(r.social_rate[i]),
            "explore": float(r.explore[i]),
        }

    def _index(self, user: int | str) -> int:
        """The index of a user given by id or index."""
        if not isinstance(user, str):
            return int(user)
        index = self.user_ids.get_loc(user)
        if not isinstance(index, int):  # only a duplicated id would give a slice or mask
            raise KeyError(user)
        return index

    def _ap(self, code: SupportsInt) -> str | None:
        """The id of an AP code (None for -1, no such place)."""
        return None if int(code) < 0 else str(self.location_ids[int(code)])

    def _timetable(self, entries: np.ndarray) -> list[dict[str, Any]]:
        """Readable timetable entries (-1: none) of a user."""
        courses = self.layout.courses
        location = courses["location"].to_numpy()
        days = courses["days"].to_numpy()
        start = courses["start_s"].to_numpy(float)
        length = courses["length_s"].to_numpy(float)
        return [
            {
                "location": self._ap(location[c]),
                "days": _weekdays(int(days[c])),
                "start": _hhmm(start[c]),
                "minutes": int(length[c] // MINUTE),
            }
            for c in entries
            if c >= 0
        ]

    def _to_trace(self, visits: Visits, source: str) -> Trace:
        """Assemble the Trace frame directly from codes.

        Valid by construction, which is why :meth:`Trace.from_frame` is bypassed (it would
        re-sort and re-parse millions of rows): ids are categoricals over sorted, unique id
        lists (zero-padded, so code order is sorted order); each user's visits are emitted day
        by day in time order and never overlap (every activity is cut short to reach the next
        one, and a night at home ends when the next day's first trip starts); ``end >= time``
        and visits are at least ``min_visit_s`` long except the home stays, which are at least
        ten minutes, and the pass-by sightings, which lie inside the trips between stays and
        are ``passby_min_s`` to ``2 * passby_radius_m / speed_mps`` long; coordinates are the
        APs' finite coordinates.
        """
        a = self.layout.arrays
        seconds = np.concatenate([visits.start, visits.end]) * 1_000_000_000
        stamps = pd.Series(seconds.view("M8[ns]")).dt.tz_localize("UTC")
        n = len(visits.user)
        frame = pd.DataFrame(
            {
                "user": pd.Categorical.from_codes(visits.user, categories=self.user_ids),
                "location": pd.Categorical.from_codes(
                    visits.location, categories=self.location_ids
                ),
                "time": stamps.iloc[:n].reset_index(drop=True),
                "end": stamps.iloc[n:].reset_index(drop=True),
                "latitude": a["lat"][visits.location],
                "longitude": a["lon"][visits.location],
            }
        )
        return Trace(frame, source)


def generate_campus(config: CampusConfig | str | None = None, seed: int = 0) -> SyntheticCampus:
    """Lay out a campus and draw its users' routines (days are drawn on demand).

    Args:
        config: a CampusConfig, a preset name (``wtd``, ``wtd-extended``, ``city``) or ``None``
            for the paper's setting.
        seed: the one seed; layout and every user's hash stream derive from it.

    Example:
        >>> campus = generate_campus("wtd", seed=1)
        >>> len(campus.trace.users), len(campus.trace.locations)
        (68, 124)
    """
    if config is None:
        config = CampusConfig()
    elif isinstance(config, str):
        config = CampusConfig.preset(config)
    layout = build_layout(config, seed)
    keys = user_keys(seed_key(seed, 1), np.arange(config.n_users))
    return SyntheticCampus(config, seed, layout, draw_routines(config, layout, keys), keys)


def _hhmm(seconds: SupportsFloat) -> str:
    """Seconds after midnight as ``HH:MM``."""
    seconds = float(seconds)
    return f"{int(seconds // HOUR):02d}:{int(seconds % HOUR // MINUTE):02d}"


def _weekdays(mask: int) -> str:
    """A weekday bit mask (bit 0 = Monday) as letters, ``MWF``."""
    return "".join(d for b, d in enumerate(WEEKDAYS) if mask >> b & 1)
