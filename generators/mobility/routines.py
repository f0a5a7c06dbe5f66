"""Who does what: every user's ground-truth routine, drawn once per campus.

Why a module of its own: a routine (home, courses or office hours, favourite places, personal
rates and habits) is drawn from the user's own hash stream (a counter no real day reaches), so
it depends only on the seed and the user index; the days are then drawn from it
(:mod:`generators.mobility.days`) and :meth:`SyntheticCampus.routine` shows it in readable form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.mobility.config import HOUR, MAX_COURSES, CampusConfig
from generators.mobility.layout import CampusLayout
from generators.mobility.rng import Slots, Variates, beta, routine_uniforms, z

# The uniforms of one user's routine, by decision: every slot has a fixed variate index.
ROUTINE_SLOTS = Slots(
    {
        "role": 1,
        "occasional": 1,
        "p_active": 1,
        "home": 1,
        "department": 1,
        "n_courses": 1,
        "course_dept": MAX_COURSES,
        "course_pick": MAX_COURSES,
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


@dataclass(frozen=True, eq=False)
class Routines:
    """Every user's ground-truth routine, one array element (or row) per user index.

    Times are seconds after local midnight; AP fields are location codes (-1: none).
    """

    student: np.ndarray  # bool: follows a course timetable (else office hours)
    occasional: np.ndarray  # bool: seldom carries the device
    p_active: np.ndarray  # P(device on during a weekday)
    home: np.ndarray  # home AP (a residence)
    courses: (
        np.ndarray
    )  # (users, MAX_COURSES) timetable entries (row of CampusLayout.courses) or -1
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


def draw_routines(config: CampusConfig, layout: CampusLayout, keys: np.ndarray) -> Routines:
    """Routines of the users with the given keys, each from its own hash stream."""
    u = Variates(routine_uniforms(keys, ROUTINE_SLOTS.n), ROUTINE_SLOTS)
    student = u("role") < config.student_fraction
    occasional = u("occasional") < config.occasional_fraction
    p_active = np.where(
        occasional,
        beta(*config.active_occasional, u("p_active")),
        beta(*config.active_regular, u("p_active")),
    )
    sport_mean = np.where(
        u("sport_mean")[:, 0] < 0.3, 7.5 * HOUR, (17.0 + 2.5 * u("sport_mean")[:, 1]) * HOUR
    )
    sport_days = ((u("sport_days") < 3.0 / 7.0) * (1 << np.arange(7))).sum(axis=1)
    explore_b = 2.0 * (1.0 - config.explore_prob) / config.explore_prob
    return Routines(
        student=student,
        occasional=occasional,
        p_active=p_active.astype(np.float32),
        home=layout.pick("residence", u("home"), weighted=False),
        courses=_draw_courses(config, layout, u, student),
        p_attend=(beta(9.0, 1.5, u("p_attend")) * np.where(occasional, 0.8, 1.0)),
        office=np.where(student, -1, layout.pick("office", u("office"), weighted=False)),
        work_start=np.clip(8.75 * HOUR + 0.6 * HOUR * z(u("work_start")), 7 * HOUR, 10.5 * HOUR),
        work_len=np.clip(8.3 * HOUR + 0.6 * HOUR * z(u("work_len")), 6 * HOUR, 10 * HOUR),
        p_lunch=beta(6.0, 2.0, u("p_lunch")),
        lunch_mean=np.clip(12.25 * HOUR + 0.4 * HOUR * z(u("lunch_mean")), 11 * HOUR, 14 * HOUR),
        p_dinner=beta(3.0, 3.0, u("p_dinner")),
        dinner_mean=np.clip(18.4 * HOUR + 0.5 * HOUR * z(u("dinner_mean")), 17 * HOUR, 21 * HOUR),
        dining=np.stack([layout.pick("dining", u("dining")[:, i]) for i in range(2)], axis=1),
        p_study=beta(1.2, 2.5, u("p_study")) * np.where(student, 1.0, 0.3),
        study_mean=(13.0 + 7.0 * u("study_mean")) * HOUR,
        library=layout.pick("library", u("library")),
        p_sport=beta(0.7, 2.5, u("p_sport")),
        sport_mean=sport_mean,
        sport_ap=layout.pick("sports", u("sport_ap")),
        sport_days=sport_days.astype(np.uint8),
        social_rate=config.social_rate * np.exp(config.social_rate_sigma * z(u("social_rate"))),
        favourites=np.stack([layout.pick("all", u("favourites")[:, i]) for i in range(3)], axis=1),
        explore=beta(2.0, explore_b, u("explore")),
        chronotype=np.clip(0.75 * HOUR * z(u("chronotype")), -2 * HOUR, 2 * HOUR),
        p_break=beta(2.0, 2.0, u("p_break")),
    )


def _draw_courses(
    config: CampusConfig, layout: CampusLayout, u: Variates, student: np.ndarray
) -> np.ndarray:
    """(users, MAX_COURSES) timetable entries of the students (-1: none; staff have none).

    A student belongs to a department (the building of a lecture AP) and takes most courses
    there; a course picked twice counts once.
    """
    a = layout.arrays
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
    wanted = student[:, None] & (np.arange(MAX_COURSES)[None, :] < n_courses[:, None])
    for j in range(1, MAX_COURSES):  # the same course picked twice counts once
        wanted[:, j] &= (courses[:, :j] != courses[:, j : j + 1]).all(axis=1)
    return np.where(wanted & (n_all > 0), courses, -1).astype(np.int32)
