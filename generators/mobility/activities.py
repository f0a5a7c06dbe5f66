"""What a user does out of home on a day: one column per activity slot, then a consistent plan.

Why a module of its own: the out-of-home part of a day (courses, office hours, meals, library,
sport, unscheduled visits) is the bulk of the day model and is drawn the same way for every
slot: whether it happens, when it starts, how long it lasts and where. Each ``_courses``,
``_meal``... function draws one kind of slot from the user's routine and the day's uniforms;
:func:`draw_activities` puts them side by side, keeps the active days' ones and resolves
overlaps (each activity is cut short to reach the next one in time). The home stays around them
and the day's place in absolute time are :mod:`generators.mobility.days`' job.

All arrays are (users, days, slots) or (users, days); times are seconds after local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.mobility.config import HOUR, MAX_COURSES, MINUTE, CampusConfig
from generators.mobility.layout import CampusLayout
from generators.mobility.rng import Variates, z
from generators.mobility.routines import Routines

N_SOCIAL = 4  # most unscheduled visits a day can hold
# Out-of-home activity slots of a day, in this column order.
SLOT_NAMES = (
    ("course",) * MAX_COURSES
    + ("office_am", "office_pm", "lunch", "dinner", "study", "sport")
    + ("social",) * N_SOCIAL
)
K = len(SLOT_NAMES)
_COURSES = slice(0, MAX_COURSES)
_AM, _PM, _LUNCH, _DINNER, _STUDY, _SPORT = range(MAX_COURSES, MAX_COURSES + 6)
_SOCIAL = slice(K - N_SOCIAL, K)

# One kind of slot: (present, start, length, location), each broadcastable to (users, days[, n]).
Slot = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class Activities:
    """A day's out-of-home activities, (users, days, K) each, present ones first by start."""

    start: np.ndarray  # [s] after local midnight (inf where absent)
    end: np.ndarray  # [s] after local midnight
    loc: np.ndarray  # int32 AP code
    present: np.ndarray  # bool


def draw_activities(
    config: CampusConfig,
    layout: CampusLayout,
    r: Routines,
    u: Variates,
    weekday: np.ndarray,
    active: np.ndarray,
) -> Activities:
    """The activities of the users of ``r`` on days of the given weekdays (0 = Monday).

    Only ``active`` (users, days) days have any; an active day has at least one (lunch).
    """
    weekend = (weekday >= 5)[None, :]
    shape = (len(r.home), len(weekday), K)
    start = np.empty(shape)
    length = np.empty(shape)
    loc = np.empty(shape, dtype=np.int32)
    present = np.empty(shape, dtype=bool)
    lunch = _meal(layout, r, u("lunch"), r.p_lunch, r.lunch_mean, 35 * MINUTE)
    dinner = _meal(layout, r, u("dinner"), r.p_dinner, r.dinner_mean, 40 * MINUTE)
    am, pm = _office_hours(r, u, weekend, lunch)
    slots: tuple[tuple[int | slice, Slot], ...] = (
        (_COURSES, _courses(layout, r, u, weekday)),
        (_LUNCH, lunch),
        (_DINNER, dinner),
        (_AM, am),
        (_PM, pm),
        (_STUDY, _study(layout, r, u("study"), weekend)),
        (_SPORT, _sport(r, u("sport"), weekday)),
        (_SOCIAL, _social(layout, r, u, weekend)),
    )
    for i, (p, s, d, w) in slots:
        present[:, :, i], start[:, :, i], length[:, :, i], loc[:, :, i] = p, s, d, w

    # A campus without some kind of building (no library, say) has no such activity.
    present &= loc >= 0
    np.maximum(loc, 0, out=loc)
    # An active day always has one outing: if nothing else happens the user goes for lunch.
    others = present.copy()
    others[:, :, _LUNCH] = False
    present[:, :, _LUNCH] |= ~others.any(axis=2)
    present &= active[:, :, None]

    # Activity window of a day; with trips capped at an hour, the latest return home stays an
    # hour before the next day starts, even on the night the clocks spring forward.
    day_start = config.day_start_h * HOUR
    earliest, latest = day_start + 2 * HOUR, day_start + 21 * HOUR
    start = np.maximum(start, earliest)
    end = np.minimum(start + length, latest)
    return _resolve_overlaps(layout, config, start, end, loc, present)


def _courses(layout: CampusLayout, r: Routines, u: Variates, weekday: np.ndarray) -> Slot:
    """Courses: held on their weekdays, attended with the user's diligence; arrive a few
    minutes early or late, leave at the end."""
    course = r.courses  # -1 (none) picks the never-held last entry
    a = layout.arrays
    held = (a["course_days"][course][:, None, :] >> weekday[None, :, None].astype(np.uint8)) & 1
    present = held.astype(bool) & (u("attend") < r.p_attend[:, None, None])
    scheduled = a["course_start"][course][:, None, :]
    start = scheduled + (u("course_jitter") - 0.7) * 10 * MINUTE
    length = scheduled + a["course_len"][course][:, None, :] - start
    return present, start, length, a["course_ap"][course][:, None, :]


