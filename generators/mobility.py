"""Synthetic campus/city mobility with daily routines, and virtual users cloned from real traces.

Why it exists: the paper's experiments run on the UCSD WTD AP trace (68 users, 124 APs) and on an
extension with virtual users (168 users, 284 APs); neither ships with mcsim, and scale tests need
100,000 users. This module produces traces of that kind without any data:

* :func:`generate_campus` lays out buildings of several kinds (residences, lecture halls,
  library, dining, sports, offices, social places) with several access points (APs) each, around
  a reference point, and gives every user a *routine*: a home AP, a timetable of courses (students)
  or office hours (staff), favourite dining halls, library, sports place and social places, and
  personal rates (how often the device is on, how often the user studies, exercises, goes out).
* :meth:`SyntheticCampus.visits` draws days from those routines: visits with arrival and departure
  (nights at home included), day-to-day variation, quieter weekends, inactive days, occasional and
  very active users (so N(u) is heavy-tailed), plus the short sightings by APs passed on the
  way between buildings, as in a WiFi AP log (``passby_radius_m``). :func:`to_ap_log` turns visits into the WTD form of
  one sighting per ~20 s.
* :func:`extend_trace` adds virtual users to any trace by resampling real users' days, as the
  paper did to go from 68 to 168 users.

Randomness is *counter-based*: every random number is a SplitMix64 hash of (seed, user, day,
variate index), so user u's day d is the same whatever the population size, the chunking or the
order of generation. The simulator can therefore draw held-out "ground-truth" days of any user
lazily (:meth:`SyntheticCampus.day`) without generating anyone else. The hash is vectorised over
users x days x variates, which is what makes 100,000 users x 30 days take seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from mcsim.data.geo import METERS_PER_DEGREE_LAT
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles

KINDS = ("residence", "lecture", "library", "dining", "sports", "office", "social")
WEEKDAYS = "MTWRFSU"  # one letter per weekday (Monday first), as in US timetables

_H = 3600.0  # [s] one hour
_MIN = 60.0  # [s] one minute
_DAY = 86_400.0  # [s] one day


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
    # Pass-by sightings (see _passby): an AP log also sees the device on the way between
    # buildings. 0 (the default) records stays only; the "-ap" presets use 50 m, the range of
    # campus WiFi (30-60 m), to mimic an AP log such as the paper's WTD trace.
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
            # offset holds for a whole day (see _day_origins).
            problems.append(f"day_start_h must be in [4, 6], got {self.day_start_h}")
        lo, hi = self.courses_per_student
        if not 0 <= lo <= hi <= _MAX_COURSES:
            problems.append(f"courses_per_student must satisfy 0 <= lo <= hi <= {_MAX_COURSES}")
        if not 1 <= self.courses_per_room <= len(_TIMETABLE_SLOTS):
            problems.append(f"courses_per_room must be in [1, {len(_TIMETABLE_SLOTS)}]")
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
        presets = {
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


# --------------------------------------------------------------------------- counter-based RNG

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64 increment (golden ratio)
_GAMMA_DAY = np.uint64(0xD1B54A32D192ED03)  # a second odd constant for the day level
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ROUTINE_DAY = 1 << 40  # the "day" counter of the routine draws (far from any real day)
_DAY_OFFSET = 1 << 32  # keeps negative day indices distinct from the routine counter


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014), in place on a fresh uint64 array."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _user_keys(seed_key: np.uint64, users: np.ndarray) -> np.ndarray:
    """One 64-bit key per user index: element ``u`` of the SplitMix64 stream of the seed."""
    return _mix64(np.uint64(seed_key) + (users.astype(np.uint64) + np.uint64(1)) * _GAMMA)


def _uniforms(keys: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Uniforms in (0, 1) of shape (users, days, n): variate j of (user key, day).

    Each (user, day) pair seeds its own SplitMix64 stream, so the numbers do not depend on which
    other users or days are drawn in the same call.
    """
    day_keys = _mix64((days.astype(np.int64) + _DAY_OFFSET).astype(np.uint64) * _GAMMA_DAY)
    base = _mix64(keys[:, None] ^ day_keys[None, :])
    h = base[:, :, None] + np.arange(1, n + 1, dtype=np.uint64) * _GAMMA
    h = _mix64(h)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _seed_key(seed: int, purpose: int) -> np.uint64:
    """A 64-bit key for one purpose (layout, users), derived with SeedSequence spawning."""
    sequence = np.random.SeedSequence(seed, spawn_key=(purpose,))
    return sequence.generate_state(1, np.uint64)[0]


class _Slots:
    """Names of the per-(user, day) variates: a fixed index for every random decision.

    Fixed indices are what keep a user's day independent of everything else drawn with it.
    """

    def __init__(self, sizes: dict[str, int]) -> None:
        self.index: dict[str, slice] = {}
        start = 0
        for name, size in sizes.items():
            self.index[name] = slice(start, start + size)
            start += size
        self.n = start

    def __getitem__(self, name: str) -> slice:
        return self.index[name]


_MAX_COURSES = 6  # timetable entries per student
_N_SOCIAL = 4  # most unscheduled visits a day can hold
# Out-of-home activity slots of a day, in this column order.
_SLOT_NAMES = (
    ("course",) * _MAX_COURSES
    + ("office_am", "office_pm", "lunch", "dinner", "study", "sport")
    + ("social",) * _N_SOCIAL
)
_K = len(_SLOT_NAMES)

_DAY_VARIATES = _Slots(
    {
        "active": 1,
        "wake": 1,
        "prep": 1,
        "attend": _MAX_COURSES,
        "course_jitter": _MAX_COURSES,
        "work": 1,
        "work_start": 1,
        "work_len": 1,
        "lunch": 4,
        "dinner": 4,
        "study": 4,
        "sport": 3,
        "social_n": 1,
        "social_t": _N_SOCIAL,
        "social_d": _N_SOCIAL,
        "social_w": _N_SOCIAL,
        "home_break": _K - 1,
    }
)
DAY_VARIATES = _DAY_VARIATES.n  # random numbers hashed per (user, day): the cost driver
_ROUTINE_VARIATES = _Slots(
    {
        "role": 1,
        "occasional": 1,
        "p_active": 1,
        "home": 1,
        "department": 1,
        "n_courses": 1,
        "course_dept": _MAX_COURSES,
        "course_pick": _MAX_COURSES,
        "p_attend": 1,
        "office": 1,
        "work_start": 1,
        "work_len": 1,
        "p_lunch": 1,
        "lunch_mean": 1,
        "p_dinner": 1,
        "dinner_mean": 1,
        "dining": 2,
        "p_study": 1,
        "study_mean": 1,
        "library": 1,
        "p_sport": 1,
        "sport_mean": 2,
        "sport_ap": 1,
        "sport_days": 7,
        "social_rate": 1,
        "favourites": 3,
        "explore": 1,
        "chronotype": 1,
        "p_break": 1,
    }
)

# Weekly timetable slots: (weekday bit mask, start hour, length in minutes).
_MWF, _TR = 0b0010101, 0b0001010
_TIMETABLE_SLOTS = tuple(
    [(_MWF, 8.0 + h, 50) for h in range(9)] + [(_TR, 8.0 + 1.5 * i, 80) for i in range(7)]
)


def _z(u: np.ndarray) -> np.ndarray:
    """Standard normal quantile of a uniform (vectorised inverse CDF)."""
    return special.ndtri(u)


def _beta(a: float, b: float, u: np.ndarray) -> np.ndarray:
    return special.betaincinv(a, b, u)


# --------------------------------------------------------------------------------------- layout


