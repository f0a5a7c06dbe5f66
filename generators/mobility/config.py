"""The parameters of a synthetic campus: the tunable ones and the fixed ones.

Why a module of its own: every other part of the generator (layout, routines, days, the campus)
reads these and nothing else is shared by all of them. :class:`CampusConfig` holds what a caller
may change (sizes, layout, behaviour rates) with its named presets; the constants below are
fixed by the model itself: the building kinds, the weekday letters, the weekly timetable grid
of lecture rooms, the most courses a student takes, and the time units used throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, get_origin, get_type_hints

import pandas as pd

KINDS = ("residence", "lecture", "library", "dining", "sports", "office", "social")
WEEKDAYS = "MTWRFSU"  # one letter per weekday (Monday first), as in US timetables

HOUR = 3600.0  # [s] one hour
MINUTE = 60.0  # [s] one minute

MAX_COURSES = 6  # timetable entries per student
# Weekly timetable slots: (weekday bit mask, start hour, length in minutes).
_MWF, _TR = 0b0010101, 0b0001010
TIMETABLE_SLOTS = tuple(
    [(_MWF, 8.0 + h, 50) for h in range(9)] + [(_TR, 8.0 + 1.5 * i, 80) for i in range(7)]
)


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", tuple: "a list"}


@dataclass(frozen=True)
class CampusConfig:
    """Size, layout and behaviour of a synthetic campus.

    The defaults are the paper's real setting (UCSD WTD filtered to 68 users and 124 APs, 30 days);
    :meth:`preset` gives the extended setting and a 100,000-user city. The layout (buildings, APs,
    timetable) depends on the seed and on the layout fields only, never on ``n_users``, so growing
    the population keeps every existing user's days.
    """

    n_users: int = 68  # people carrying a device
    n_aps: int = 124  # [APs] access points; each one is a location id
    n_days: int = 30  # [days] observation period of SyntheticCampus.trace
    start_date: str = "2002-09-30"  # first day (a Monday; WTD ran autumn 2002)
    timezone: str = "UTC"  # IANA zone of the campus wall clock; pass it to CycleOptions
    day_start_h: float = 4.0  # [h] local hour a day starts, in [4, 6] (= CycleOptions.origin_hour)
    centre_lat: float = 32.8801  # [deg] reference point of the layout (UCSD)
    centre_lon: float = -117.2340  # [deg]
    radius_m: float = 900.0  # [m] buildings lie within about this distance of the centre
    building_mix: tuple[tuple[str, float], ...] = (  # share of buildings of each kind
        ("residence", 0.30),
        ("lecture", 0.20),
        ("library", 0.04),
        ("dining", 0.10),
        ("sports", 0.05),
        ("office", 0.18),
        ("social", 0.13),
    )
    aps_per_building: tuple[tuple[str, float], ...] = (  # [APs] mean APs per building of a kind
        ("residence", 3.0),
        ("lecture", 4.0),
        ("library", 6.0),
        ("dining", 2.0),
        ("sports", 2.0),
        ("office", 3.0),
        ("social", 1.5),
    )
    courses_per_room: int = 6  # [courses/week] timetable entries held at each lecture AP
    student_fraction: float = 0.8  # students follow a timetable; the others keep office hours
    courses_per_student: tuple[int, int] = (3, 5)  # [courses] inclusive range, at most 6
    department_share: float = 0.7  # share of a student's courses held in their department
    occasional_fraction: float = 0.25  # share of users who seldom carry the device
    active_regular: tuple[float, float] = (8.0, 1.5)  # Beta(a, b) of P(device on | weekday)
    active_occasional: tuple[float, float] = (1.5, 4.0)  # same, occasional users
    weekend_activity: float = 0.6  # multiplier of P(device on) on Saturdays and Sundays
    social_rate: float = 0.8  # [visits/day] median rate of unscheduled visits over users
    social_rate_sigma: float = 0.7  # log-sd of that rate over users (heavy tail)
    explore_prob: float = 0.3  # mean share of unscheduled visits outside a user's favourites
    speed_mps: float = 1.3  # [m/s] travel speed between places (walking on a campus)
    min_visit_s: float = 300.0  # [s] shorter stays are not recorded as visits
    # Pass-by sightings (see passby.add_passby): an AP log also sees the device on the way
    # between buildings. 0 (the default) records stays only; the "-ap" presets use 50 m, the
    # range of campus WiFi (30-60 m), to mimic an AP log such as the paper's WTD trace.
    passby_radius_m: float = 0.0  # [m] AP range along a walking route; 0 = no pass-by
    passby_min_s: float = 20.0  # [s] shortest sighting: one probe period of the WTD log

    PRESETS: ClassVar[tuple[str, ...]] = (
        "wtd",
        "wtd-extended",
        "wtd-ap",
        "wtd-extended-ap",
        "city",
    )

    def __post_init__(self) -> None:
        mix = dict(self.building_mix)
        aps = dict(self.aps_per_building)
        problems = []
        if self.n_users < 1:
            problems.append(f"n_users must be >= 1, got {self.n_users}")
        if set(mix) - set(KINDS) or set(aps) != set(KINDS):
            problems.append(f"building kinds must be among {KINDS} and every kind needs an AP mean")
        kinds_used = sum(share > 0 for share in mix.values())
        if not {"residence", "dining"} <= {k for k, s in mix.items() if s > 0}:
            problems.append("building_mix needs residences (homes) and dining halls")
        if self.n_aps < kinds_used:
            problems.append(f"n_aps must be >= {kinds_used} (one AP per building kind)")
        if any(v < 1 for v in aps.values()):
            problems.append("aps_per_building means must be >= 1")
        if self.n_days < 1:
            problems.append(f"n_days must be >= 1, got {self.n_days}")
        if not 4.0 <= self.day_start_h <= 6.0:
            # Late in the night, and after the 01:00-04:00 daylight-saving changes, so one UTC
            # offset holds for a whole day (see days.day_origins).
            problems.append(f"day_start_h must be in [4, 6], got {self.day_start_h}")
        lo, hi = self.courses_per_student
        if not 0 <= lo <= hi <= MAX_COURSES:
            problems.append(f"courses_per_student must satisfy 0 <= lo <= hi <= {MAX_COURSES}")
        if not 1 <= self.courses_per_room <= len(TIMETABLE_SLOTS):
            problems.append(f"courses_per_room must be in [1, {len(TIMETABLE_SLOTS)}]")
        problems.extend(
            f"{name} must be in [0, 1]"
            for name in (
                "student_fraction",
                "department_share",
                "occasional_fraction",
                "weekend_activity",
            )
            if not 0.0 <= getattr(self, name) <= 1.0
        )
        if not 0.0 < self.explore_prob < 1.0:
            problems.append("explore_prob must be in (0, 1)")
        if self.passby_radius_m < 0 or self.passby_min_s <= 0:
            problems.append("passby_radius_m must be >= 0 and passby_min_s > 0")
        if self.radius_m <= 0 or self.speed_mps <= 0 or self.social_rate < 0:
            problems.append("radius_m and speed_mps must be > 0, social_rate >= 0")
        if problems:
            raise ValueError("invalid CampusConfig: " + "; ".join(problems))
        pd.Timestamp(self.start_date).tz_localize(self.timezone)  # raises on a bad date/zone

    @classmethod
    def field_problem(cls, name: str, value: Any) -> str | None:
        """What is wrong with overriding field ``name`` by ``value`` (None: nothing).

        Checks the name and the value's type against the field's annotation, so that a bad
        override is named before the generator compares a string with a number.
        """
        hints = get_type_hints(cls)
        if name not in {f.name for f in fields(cls)}:
            known = ", ".join(sorted(f.name for f in fields(cls) if f.name != "n_days"))
            return f"unknown campus parameter {name!r}; expected one of {known}"
        expected = hints[name]
        origin = get_origin(expected) or expected
        if isinstance(value, bool) and origin is not bool:
            return f"expected {_TYPE_WORDS.get(origin, origin)}, got {value!r}"
        if origin is float and isinstance(value, int | float):
            return None
        if origin is tuple and isinstance(value, list | tuple):
            return None
        if not isinstance(value, origin):
            return f"expected {_TYPE_WORDS.get(origin, origin)}, got {value!r}"
        return None

    @classmethod
    def paper(cls) -> CampusConfig:
        """The paper's real setting: 68 users, 124 APs, 30 days (UCSD WTD after filtering)."""
        return cls()

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> CampusConfig:
        """A named configuration, optionally with fields overridden.

        * ``wtd``: 68 users, 124 APs (the paper's filtered WTD trace);
        * ``wtd-extended``: 168 users, 284 APs (the paper's trace with 100 virtual users);
        * ``wtd-ap``, ``wtd-extended-ap``: the same campuses seen as a WiFi AP log, with the
          APs passed on the way between buildings (50 m range): daily sequences about twice
          as long and the paper's exponential growth of patterns as minsup falls (Fig. 4);
        * ``city``: 100,000 users, 20,000 APs over a 20 km wide city, travelling at 6 m/s
          (a scale test of stays, not an AP log).
        """
        extended = {"n_users": 168, "n_aps": 284, "radius_m": 1200.0}
        presets: dict[str, dict[str, Any]] = {
            "wtd": {},
            "wtd-extended": extended,
            "wtd-ap": {"passby_radius_m": 50.0},
            "wtd-extended-ap": {**extended, "passby_radius_m": 50.0},
            "city": {
                "n_users": 100_000,
                "n_aps": 20_000,
                "radius_m": 10_000.0,
                "speed_mps": 6.0,
                "timezone": "UTC",
            },
        }
        if name not in presets:
            raise ValueError(f"unknown campus preset {name!r}; expected one of {cls.PRESETS}")
        return replace(cls(), **{**presets[name], **overrides})