def _meal(
    layout: CampusLayout,
    r: Routines,
    w: np.ndarray,
    p: np.ndarray,
    mean: np.ndarray,
    typical: float,
) -> Slot:
    """Lunch or dinner at a favourite or any dining hall, from the meal's four uniforms ``w``
    (whether, when, how long, where)."""
    at = mean[:, None] + 20 * MINUTE * z(w[..., 1])
    dwell = typical * np.exp(0.35 * z(w[..., 2]))
    which = w[..., 3]
    fallback = layout.pick("dining", np.clip((which - 0.85) / 0.15, 0.0, 1.0))
    where = np.where(
        which < 0.6, r.dining[:, :1], np.where(which < 0.85, r.dining[:, 1:], fallback)
    )
    return w[..., 0] < p[:, None], at, dwell, where


def _office_hours(r: Routines, u: Variates, weekend: np.ndarray, lunch: Slot) -> tuple[Slot, Slot]:
    """Office hours (staff) before and after lunch: weekdays but for leave days, a few
    weekends."""
    works = (~r.student)[:, None] & (u("work") < np.where(weekend, 0.08, 0.95))
    arrive = r.work_start[:, None] + 20 * MINUTE * z(u("work_start"))
    leave_work = arrive + r.work_len[:, None] + 30 * MINUTE * z(u("work_len"))
    lunch_at, lunch_end = lunch[1], lunch[1] + lunch[2]
    office = r.office[:, None]
    am = (works, arrive, lunch_at - arrive, office)
    pm = (works, lunch_end, leave_work - lunch_end, office)
    return am, pm


def _study(layout: CampusLayout, r: Routines, w: np.ndarray, weekend: np.ndarray) -> Slot:
    """A library session (fewer on weekends), mostly at the user's favourite library."""
    present = w[..., 0] < r.p_study[:, None] * np.where(weekend, 0.6, 1.0)
    start = r.study_mean[:, None] + 45 * MINUTE * z(w[..., 1])
    length = 2 * HOUR * np.exp(0.4 * z(w[..., 2]))
    other_library = layout.pick("library", np.clip((w[..., 3] - 0.7) / 0.3, 0.0, 1.0))
    return present, start, length, np.where(w[..., 3] < 0.7, r.library[:, None], other_library)


def _sport(r: Routines, w: np.ndarray, weekday: np.ndarray) -> Slot:
    """Sport, mostly on the user's sport days."""
    usual = ((r.sport_days[:, None] >> weekday[None, :].astype(np.uint8)) & 1).astype(bool)
    p_sport = np.minimum(1.0, r.p_sport[:, None] * np.where(usual, 1.8, 0.35))
    start = r.sport_mean[:, None] + 20 * MINUTE * z(w[..., 1])
    length = 75 * MINUTE * np.exp(0.3 * z(w[..., 2]))
    return w[..., 0] < p_sport, start, length, r.sport_ap[:, None]


def _social(layout: CampusLayout, r: Routines, u: Variates, weekend: np.ndarray) -> Slot:
    """Unscheduled visits: a Poisson count, each to a favourite place or, with the user's
    exploration rate, to any place by popularity (the long tail of the rank curve)."""
    rate = r.social_rate[:, None] * np.where(weekend, 1.5, 1.0)
    present = np.arange(N_SOCIAL) < _poisson(rate, u("social_n"))[..., None]
    opens = np.where(weekend, 11.0, 10.0)[..., None] * HOUR
    start = opens + 13 * HOUR * u("social_t")
    length = 45 * MINUTE * np.exp(0.6 * z(u("social_d")))
    sw = u("social_w")
    explore = r.explore[:, None, None]
    far = layout.pick("all", np.clip(sw / explore, 0.0, 1.0))
    near_u = np.clip((sw - explore) / (1.0 - explore), 0.0, 1.0)
    favourite = np.take_along_axis(
        r.favourites[:, None, :].repeat(sw.shape[1], axis=1),
        np.searchsorted([0.5, 0.8], near_u, side="right"),
        axis=2,
    )
    return present, start, length, np.where(sw < explore, far, favourite)


def _poisson(rate: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts (capped at the number of social slots) by inverse CDF."""
    p = np.exp(-rate)
    cdf = p.copy()
    count = np.zeros(rate.shape, dtype=np.int64)
    for k in range(1, N_SOCIAL + 1):
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
) -> Activities:
    """Sort a day's activities by start, cut each short to reach the next one in time, and
    drop what is left shorter than ``min_visit_s`` (a skipped lecture, a lunch cut short)."""
    start, end, loc, present = _sort_slots(start, end, loc, present=present, start=start)
    start = np.where(present, start, np.inf)
    travel = layout.travel_s(loc[..., :-1], loc[..., 1:], config.speed_mps)
    end[..., :-1] = np.minimum(end[..., :-1], start[..., 1:] - travel)
    present &= (end - start) >= config.min_visit_s
    return Activities(*_sort_slots(start, end, loc, present=present, start=start))