@dataclass(frozen=True, eq=False)
class CampusLayout:
    """Buildings and APs of a campus, plus the weekly course timetable of its lecture APs.

    Attributes:
        buildings: one row per building: ``building`` id, ``kind``, ``latitude``, ``longitude``.
        aps: one row per AP, in location-code order: ``location`` id, ``building``, ``kind``,
            ``latitude``, ``longitude``, ``x_m``/``y_m`` (metres east/north of the centre) and
            ``popularity`` (relative attraction for unscheduled visits).
        courses: one row per timetable entry: ``location`` code, ``days`` (weekday bit mask,
            bit 0 = Monday), ``start_s`` (seconds after local midnight), ``length_s``.
    """

    buildings: pd.DataFrame
    aps: pd.DataFrame
    courses: pd.DataFrame

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        aps = self.aps
        kind = aps["kind"].to_numpy()
        out: dict[str, np.ndarray] = {
            "x": aps["x_m"].to_numpy(np.float32),
            "y": aps["y_m"].to_numpy(np.float32),
            "lat": aps["latitude"].to_numpy(np.float32),
            "lon": aps["longitude"].to_numpy(np.float32),
            "building": aps["building_code"].to_numpy(np.int32),
        }
        popularity = aps["popularity"].to_numpy(float)
        for k in KINDS:
            codes = np.flatnonzero(kind == k).astype(np.int32)
            out[f"{k}_codes"] = codes
            out[f"{k}_cdf"] = np.cumsum(popularity[codes])
            out[f"{k}_flat"] = np.arange(1, len(codes) + 1, dtype=float)
        explore = popularity * aps["kind"].map(_EXPLORE_WEIGHT).to_numpy(float)
        out["all_codes"] = np.arange(len(aps), dtype=np.int32)
        out["all_cdf"] = np.cumsum(explore)
        courses = self.courses
        building_of_course = out["building"][courses["location"].to_numpy(np.int32)]
        n_buildings = len(self.buildings)
        out["course_first"] = np.searchsorted(building_of_course, np.arange(n_buildings))
        out["course_count"] = np.bincount(building_of_course, minlength=n_buildings)
        # A last, never-held entry (no AP, no weekday) that "no course" (-1) indexes.
        out["course_ap"] = np.append(courses["location"].to_numpy(np.int32), -1)
        out["course_days"] = np.append(courses["days"].to_numpy(np.uint8), np.uint8(0))
        out["course_start"] = np.append(courses["start_s"].to_numpy(float), 0.0)
        out["course_len"] = np.append(courses["length_s"].to_numpy(float), 0.0)
        return out

    def pick(self, pool: str, u: np.ndarray, *, weighted: bool = True) -> np.ndarray:
        """AP codes of kind ``pool`` (or ``"all"``) chosen by inverse CDF from uniforms ``u``.

        Weighted picks follow AP popularity (heavy-tailed, so visits follow a Zipf-like rank
        curve); unweighted ones are uniform (homes: every residence AP houses alike).
        """
        a = self._arrays
        codes = a[f"{pool}_codes"]
        cdf = a[f"{pool}_cdf"] if weighted else a[f"{pool}_flat"]
        if len(codes) == 0:
            return np.full(np.shape(u), -1, dtype=np.int32)
        i = np.searchsorted(cdf, u * cdf[-1], side="right")
        return codes[np.minimum(i, len(codes) - 1)]

    def travel_s(self, a: np.ndarray, b: np.ndarray, speed_mps: float) -> np.ndarray:
        """Travel time between AP codes: straight-line distance at ``speed_mps`` plus a minute,
        capped at an hour (a day's plan never waits longer on a trip)."""
        x, y = self._arrays["x"], self._arrays["y"]
        distance = np.hypot(x[a] - x[b], y[a] - y[b])
        return np.minimum(distance / speed_mps + _MIN, _H)


_CENTRALITY = {
    "library": 0.0,
    "lecture": 0.25,
    "office": 0.35,
    "dining": 0.5,
    "social": 0.55,
    "residence": 0.8,
    "sports": 0.9,
}  # zoning: 0 = campus core, 1 = edge
_EXPLORE_WEIGHT = {
    "social": 3.0,
    "dining": 2.0,
    "library": 2.0,
    "lecture": 1.0,
    "sports": 1.0,
    "office": 0.5,
    "residence": 0.5,
}  # attraction of a kind for unplanned visits


def _largest_remainder(total: int, shares: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``shares``, at least ``minimum``."""
    counts = minimum.copy()
    rest = total - counts.sum()
    exact = shares / shares.sum() * rest
    counts += np.floor(exact).astype(int)
    remainder = exact - np.floor(exact)
    counts[np.argsort(-remainder, kind="stable")[: total - counts.sum()]] += 1
    return counts


def _build_layout(config: CampusConfig, seed: int) -> CampusLayout:
    """Place buildings on a jittered grid, zone them by kind and give them APs and courses."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    mix = dict(config.building_mix)
    aps_mean = dict(config.aps_per_building)
    kinds = [k for k in KINDS if mix.get(k, 0.0) > 0]
    shares = np.array([mix[k] for k in kinds])
    means = np.array([aps_mean[k] for k in kinds])
    n_buildings = int(
        np.clip(
            round(config.n_aps / float(shares @ means / shares.sum())), len(kinds), config.n_aps
        )
    )
    per_kind = _largest_remainder(n_buildings, shares, np.ones(len(kinds), dtype=int))
    kind_of = np.repeat(np.arange(len(kinds)), per_kind)
    # Zoning: cores hold the library and lecture halls, edges the residences and sports.
    centrality = np.array([_CENTRALITY[k] for k in kinds])[kind_of] + rng.normal(
        0, 0.15, n_buildings
    )
    kind_of = kind_of[np.argsort(centrality, kind="stable")]

    spacing = config.radius_m * np.sqrt(np.pi / n_buildings)
    half = int(np.ceil(config.radius_m / spacing)) + 2
    gx, gy = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1))
    gx, gy = gx.ravel() * spacing, gy.ravel() * spacing
    order = np.argsort(np.hypot(gx, gy) + rng.uniform(0, spacing * 0.5, gx.size), kind="stable")
    cells = order[:n_buildings]
    bx = gx[cells] + rng.uniform(-0.3, 0.3, n_buildings) * spacing
    by = gy[cells] + rng.uniform(-0.3, 0.3, n_buildings) * spacing

    # Every building has one AP, the rest go where the kind's mean and a building's size say.
    weight = (means[kind_of] - 1.0 + 1e-9) * rng.lognormal(0.0, 0.4, n_buildings)
    n_aps = 1 + rng.multinomial(config.n_aps - n_buildings, weight / weight.sum())
    building_of = np.repeat(np.arange(n_buildings), n_aps)
    footprint = 15.0 + 5.0 * np.sqrt(n_aps[building_of])  # [m] half-width of a building
    x = bx[building_of] + rng.uniform(-1, 1, building_of.size) * footprint
    y = by[building_of] + rng.uniform(-1, 1, building_of.size) * footprint
    popularity = (
        rng.lognormal(0.0, 1.0, n_buildings)[building_of]
        * rng.lognormal(0.0, 0.3, building_of.size)
        / n_aps[building_of]
    )

    lat, lon = _to_degrees(config, x, y)
    blat, blon = _to_degrees(config, bx, by)
    bwidth = max(3, len(str(n_buildings)))
    awidth = max(4, len(str(config.n_aps)))
    building_ids = np.array([f"B{i + 1:0{bwidth}d}" for i in range(n_buildings)], dtype=object)
    kind_names = np.array(kinds, dtype=object)
    buildings = pd.DataFrame(
        {"building": building_ids, "kind": kind_names[kind_of], "latitude": blat, "longitude": blon}
    )
    aps = pd.DataFrame(
        {
            "location": [f"AP{i + 1:0{awidth}d}" for i in range(config.n_aps)],
            "building": building_ids[building_of],
            "building_code": building_of.astype(np.int32),
            "kind": kind_names[kind_of][building_of],
            "latitude": lat,
            "longitude": lon,
            "x_m": x,
            "y_m": y,
            "popularity": popularity,
        }
    )
    return CampusLayout(buildings, aps, _timetable(config, aps, rng))


