"""Drawing days: a block of users' visits over a window of days, from their routines.

Why a module of its own: this is where the counter-based uniforms of every (user, day) are
drawn (:data:`DAY_VARIATES` of them, the cost driver) and where a day becomes visits in absolute
time: whether the device is on, the out-of-home activities
(:func:`~generators.mobility.activities.draw_activities`), the home stays around them (a
morning after a silent day, breaks in long gaps, every night) and the day's place in UTC
(:func:`day_origins`). :class:`Visits` is the flat form every later step works on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from generators.mobility.activities import N_SOCIAL, Activities, K, draw_activities
from generators.mobility.config import HOUR, MAX_COURSES, MINUTE, CampusConfig
from generators.mobility.layout import CampusLayout
from generators.mobility.rng import Slots, Variates, uniforms, z
from generators.mobility.routines import Routines

# The uniforms of one (user, day), by decision: every slot has a fixed variate index.
DAY_SLOTS = Slots(
    {
        "active": 1,
        "wake": 1,
        "prep": 1,
        "attend": MAX_COURSES,
        "course_jitter": MAX_COURSES,
        "work": 1,
        "work_start": 1,
        "work_len": 1,
        "lunch": 4,
        "dinner": 4,
        "study": 4,
        "sport": 3,
        "social_n": 1,
        "social_t": N_SOCIAL,
        "social_d": N_SOCIAL,
        "social_w": N_SOCIAL,
        "home_break": K - 1,
    }
)
DAY_VARIATES = DAY_SLOTS.n  # random numbers hashed per (user, day): the cost driver


@dataclass(frozen=True)
class Visits:
    """Flat visit arrays of one chunk, sorted by user then time."""

    user: np.ndarray  # int32 user index
    location: np.ndarray  # int32 AP code
    start: np.ndarray  # int64 UTC unix seconds
    end: np.ndarray  # int64 UTC unix seconds


@dataclass(frozen=True, eq=False)
class _HomeStays:
    """Times of the home stays around a day's activities, (users, days[, K - 1]) each."""

    wake: np.ndarray  # [s] the morning at home starts (after a silent day)
    leave: np.ndarray  # [s] the first trip of the day leaves home
    back: np.ndarray  # [s] home for the night, after the last activity
    gap_lo: np.ndarray  # [s] home in the gap after activity i ...
    gap_hi: np.ndarray  # [s] ... until leaving for activity i + 1
    breaks: np.ndarray  # bool: the user goes home in that gap


def day_origins(config: CampusConfig, days: np.ndarray) -> np.ndarray:
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


def draw_days(
    config: CampusConfig,
    layout: CampusLayout,
    routines: Routines,
    users: np.ndarray,
    keys: np.ndarray,
    first_day: int,
    n_days: int,
) -> Visits:
    """All stays of ``users`` on days ``first_day .. first_day + n_days - 1``.

    Days are drawn with one neighbour on each side: whether the previous day was active decides
    whether the morning opens with a home visit, and the next day's departure time ends
    tonight's stay at home. Both come from the neighbours' own hash streams, so a day's visits
    do not depend on the range it is drawn in. Visits are clipped to the window (from the first
    day's start to the day after the last one's start): a night at home that crosses the
    window's edge appears on both sides of it, cut there, like a recording that starts or
    stops at that moment.
    """
    ext = np.arange(first_day - 1, first_day + n_days + 1)
    u = Variates(uniforms(keys, ext, DAY_SLOTS.n), DAY_SLOTS)
    r = routines.take(users)
    weekday = (pd.Timestamp(config.start_date).day_of_week + ext) % 7
    weekend = (weekday >= 5)[None, :]
    p_on = r.p_active[:, None] * np.where(weekend, config.weekend_activity, 1.0)
    active = u("active") < p_on
    acts = draw_activities(config, layout, r, u, weekday, active)
    active &= acts.present.any(axis=2)  # (vanishingly rare) every outing cut away: a silent day
    home = _home_stays(config, layout, r, u, weekend, acts)
    s_abs, e_abs, where, mask = _window_columns(config, r.home, ext, active, acts, home)
    flat = np.flatnonzero(mask)
    user_index = np.broadcast_to(users[:, None, None], mask.shape).ravel()[flat]
    return Visits(
        user=user_index.astype(np.int32),
        location=where.ravel()[flat],
        start=np.round(s_abs.ravel()[flat]).astype(np.int64),
        end=np.round(e_abs.ravel()[flat]).astype(np.int64),
    )