def _to_degrees(config: CampusConfig, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Metres east/north of the centre -> WGS 84 degrees (equirectangular; fine at campus scale)."""
    lat = config.centre_lat + y / METERS_PER_DEGREE_LAT
    lon = config.centre_lon + x / (METERS_PER_DEGREE_LAT * np.cos(np.radians(config.centre_lat)))
    return lat, lon


def _timetable(config: CampusConfig, aps: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each lecture AP (a room) hosts ``courses_per_room`` distinct weekly slots."""
    rooms = np.flatnonzero(aps["kind"].to_numpy() == "lecture")
    slots = np.array(_TIMETABLE_SLOTS, dtype=float)
    chosen = np.argsort(rng.random((rooms.size, len(slots))), axis=1)[:, : config.courses_per_room]
    chosen.sort(axis=1)
    picked = slots[chosen.ravel()]
    return pd.DataFrame(
        {
            "location": np.repeat(rooms, config.courses_per_room).astype(np.int32),
            "days": picked[:, 0].astype(np.uint8),
            "start_s": picked[:, 1] * _H,
            "length_s": picked[:, 2] * _MIN,
        }
    )


# ------------------------------------------------------------------------------------- routines


@dataclass(frozen=True, eq=False)
class Routines:
    """Every user's ground-truth routine, one array element (or row) per user index.

    Times are seconds after local midnight; AP fields are location codes (-1: none).
    """

    student: np.ndarray  # bool: follows a course timetable (else office hours)
    occasional: np.ndarray  # bool: seldom carries the device
    p_active: np.ndarray  # P(device on during a weekday)
    home: np.ndarray  # home AP (a residence)
    courses: np.ndarray  # (users, 6) timetable entries (row of CampusLayout.courses) or -1
    p_attend: np.ndarray  # P(attending a lecture that is held)
    office: np.ndarray  # office AP (staff) or -1
    work_start: np.ndarray  # [s] usual arrival at the office
    work_len: np.ndarray  # [s] usual working day
    p_lunch: np.ndarray  # P(lunch at a dining hall)
    lunch_mean: np.ndarray  # [s] usual lunch time
    p_dinner: np.ndarray
    dinner_mean: np.ndarray
    dining: np.ndarray  # (users, 2) favourite dining APs (first preferred)
    p_study: np.ndarray  # P(library session on a weekday)
    study_mean: np.ndarray
    library: np.ndarray  # favourite library AP
    p_sport: np.ndarray  # P(sport on a usual sport day); other days are rarer
    sport_mean: np.ndarray
    sport_ap: np.ndarray
    sport_days: np.ndarray  # uint8 weekday bit mask of usual sport days
    social_rate: np.ndarray  # [visits/day] unscheduled visits (x1.5 on weekends)
    favourites: np.ndarray  # (users, 3) favourite social places (friends, cafés)
    explore: np.ndarray  # share of unscheduled visits to places outside the favourites
    chronotype: np.ndarray  # [s] shift of the wake-up time
    p_break: np.ndarray  # P(going home in a long gap between activities)

    def take(self, users: np.ndarray) -> Routines:
        """The routines of the given user indices."""
        return Routines(**{name: getattr(self, name)[users] for name in self.__dataclass_fields__})


def _draw_routines(config: CampusConfig, layout: CampusLayout, keys: np.ndarray) -> Routines:
    """Routines of the users with the given keys, each from its own hash stream."""
    v = _uniforms(keys, np.array([_ROUTINE_DAY - _DAY_OFFSET]), _ROUTINE_VARIATES.n)[:, 0, :]

    def u(name: str) -> np.ndarray:
        values = v[:, _ROUTINE_VARIATES[name]]
        return values[:, 0] if values.shape[1] == 1 else values

    a = layout._arrays
    student = u("role") < config.student_fraction
    occasional = u("occasional") < config.occasional_fraction
    p_active = np.where(
        occasional,
        _beta(*config.active_occasional, u("p_active")),
        _beta(*config.active_regular, u("p_active")),
    )
    department = a["building"][layout.pick("lecture", u("department"), weighted=False)]
    lo, hi = config.courses_per_student
    n_courses = lo + np.floor(u("n_courses") * (hi - lo + 1)).astype(int)
    first, count = a["course_first"][department], a["course_count"][department]
    n_all = len(layout.courses)
    in_department = u("course_dept") < config.department_share
    courses = np.where(
        in_department,
        first[:, None] + np.floor(u("course_pick") * count[:, None]).astype(int),
        np.floor(u("course_pick") * n_all).astype(int),
    )
    wanted = student[:, None] & (np.arange(_MAX_COURSES)[None, :] < n_courses[:, None])
    for j in range(1, _MAX_COURSES):  # the same course picked twice counts once
        wanted[:, j] &= (courses[:, :j] != courses[:, j : j + 1]).all(axis=1)
    courses = np.where(wanted & (n_all > 0), courses, -1).astype(np.int32)

    sport_mean = np.where(
        u("sport_mean")[:, 0] < 0.3, 7.5 * _H, (17.0 + 2.5 * u("sport_mean")[:, 1]) * _H
    )
    sport_days = ((u("sport_days") < 3.0 / 7.0) * (1 << np.arange(7))).sum(axis=1)
    explore_b = 2.0 * (1.0 - config.explore_prob) / config.explore_prob
    return Routines(
        student=student,
        occasional=occasional,
        p_active=p_active.astype(np.float32),
        home=layout.pick("residence", u("home"), weighted=False),
        courses=courses,
        p_attend=(_beta(9.0, 1.5, u("p_attend")) * np.where(occasional, 0.8, 1.0)),
        office=np.where(student, -1, layout.pick("office", u("office"), weighted=False)),
        work_start=np.clip(8.75 * _H + 0.6 * _H * _z(u("work_start")), 7 * _H, 10.5 * _H),
        work_len=np.clip(8.3 * _H + 0.6 * _H * _z(u("work_len")), 6 * _H, 10 * _H),
        p_lunch=_beta(6.0, 2.0, u("p_lunch")),
        lunch_mean=np.clip(12.25 * _H + 0.4 * _H * _z(u("lunch_mean")), 11 * _H, 14 * _H),
        p_dinner=_beta(3.0, 3.0, u("p_dinner")),
        dinner_mean=np.clip(18.4 * _H + 0.5 * _H * _z(u("dinner_mean")), 17 * _H, 21 * _H),
        dining=np.stack([layout.pick("dining", u("dining")[:, i]) for i in range(2)], axis=1),
        p_study=_beta(1.2, 2.5, u("p_study")) * np.where(student, 1.0, 0.3),
        study_mean=(13.0 + 7.0 * u("study_mean")) * _H,
        library=layout.pick("library", u("library")),
        p_sport=_beta(0.7, 2.5, u("p_sport")),
        sport_mean=sport_mean,
        sport_ap=layout.pick("sports", u("sport_ap")),
        sport_days=sport_days.astype(np.uint8),
        social_rate=config.social_rate * np.exp(config.social_rate_sigma * _z(u("social_rate"))),
        favourites=np.stack([layout.pick("all", u("favourites")[:, i]) for i in range(3)], axis=1),
        explore=_beta(2.0, explore_b, u("explore")),
        chronotype=np.clip(0.75 * _H * _z(u("chronotype")), -2 * _H, 2 * _H),
        p_break=_beta(2.0, 2.0, u("p_break")),
    )


# ------------------------------------------------------------------------------ drawing days


@dataclass(frozen=True)
class _Visits:
    """Flat visit arrays of one chunk, sorted by user then time."""

    user: np.ndarray  # int32 user index
    location: np.ndarray  # int32 AP code
    start: np.ndarray  # int64 UTC unix seconds
    end: np.ndarray  # int64 UTC unix seconds


def _day_origins(config: CampusConfig, days: np.ndarray) -> np.ndarray:
    """UTC unix seconds of each day's local midnight, using the day's noon UTC offset.

    Daylight-saving changes happen between 01:00 and 04:00 local time, before a day starts
    (``day_start_h >= 4``), so the noon offset is the offset of the whole day, from its start
    to the next day's: day boundaries land exactly where cut_cycles puts them.
    """
    start = pd.Timestamp(config.start_date)
    noon = pd.DatetimeIndex(start + pd.to_timedelta(days, unit="D") + pd.Timedelta(hours=12))
    utc = noon.tz_localize(config.timezone, ambiguous=False, nonexistent="shift_forward")
    seconds = (utc.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return np.asarray(seconds, dtype=np.int64) - 12 * 3600


def _draw_days(
    config: CampusConfig,
    layout: CampusLayout,
    routines: Routines,
    users: np.ndarray,
    keys: np.ndarray,
    first_day: int,
    n_days: int,
) -> _Visits:
    """All visits of ``users`` on days ``first_day .. first_day + n_days - 1``.

    Days are drawn with one neighbour on each side: whether the previous day was active decides
    whether the morning opens with a home visit, and the next day's departure time ends
    tonight's stay at home. Both come from the neighbours' own hash streams, so a day's visits
    do not depend on the range it is drawn in. Visits are clipped to the window (from the first
    day's start to the day after the last one's start): a night at home that crosses the
    window's edge appears on both sides of it, cut there, like a recording that starts or
    stops at that moment.
    """
    ext = np.arange(first_day - 1, first_day + n_days + 1)
    n, m = len(users), len(ext)
    v = _uniforms(keys, ext, _DAY_VARIATES.n)
    r = routines.take(users)

    def u(name: str) -> np.ndarray:
        values = v[:, :, _DAY_VARIATES[name]]
        return values[..., 0] if values.shape[2] == 1 else values

    weekday = (pd.Timestamp(config.start_date).day_of_week + ext) % 7
    weekend = (weekday >= 5)[None, :]
    day_start = config.day_start_h * _H
    # Activity window of a day; with trips capped at an hour, the latest return home stays an
    # hour before the next day starts, even on the night the clocks spring forward.
    earliest, latest = day_start + 2 * _H, day_start + 21 * _H

    p_on = r.p_active[:, None] * np.where(weekend, config.weekend_activity, 1.0)
    active = u("active") < p_on
    wake = np.clip(
        (7.25 + 1.5 * weekend) * _H + r.chronotype[:, None] + 0.4 * _H * _z(u("wake")),
        day_start + _H,
        12 * _H,
    )
    prep = 45 * _MIN * np.exp(0.3 * _z(u("prep")))

    start = np.empty((n, m, _K))
    length = np.empty((n, m, _K))
    loc = np.empty((n, m, _K), dtype=np.int32)
    present = np.empty((n, m, _K), dtype=bool)
    home = r.home[:, None]

    # Courses: held on their weekdays, attended with the user's diligence; arrive a few minutes
    # early or late, leave at the end.
    course = r.courses  # -1 (none) picks the never-held last entry
    a = layout._arrays
    c = slice(0, _MAX_COURSES)
    held = (a["course_days"][course][:, None, :] >> weekday[None, :, None].astype(np.uint8)) & 1
    present[:, :, c] = held.astype(bool) & (u("attend") < r.p_attend[:, None, None])
    scheduled = a["course_start"][course][:, None, :]
    start[:, :, c] = scheduled + (u("course_jitter") - 0.7) * 10 * _MIN
    length[:, :, c] = scheduled + a["course_len"][course][:, None, :] - start[:, :, c]
    loc[:, :, c] = a["course_ap"][course][:, None, :]

    # Lunch (also splits an office day in two) and dinner at a favourite or any dining hall.
    def meal(name: str, p: np.ndarray, mean: np.ndarray, typical: float) -> tuple[np.ndarray, ...]:
        w = u(name)
        at = mean[:, None] + 20 * _MIN * _z(w[..., 1])
        dwell = typical * np.exp(0.35 * _z(w[..., 2]))
        which = w[..., 3]
        fallback = layout.pick("dining", np.clip((which - 0.85) / 0.15, 0.0, 1.0))
        where = np.where(
            which < 0.6, r.dining[:, :1], np.where(which < 0.85, r.dining[:, 1:], fallback)
        )
        return w[..., 0] < p[:, None], at, dwell, where

    i_am, i_pm, i_lunch, i_dinner, i_study, i_sport = range(_MAX_COURSES, _MAX_COURSES + 6)
    lunch = meal("lunch", r.p_lunch, r.lunch_mean, 35 * _MIN)
    dinner = meal("dinner", r.p_dinner, r.dinner_mean, 40 * _MIN)
    for i, (p, at, dwell, where) in ((i_lunch, lunch), (i_dinner, dinner)):
        present[:, :, i], start[:, :, i], length[:, :, i], loc[:, :, i] = p, at, dwell, where

    # Office hours (staff): weekdays but for leave days, a few weekends; lunch splits them.
    works = (~r.student)[:, None] & (u("work") < np.where(weekend, 0.08, 0.95))
    arrive = r.work_start[:, None] + 20 * _MIN * _z(u("work_start"))
    leave_work = arrive + r.work_len[:, None] + 30 * _MIN * _z(u("work_len"))
    lunch_end = lunch[1] + lunch[2]
    present[:, :, i_am], present[:, :, i_pm] = works, works
    start[:, :, i_am], length[:, :, i_am] = arrive, lunch[1] - arrive
    start[:, :, i_pm], length[:, :, i_pm] = lunch_end, leave_work - lunch_end
    loc[:, :, i_am] = loc[:, :, i_pm] = r.office[:, None]

    # Library sessions (fewer on weekends) and sport (mostly on the user's sport days).
    w = u("study")
    present[:, :, i_study] = w[..., 0] < r.p_study[:, None] * np.where(weekend, 0.6, 1.0)
    start[:, :, i_study] = r.study_mean[:, None] + 45 * _MIN * _z(w[..., 1])
    length[:, :, i_study] = 2 * _H * np.exp(0.4 * _z(w[..., 2]))
    other_library = layout.pick("library", np.clip((w[..., 3] - 0.7) / 0.3, 0.0, 1.0))
    loc[:, :, i_study] = np.where(w[..., 3] < 0.7, r.library[:, None], other_library)
    w = u("sport")
    usual = ((r.sport_days[:, None] >> weekday[None, :].astype(np.uint8)) & 1).astype(bool)
    p_sport = np.minimum(1.0, r.p_sport[:, None] * np.where(usual, 1.8, 0.35))
    present[:, :, i_sport] = w[..., 0] < p_sport
    start[:, :, i_sport] = r.sport_mean[:, None] + 20 * _MIN * _z(w[..., 1])
    length[:, :, i_sport] = 75 * _MIN * np.exp(0.3 * _z(w[..., 2]))
    loc[:, :, i_sport] = r.sport_ap[:, None]

    # Unscheduled visits: a Poisson count, each to a favourite place or, with the user's
    # exploration rate, to any place by popularity (the long tail of the rank curve).
    s = slice(_K - _N_SOCIAL, _K)
    rate = r.social_rate[:, None] * np.where(weekend, 1.5, 1.0)
    present[:, :, s] = np.arange(_N_SOCIAL) < _poisson(rate, u("social_n"))[..., None]
    opens = np.where(weekend, 11.0, 10.0)[..., None] * _H
    start[:, :, s] = opens + 13 * _H * u("social_t")
    length[:, :, s] = 45 * _MIN * np.exp(0.6 * _z(u("social_d")))
    sw = u("social_w")
    explore = r.explore[:, None, None]
    far = layout.pick("all", np.clip(sw / explore, 0.0, 1.0))
    near_u = np.clip((sw - explore) / (1.0 - explore), 0.0, 1.0)
    favourite = np.take_along_axis(
        r.favourites[:, None, :].repeat(m, axis=1),
        np.searchsorted([0.5, 0.8], near_u, side="right"),
        axis=2,
    )
    loc[:, :, s] = np.where(sw < explore, far, favourite)

    # A campus without some kind of building (no library, say) has no such activity.
    present &= loc >= 0
    np.maximum(loc, 0, out=loc)
    # An active day always has one outing: if nothing else happens the user goes for lunch.
    others = present.copy()
    others[:, :, i_lunch] = False
    present[:, :, i_lunch] |= ~others.any(axis=2)
    present &= active[:, :, None]

    start = np.maximum(start, earliest)
    end = np.minimum(start + length, latest)
    start, end, loc, present = _resolve_overlaps(layout, config, start, end, loc, present)
    active &= present.any(axis=2)  # (vanishingly rare) every outing cut away: a silent day

    # Home visits: mornings after a silent day, breaks in long gaps, every night.
    travel_home_out = layout.travel_s(
        loc, np.broadcast_to(home[:, :, None], loc.shape), config.speed_mps
    )
    gap_lo = end[..., :-1] + travel_home_out[..., :-1]
    gap_hi = start[..., 1:] - travel_home_out[..., 1:]
    breaks = (
        present[..., :-1]
        & present[..., 1:]
        & (gap_hi - gap_lo >= 45 * _MIN)
        & (u("home_break") < r.p_break[:, None, None])
    )
    has_out = present[..., 0]
    leave = np.where(
        has_out, np.minimum(wake + prep, start[..., 0] - travel_home_out[..., 0]), wake + prep
    )
    wake = np.maximum(np.minimum(wake, leave - 10 * _MIN), day_start + 30 * _MIN)
    last = np.maximum(present.sum(axis=2) - 1, 0)[..., None]
    back = (
        np.take_along_axis(end, last, axis=2) + np.take_along_axis(travel_home_out, last, axis=2)
    )[..., 0]

    origin = _day_origins(config, ext)
    keep = slice(1, m - 1)
    o = origin[None, keep]
    # Tonight's stay ends at the next day's first trip, or when the device goes silent at the
    # next day's start; and nothing leaves the window [first day's start, last day's end).
    # Times are whole seconds: edges round inwards so nothing crosses a (fractional) day start.
    night_end = np.minimum(
        np.where(
            active[:, 2:], origin[None, 2:] + leave[:, 2:], np.floor(origin[None, 2:] + day_start)
        ),
        np.floor(origin[-1] + day_start),
    )
    opening = np.zeros(n_days, dtype=bool)
    opening[0] = True  # the window's first morning: last night's stay, clipped to the window
    # Columns: morning home, then activity 0, break 0, activity 1, ..., activity K-1, night.
    w_cols = 2 * _K + 1
    shape = (n, n_days, w_cols)
    s_abs = np.empty(shape)
    e_abs = np.empty(shape)
    where = np.empty(shape, dtype=np.int32)
    mask = np.zeros(shape, dtype=bool)
    a_idx, b_idx = slice(1, 2 * _K, 2), slice(2, 2 * _K - 1, 2)
    s_abs[..., 0] = np.where(active[:, :-2], np.ceil(o + day_start), o + wake[:, keep])
    e_abs[..., 0] = o + leave[:, keep]
    mask[..., 0] = active[:, keep] & (~active[:, :-2] | opening)
    s_abs[..., a_idx], e_abs[..., a_idx] = (
        o[..., None] + start[:, keep],
        o[..., None] + end[:, keep],
    )
    mask[..., a_idx], where[..., a_idx] = present[:, keep], loc[:, keep]
    s_abs[..., b_idx], e_abs[..., b_idx] = (
        o[..., None] + gap_lo[:, keep],
        o[..., None] + gap_hi[:, keep],
    )
    mask[..., b_idx] = breaks[:, keep]
    s_abs[..., -1], e_abs[..., -1] = o + back[:, keep], night_end
    mask[..., -1] = active[:, keep]
    where[..., 0] = where[..., -1] = r.home[:, None]
    where[..., b_idx] = r.home[:, None, None]

    flat = np.flatnonzero(mask)
    user_index = np.broadcast_to(users[:, None, None], shape).ravel()[flat]
    stays = _Visits(
        user=user_index.astype(np.int32),
        location=where.ravel()[flat],
        start=np.round(s_abs.ravel()[flat]).astype(np.int64),
        end=np.round(e_abs.ravel()[flat]).astype(np.int64),
    )
    return _passby(layout, config, stays) if config.passby_radius_m > 0 else stays


def _passby(layout: CampusLayout, config: CampusConfig, stays: _Visits) -> _Visits:
    """Add the APs a device is sighted by while walking between two buildings.

    Why: a WiFi log like WTD probes every 20 s, so a walk of several minutes across campus is
    seen by the APs along the way; routine trips take the same way every day, which is what
    makes AP-level daily sequences long and repetitive (the paper's exponential growth of
    patterns as minsup falls). Model: the route is the straight line from the origin AP to the
    destination AP (campus paths are short and direct at this scale), walked at ``speed_mps``
    after half of the trip's one-minute overhead (leaving the building). Every AP of a third
    building within ``passby_radius_m`` of the route is in range over a chord of the route;
    it is sighted from entering to leaving that chord, in route order. Overlapping ranges hand
    over to the next AP (a device associates with one AP at a time), and sightings shorter
    than ``passby_min_s`` (one probe period) are dropped. With 50 m and 1.3 m/s a sighting
    lasts at most 100 m / 1.3 m/s = 77 s. Nothing is random: the same trip gives the same
    sightings on every day, and a trip depends only on two consecutive stays of one user,
    which lie in the same day, so determinism and window/chunk independence carry over.
    """
    a = layout._arrays
    x, y, building = a["x"].astype(float), a["y"].astype(float), a["building"]
    user, loc = stays.user, stays.location
    trip = np.flatnonzero((user[1:] == user[:-1]) & (building[loc[1:]] != building[loc[:-1]]))
    if trip.size == 0:
        return stays
    origin, target = loc[trip], loc[trip + 1]
    ox, oy = x[origin], y[origin]
    dx, dy = x[target] - ox, y[target] - oy
    length = np.hypot(dx, dy)
    ux, uy = dx / length, dy / length
    px, py = x[None, :] - ox[:, None], y[None, :] - oy[:, None]  # (trips, APs)
    along = px * ux[:, None] + py * uy[:, None]
    across = px * uy[:, None] - py * ux[:, None]
    half = np.sqrt(np.maximum(config.passby_radius_m**2 - across**2, 0.0))
    enter = np.clip(along - half, 0.0, length[:, None])
    leave = np.clip(along + half, 0.0, length[:, None])
    near = (
        (leave > enter)
        & (building[None, :] != building[origin][:, None])
        & (building[None, :] != building[target][:, None])
    )
    t_idx, ap = np.nonzero(near)
    order = np.lexsort((ap, enter[t_idx, ap], t_idx))  # route order within each trip
    t_idx, ap = t_idx[order], ap[order]
    depart = stays.end[trip][t_idx] + 0.5 * _MIN
    t0 = np.ceil(depart + enter[t_idx, ap] / config.speed_mps)
    t1 = np.floor(depart + leave[t_idx, ap] / config.speed_mps)
    same_trip = np.append(t_idx[1:] == t_idx[:-1], False)
    t1[:-1] = np.where(same_trip[:-1], np.minimum(t1[:-1], t0[1:]), t1[:-1])
    t1 = np.minimum(t1, stays.start[trip + 1][t_idx])  # never into the destination stay
    keep = (t1 - t0) >= config.passby_min_s
    merged = _Visits(
        user=np.concatenate([user, user[trip][t_idx][keep]]),
        location=np.concatenate([loc, ap[keep].astype(np.int32)]),
        start=np.concatenate([stays.start, t0[keep].astype(np.int64)]),
        end=np.concatenate([stays.end, t1[keep].astype(np.int64)]),
    )
    order = np.lexsort((merged.start, merged.user))
    return _Visits(*(getattr(merged, f)[order] for f in ("user", "location", "start", "end")))


def _poisson(rate: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts (capped at the number of social slots) by inverse CDF."""
    p = np.exp(-rate)
    cdf = p.copy()
    count = np.zeros(rate.shape, dtype=np.int64)
    for k in range(1, _N_SOCIAL + 1):
        count += u > cdf
        p = p * rate / k
        cdf = cdf + p
    return count


def _sort_slots(*arrays: np.ndarray, present: np.ndarray, start: np.ndarray) -> list[np.ndarray]:
    """Reorder the activity columns of every day: present ones first, by start time."""
    order = np.argsort(np.where(present, start, np.inf), axis=2, kind="stable")
    k = order.shape[2]
    # One flat index for all arrays (cheaper than take_along_axis per array).
    flat = (order + (np.arange(order.size // k) * k).reshape((*order.shape[:2], 1))).ravel()
    return [x.ravel()[flat].reshape(x.shape) for x in (*arrays, present)]


def _resolve_overlaps(
    layout: CampusLayout,
    config: CampusConfig,
    start: np.ndarray,
    end: np.ndarray,
    loc: np.ndarray,
    present: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Sort a day's activities by start, cut each short to reach the next one in time, and
    drop what is left shorter than ``min_visit_s`` (a skipped lecture, a lunch cut short)."""
    start, end, loc, present = _sort_slots(start, end, loc, present=present, start=start)
    start = np.where(present, start, np.inf)
    travel = layout.travel_s(loc[..., :-1], loc[..., 1:], config.speed_mps)
    end[..., :-1] = np.minimum(end[..., :-1], start[..., 1:] - travel)
    present &= (end - start) >= config.min_visit_s
    return tuple(_sort_slots(start, end, loc, present=present, start=start))


# ------------------------------------------------------------------------------ the campus


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
        users = (
            np.arange(self.config.n_users)
            if users is None
            else np.unique(np.asarray(users, dtype=np.int64))
        )
        if len(users) == 0:
            raise ValueError("no users to draw")
        if users[0] < 0 or users[-1] >= self.config.n_users:
            raise ValueError(f"user indices must be in [0, {self.config.n_users})")
        chunk = chunk_users or max(1, 1_000_000 // ((len(days) + 2) * _DAY_VARIATES.n))
        parts = [
            _draw_days(
                self.config,
                self.layout,
                self.routines,
                block,
                self._keys[block],
                days.start,
                len(days),
            )
            for block in np.array_split(users, max(1, -(-len(users) // chunk)))
            if len(block)
        ]
        visits = _Visits(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("user", "location", "start", "end")
            )
        )
        return self._to_trace(visits, f"<synthetic campus seed={self.seed} days={days}>")

    def day(self, user: int | str, day: int) -> pd.DataFrame:
        """User ``user``'s visits on day ``day`` (a ground-truth day, drawn on its own).

        The day runs from ``day_start_h`` to the next day's; its cycle equals that day's cycle in
        any longer trace.
        """
        index = self.user_ids.get_loc(user) if isinstance(user, str) else int(user)
        return self.visits(range(day, day + 1), np.array([index])).frame

    def routine(self, user: int | str) -> dict[str, Any]:
        """One user's ground-truth routine in readable form (ids, hours, probabilities)."""
        i = self.user_ids.get_loc(user) if isinstance(user, str) else int(user)
        r, ids, courses = self.routines, self.location_ids, self.layout.courses

        def ap(code: int) -> str | None:
            return None if code < 0 else str(ids[code])

        def hhmm(seconds: float) -> str:
            return f"{int(seconds // _H):02d}:{int(seconds % _H // _MIN):02d}"

        timetable = [
            {
                "location": ap(int(courses["location"].iat[c])),
                "days": "".join(
                    d for b, d in enumerate(WEEKDAYS) if courses["days"].iat[c] >> b & 1
                ),
                "start": hhmm(courses["start_s"].iat[c]),
                "minutes": int(courses["length_s"].iat[c] // _MIN),
            }
            for c in r.courses[i]
            if c >= 0
        ]
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
            "work_hours": (hhmm(r.work_start[i]), hhmm(r.work_start[i] + r.work_len[i]))
            if r.office[i] >= 0
            else None,
            "dining": [ap(c) for c in r.dining[i]],
            "lunch": (hhmm(r.lunch_mean[i]), float(r.p_lunch[i])),
            "dinner": (hhmm(r.dinner_mean[i]), float(r.p_dinner[i])),
            "library": ap(r.library[i]),
            "study": (hhmm(r.study_mean[i]), float(r.p_study[i])),
            "sport": ap(r.sport_ap[i]),
            "sport_days": "".join(d for b, d in enumerate(WEEKDAYS) if r.sport_days[i] >> b & 1),
            "sport_time": (hhmm(r.sport_mean[i]), float(r.p_sport[i])),
            "favourites": [ap(c) for c in r.favourites[i]],
            "social_visits_per_day": float(r.social_rate[i]),
            "explore": float(r.explore[i]),
        }

    def _to_trace(self, visits: _Visits, source: str) -> Trace:
        """Assemble the Trace frame directly from codes.

        Valid by construction, which is why :meth:`Trace.from_frame` is bypassed (it would
        re-sort and re-parse millions of rows): ids are categoricals over sorted, unique id
        lists (zero-padded, so code order is sorted order); each user's visits are emitted day
        by day in time order and never overlap (every activity is cut short to reach the next
        one, and a night at home ends when the next day's first trip starts); ``end >= time``
        and visits are at least ``min_visit_s`` long except the home stays, which are at least
        ten minutes, and the pass-by sightings, which lie inside the trips between stays and
        are ``passby_min_s`` to ``2 * passby_radius_m / speed_mps`` long; coordinates are the APs' finite coordinates.
        """
        a = self.layout._arrays
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
    layout = _build_layout(config, seed)
    keys = _user_keys(_seed_key(seed, 1), np.arange(config.n_users))
    return SyntheticCampus(config, seed, layout, _draw_routines(config, layout, keys), keys)


# ------------------------------------------------------------------------------- AP-log form


def to_ap_log(trace: Trace, interval_s: float = 20.0, *, max_rows: int = 50_000_000) -> Trace:
    """The AP-log form of a visit trace: one sighting every ``interval_s`` while connected.

    This is the shape of the paper's WTD trace (a PDA probing its AP every 20 s). A visit from
    ``t`` to ``end`` gives sightings at ``t, t + interval_s, ...`` up to ``end``, so the rows are
    about (total connected time) / interval_s: with the campus defaults a user is seen about
    16 h a day, i.e. ~2,900 rows per active user-day; the WTD preset (68 users x 30 days) gives
    about 4 M rows, and 100,000 users would give billions: keep to small populations.

    Raises:
        ValueError: when the trace has no ``end`` column or the result would exceed ``max_rows``.
    """
    frame = trace.frame
    if "end" not in frame.columns:
        raise ValueError("to_ap_log needs visits with an 'end' column")
    if not interval_s > 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    ns = round(interval_s * 1e9)
    t0 = frame["time"].to_numpy("M8[ns]").view(np.int64)
    t1 = frame["end"].to_numpy("M8[ns]").view(np.int64)
    counts = (t1 - t0) // ns + 1
    total = int(counts.sum())
    if total > max_rows:
        raise ValueError(
            f"the AP log would have {total:,} rows (> max_rows={max_rows:,}); "
            "use fewer users or days, a longer interval, or the visit form"
        )
    row = np.repeat(np.arange(len(frame)), counts)
    step = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    times = t0[row] + step * ns
    out: dict[str, Any] = {
        column: pd.Categorical.from_codes(
            frame[column].cat.codes.to_numpy()[row], dtype=frame[column].dtype
        )
        for column in ("user", "location")
    }
    out["time"] = pd.Series(times.view("M8[ns]")).dt.tz_localize("UTC")
    for column in ("latitude", "longitude"):
        if column in frame.columns:
            out[column] = frame[column].to_numpy()[row]
    log = pd.DataFrame(out)
    if not _sorted_by_user_time(log):
        log = log.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    return Trace(log, trace.source)


def _sorted_by_user_time(frame: pd.DataFrame) -> bool:
    user = frame["user"].cat.codes.to_numpy()
    t = frame["time"].to_numpy("M8[ns]").view(np.int64)
    same = user[1:] == user[:-1]
    return bool((user[1:] >= user[:-1]).all() and (t[1:][same] >= t[:-1][same]).all())


# ---------------------------------------------------------------------------- virtual users


def extend_trace(
    trace: Trace,
    k: int,
    seed: int,
    *,
    new_locations: int = 0,
    options: CycleOptions | None = None,
    jitter_s: float = 600.0,
    p_drop: float = 0.05,
    p_explore: float = 0.03,
    neighbour_m: tuple[float, float] = (30.0, 150.0),
) -> Trace:
    """Add ``k`` virtual users drawn from a trace's own statistics (the paper's 68 -> 168).

    Each virtual user copies a *template* real user (uniformly chosen) by bootstrapping whole
    days: on every calendar cycle of the template's observed span (its first to its last valid
    cycle, so the copy lives in the same weeks) it is active with the template's rate
    N(u) / (span length), and an active cycle replays one of the template's cycles of the same
    kind (weekday or weekend). Resampling whole days keeps, jointly and without a model
    that could get them wrong, the template's visits per day, location frequencies, transitions
    and arrival/dwell times. Noise makes the copies distinct: the day is shifted by
    N(0, ``jitter_s``), each dwell and gap is scaled by a log-normal factor (sd 0.15), interior
    visits are dropped with ``p_drop``, and a visit goes to a popularity-drawn location instead
    with ``p_explore``.

    New locations (the paper's 124 -> 284 APs) are *clones of neighbourhoods*: clone j is a new
    AP ``neighbour_m`` metres from a source location, and its owner (virtual user j mod k) goes
    to the clone wherever its template went to the source. Sources are picked among places the
    owner actually visits (weighted by visits), so every new location appears in the result
    and carries the same repetitive role (a neighbouring dorm, another lecture room) as its
    source. Ids continue the trace's numbering when it has one (``AP0124`` -> ``AP0125``).

    Args:
        trace: the real trace (visits with ``end``, or an AP log); its rows are kept as they are.
        k: number of virtual users; their ids (``v0001``...) never clash with real ones.
        seed: seeds one SeedSequence child per virtual user.
        new_locations: clone locations to add (0: virtual users use the real locations only).
        options: how to cut the trace into days (use the trace's time zone).
        jitter_s: [s] standard deviation of a virtual day's time shift.
        p_drop: probability of dropping an interior visit of a replayed day.
        p_explore: probability of sending a visit to a random (popularity-weighted) location.
        neighbour_m: [m] range of a clone's distance from its source.

    Returns:
        A trace with the original rows (values unchanged) and the virtual users' rows, in the
        input's form: visits if it has ``end``, otherwise an AP log at its median sighting
        interval.
    """
    if k < 0 or new_locations < 0:
        raise ValueError("k and new_locations must be >= 0")
    if new_locations and k == 0:
        raise ValueError("new locations need virtual users to visit them")
    if new_locations and not trace.has_coordinates:
        raise ValueError("cloning locations needs a trace with coordinates")
    if k == 0:
        return trace
    options = options or CycleOptions()
    cycles = cut_cycles(trace, options)
    starts, stops = cycles.user_bounds()
    templates = np.flatnonzero(stops > starts)
    if templates.size == 0:
        raise ValueError("the trace has no valid cycle to resample")
    weekend = np.asarray(cycles.start_times().day_of_week >= 5)
    popularity = np.bincount(cycles.location, minlength=len(cycles.locations)).astype(float)
    children = np.random.SeedSequence(seed).spawn(k)
    days = [
        _virtual_days(
            np.random.default_rng(child),
            cycles,
            templates,
            starts,
            stops,
            weekend,
            popularity,
            jitter_s,
            p_drop,
            p_explore,
        )
        for child in children
    ]

    real_locations = [str(x) for x in trace.locations]
    clone_ids = _fresh_ids(real_locations, new_locations, "L")
    coords = trace.location_coordinates() if trace.has_coordinates else None
    lat = list(coords["latitude"]) if coords is not None else []
    lon = list(coords["longitude"]) if coords is not None else []
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    mapping: list[dict[int, int]] = [{} for _ in range(k)]
    for j in range(new_locations):
        owner = _clone_owner(days, mapping, j, k)
        visited = np.concatenate([d[1] for d in days[owner]])
        codes, counts = np.unique(visited, return_counts=True)
        free = ~np.isin(codes, list(mapping[owner]))
        source = int(rng.choice(codes[free], p=counts[free] / counts[free].sum()))
        mapping[owner][source] = len(real_locations) + j
        bearing, distance = rng.uniform(0, 2 * np.pi), rng.uniform(*neighbour_m)
        dlat = distance * np.cos(bearing) / METERS_PER_DEGREE_LAT
        dlon = (
            distance * np.sin(bearing) / (METERS_PER_DEGREE_LAT * np.cos(np.radians(lat[source])))
        )
        lat.append(lat[source] + dlat)
        lon.append(lon[source] + dlon)

    user_ids = _fresh_ids([str(x) for x in trace.users], k, "v")
    virtual = _virtual_frame(
        days,
        mapping,
        user_ids,
        real_locations + clone_ids,
        lat,
        lon,
        options,
        trace.has_coordinates,
    )
    if "end" not in trace.frame.columns:
        virtual = to_ap_log(Trace(virtual), _median_interval(trace), max_rows=2**62).frame
    return _merge(trace, virtual)


def _virtual_days(
    rng: np.random.Generator,
    cycles: CycleTable,
    templates: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    weekend: np.ndarray,
    popularity: np.ndarray,
    jitter_s: float,
    p_drop: float,
    p_explore: float,
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(cycle, locations, arrivals, departures) of one virtual user's active cycles."""
    template = int(rng.choice(templates))
    own = np.arange(starts[template], stops[template])
    own_cycles = cycles.cycle[own]
    rate = len(own) / (own_cycles.max() - own_cycles.min() + 1)
    span = np.arange(own_cycles.min(), own_cycles.max() + 1)
    length = cycles.options.length_s
    weekday_of = pd.DatetimeIndex(
        pd.to_datetime(span * length + cycles.options.origin_hour * _H, unit="s")
    ).day_of_week.to_numpy()
    out = []
    for cycle, dow in zip(span, weekday_of, strict=True):
        if rng.random() >= rate:
            continue
        same_kind = own[weekend[own] == (dow >= 5)]
        i = int(rng.choice(same_kind if len(same_kind) else own))
        sl = slice(cycles.offsets[i], cycles.offsets[i + 1])
        loc = cycles.location[sl].copy()
        arr = cycles.arrival[sl].astype(float)
        dep = cycles.departure[sl].astype(float)
        keep = np.ones(len(loc), dtype=bool)
        keep[1:-1] = rng.random(max(len(loc) - 2, 0)) >= p_drop
        loc, arr, dep = loc[keep], arr[keep], dep[keep]
        wander = rng.random(len(loc)) < p_explore
        if wander.any():
            loc[wander] = rng.choice(len(popularity), wander.sum(), p=popularity / popularity.sum())
        dwell = (dep - arr) * rng.lognormal(0.0, 0.15, len(loc))
        gaps = np.diff(arr) - (dep[:-1] - arr[:-1])
        gaps = np.maximum(gaps, 0.0) * rng.lognormal(0.0, 0.15, len(gaps))
        first = arr[0] if arr[0] <= 0 else max(0.0, arr[0] + rng.normal(0.0, jitter_s))
        new_arr = first + np.concatenate(([0.0], np.cumsum(dwell[:-1] + gaps)))
        new_dep = new_arr + dwell
        if dep[-1] >= length:  # the night at home continues into the next cycle
            new_dep[-1] = length
        inside = new_arr < length
        out.append((int(cycle), loc[inside], new_arr[inside], np.minimum(new_dep[inside], length)))
    return out


def _clone_owner(days: list[list[Any]], mapping: list[dict[int, int]], j: int, k: int) -> int:
    """Virtual user j mod k, or the next one that still has an uncloned visited location."""
    for step in range(k):
        owner = (j + step) % k
        visited = {int(x) for d in days[owner] for x in d[1]}
        if len(visited - set(mapping[owner])) > 0:
            return owner
    raise ValueError("more new locations than distinct places the virtual users visit")


def _fresh_ids(existing: list[str], n: int, fallback: str) -> list[str]:
    """``n`` new ids: continuing a ``<prefix><digits>`` numbering when all ids share one,
    else ``<fallback>0001``...; the prefix is doubled until nothing clashes."""
    if n == 0:
        return []
    taken = set(existing)
    parts = [re.fullmatch(r"(\D*)(\d+)", x) for x in existing]
    if existing and all(parts) and len({p.group(1) for p in parts if p}) == 1:
        prefix = parts[0].group(1) if parts[0] else ""
        width = max(len(p.group(2)) for p in parts if p)
        top = max(int(p.group(2)) for p in parts if p)
        ids = [f"{prefix}{top + i + 1:0{width}d}" for i in range(n)]
        if fallback == "L" and not taken & set(ids):
            return ids
    width = max(4, len(str(n)))
    prefix = fallback.lower()
    while True:
        ids = [f"{prefix}{i + 1:0{width}d}" for i in range(n)]
        if not taken & set(ids):
            return ids
        prefix += fallback.lower()


def _virtual_frame(
    days: list[list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]],
    mapping: list[dict[int, int]],
    user_ids: list[str],
    location_ids: list[str],
    lat: list[float],
    lon: list[float],
    options: CycleOptions,
    with_coordinates: bool,
) -> pd.DataFrame:
    """Virtual users' visits as a visit frame (absolute times from cycle-relative seconds)."""
    users, locs, t0, t1 = [], [], [], []
    for v, user_days in enumerate(days):
        remap = np.arange(len(location_ids))
        for source, clone in mapping[v].items():
            remap[source] = clone
        for cycle, loc, arr, dep in user_days:
            base = cycle * options.length_s + options.origin_hour * _H
            users.append(np.full(len(loc), v))
            locs.append(remap[loc])
            t0.append(base + arr)
            t1.append(base + dep)
    if not users:
        raise ValueError("the virtual users drew no active day (templates too sparse?)")
    user = np.concatenate(users)
    loc = np.concatenate(locs)
    frame = pd.DataFrame(
        {
            "user": pd.Categorical.from_codes(user, categories=pd.Index(user_ids)),
            "location": pd.Categorical.from_codes(loc, categories=pd.Index(location_ids)),
            "time": _wall_to_utc(np.concatenate(t0), options.timezone),
            "end": _wall_to_utc(np.concatenate(t1), options.timezone),
        }
    )
    if with_coordinates:
        frame["latitude"] = np.asarray(lat)[loc]
        frame["longitude"] = np.asarray(lon)[loc]
    frame["location"] = frame["location"].cat.remove_unused_categories()
    return frame


def _wall_to_utc(seconds: np.ndarray, timezone: str) -> pd.Series:
    """Local wall-clock seconds since 1970-01-01 -> tz-aware UTC timestamps (ns)."""
    wall = pd.Series((np.round(seconds).astype(np.int64) * 1_000_000_000).view("M8[ns]"))
    ambiguous = np.zeros(len(wall), dtype=bool)  # a repeated hour is read as standard time
    return wall.dt.tz_localize(
        timezone, ambiguous=ambiguous, nonexistent="shift_forward"
    ).dt.tz_convert("UTC")


def _median_interval(trace: Trace) -> float:
    """Median gap (s) between consecutive sightings of one user, the AP log's probe period."""
    frame = trace.frame
    t = frame["time"].to_numpy("M8[ns]").view(np.int64)
    same = frame["user"].cat.codes.to_numpy()
    gaps = np.diff(t)[(same[1:] == same[:-1]) & (np.diff(t) > 0)]
    return float(np.median(gaps) / 1e9) if len(gaps) else 20.0


def _merge(trace: Trace, virtual: pd.DataFrame) -> Trace:
    """Original rows unchanged plus the virtual rows; categories are the sorted unions."""
    frame = trace.frame
    columns = [c for c in frame.columns if c in virtual.columns]
    parts = []
    for column in ("user", "location"):
        union = pd.Index(
            sorted(set(frame[column].cat.categories) | set(virtual[column].cat.categories))
        )
        parts.append((column, union))
    out = []
    virtual = virtual[columns].astype(
        {c: frame[c].dtype for c in columns if c not in ("user", "location")}
    )
    for part in (frame[columns], virtual):
        part = part.copy()
        for column, union in parts:
            part[column] = part[column].cat.set_categories(union)
        out.append(part)
    merged = pd.concat(out, ignore_index=True)
    merged = merged.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    return Trace(merged, f"{trace.source} + {virtual['user'].nunique()} virtual users")