def _home_stays(
    config: CampusConfig,
    layout: CampusLayout,
    r: Routines,
    u: Variates,
    weekend: np.ndarray,
    acts: Activities,
) -> _HomeStays:
    """Home visits: mornings after a silent day, breaks in long gaps, every night."""
    day_start = config.day_start_h * HOUR
    start, end, loc, present = acts.start, acts.end, acts.loc, acts.present
    wake = np.clip(
        (7.25 + 1.5 * weekend) * HOUR + r.chronotype[:, None] + 0.4 * HOUR * z(u("wake")),
        day_start + HOUR,
        12 * HOUR,
    )
    prep = 45 * MINUTE * np.exp(0.3 * z(u("prep")))
    home = r.home[:, None]
    travel_home_out = layout.travel_s(
        loc, np.broadcast_to(home[:, :, None], loc.shape), config.speed_mps
    )
    gap_lo = end[..., :-1] + travel_home_out[..., :-1]
    gap_hi = start[..., 1:] - travel_home_out[..., 1:]
    breaks = (
        present[..., :-1]
        & present[..., 1:]
        & (gap_hi - gap_lo >= 45 * MINUTE)
        & (u("home_break") < r.p_break[:, None, None])
    )
    has_out = present[..., 0]
    leave = np.where(
        has_out, np.minimum(wake + prep, start[..., 0] - travel_home_out[..., 0]), wake + prep
    )
    wake = np.maximum(np.minimum(wake, leave - 10 * MINUTE), day_start + 30 * MINUTE)
    last = np.maximum(present.sum(axis=2) - 1, 0)[..., None]
    back = (
        np.take_along_axis(end, last, axis=2) + np.take_along_axis(travel_home_out, last, axis=2)
    )[..., 0]
    return _HomeStays(wake, leave, back, gap_lo, gap_hi, breaks)


def _window_columns(
    config: CampusConfig,
    home_ap: np.ndarray,
    ext: np.ndarray,
    active: np.ndarray,
    acts: Activities,
    home: _HomeStays,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, location, mask) of every possible visit of the window's days, in UTC
    seconds, (users, days, 2 K + 1) each; ``ext`` are the days with their two neighbours.

    Columns: morning home, then activity 0, break 0, activity 1, ..., activity K-1, night.
    """
    n, m = active.shape
    day_start = config.day_start_h * HOUR
    origin = day_origins(config, ext)
    keep = slice(1, m - 1)
    o = origin[None, keep]
    # Tonight's stay ends at the next day's first trip, or when the device goes silent at the
    # next day's start; and nothing leaves the window [first day's start, last day's end).
    # Times are whole seconds: edges round inwards so nothing crosses a (fractional) day start.
    night_end = np.minimum(
        np.where(
            active[:, 2:],
            origin[None, 2:] + home.leave[:, 2:],
            np.floor(origin[None, 2:] + day_start),
        ),
        np.floor(origin[-1] + day_start),
    )
    opening = np.zeros(m - 2, dtype=bool)
    opening[0] = True  # the window's first morning: last night's stay, clipped to the window
    shape = (n, m - 2, 2 * K + 1)
    s_abs = np.empty(shape)
    e_abs = np.empty(shape)
    where = np.empty(shape, dtype=np.int32)
    mask = np.zeros(shape, dtype=bool)
    a_idx, b_idx = slice(1, 2 * K, 2), slice(2, 2 * K - 1, 2)
    s_abs[..., 0] = np.where(active[:, :-2], np.ceil(o + day_start), o + home.wake[:, keep])
    e_abs[..., 0] = o + home.leave[:, keep]
    mask[..., 0] = active[:, keep] & (~active[:, :-2] | opening)
    s_abs[..., a_idx] = o[..., None] + acts.start[:, keep]
    e_abs[..., a_idx] = o[..., None] + acts.end[:, keep]
    mask[..., a_idx], where[..., a_idx] = acts.present[:, keep], acts.loc[:, keep]
    s_abs[..., b_idx] = o[..., None] + home.gap_lo[:, keep]
    e_abs[..., b_idx] = o[..., None] + home.gap_hi[:, keep]
    mask[..., b_idx] = home.breaks[:, keep]
    s_abs[..., -1], e_abs[..., -1] = o + home.back[:, keep], night_end
    mask[..., -1] = active[:, keep]
    where[..., 0] = where[..., -1] = home_ap[:, None]
    where[..., b_idx] = home_ap[:, None, None]
    return s_abs, e_abs, where, mask
