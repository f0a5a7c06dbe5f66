"""When users are at a place: time-of-day visit statistics of the training cycles.

The paper's repetitive patterns (and p(loc | u)) ignore the time of day, yet the sensing rule
(see :mod:`mcsim.sim.world`) completes a copy of task t held by user u only if u has a visit
at t's location whose [arrival, departure] intersects the copy's window
W = [max(publish_t, decision time), deadline_t]. :class:`VisitWindows` answers, for one
location and one window and vectorised over all users, how often each user's training days
would have completed such a copy, and when it would have been sensed:

    prob(u)    = #(training days with a visit of u at loc overlapping W) / #(training days)
    arrival(u) = mean, over those days, of max(arrival of the first overlapping visit, start)

The denominator is every calendar day of the training period, including the days u did not
appear at all. A user absent on the task's day fails every copy it holds, so a day without
any visit is a miss like a day spent elsewhere; dividing by u's valid cycles only (as support
and p(loc | u) do) overstates what a copy given to an often-absent user yields. The result is
therefore an estimate of the completion probability itself, in the units of the completion
ratio and of fulfillment.

Overlap follows the sensing rule exactly, closed intervals on both sides: a visit that ends
at the window's start, or begins at its end, counts.

Queries are the hot path of a Gym env (one per task and decision, with up to thousands of
users), so nothing is looped per user or day: the visits of a location are gathered once (on
its first query) into arrays sorted by (user, day, arrival), and a query is a handful of
array operations over that location's visits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from mcsim.mining.cycles import CycleTable
from mcsim.readonly import read_only


class _LocationVisits(NamedTuple):
    """The training visits at one location, sorted by (user, day, arrival); read-only."""

    user: np.ndarray  # intp user code
    key: np.ndarray  # int64 user * n_days + day: one value per (user, day)
    arrival: np.ndarray  # float64 [s from cycle start]
    departure: np.ndarray  # float64 [s from cycle start]


@dataclass(frozen=True, eq=False)
class VisitWindows:
    """Per-user visit statistics of a location inside a time window (training cycles only).

    Build it with :meth:`from_cycles`. It is immutable: the training cycles are held
    privately (shared with the pipeline, not copied, never written), the arrays derived from
    them are read-only, and every query returns fresh arrays, so a plug-in cannot change what
    the policies after it see.

    Attributes:
        first_cycle: calendar cycle index of the training period's first day.
        n_days: calendar days of the training period (the denominator of :meth:`prob`).
    """

    _cycles: CycleTable = field(repr=False)
    first_cycle: int
    n_days: int
    _by_location: dict[int, _LocationVisits] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n_days < 1:
            raise ValueError(f"the training period needs at least one day, got {self.n_days}")
        if len(self._cycles):
            low, high = int(self._cycles.cycle.min()), int(self._cycles.cycle.max())
            if low < self.first_cycle or high >= self.first_cycle + self.n_days:
                raise ValueError(
                    f"cycles {low}..{high} lie outside the training period "
                    f"{self.first_cycle}..{self.first_cycle + self.n_days - 1}"
                )

    @classmethod
    def from_cycles(cls, train: CycleTable, period: tuple[int, int] | None = None) -> VisitWindows:
        """The visit windows of the training cycles ``train``.

        Args:
            train: the training cycles (valid cycles of every user).
            period: the training period as calendar cycles [first, stop); default: from the
                first to the last cycle present in ``train`` (the calendar span, whoever
                appears on each day).

        Raises:
            ValueError: an empty period, or cycles outside it.
        """
        if period is None and len(train):
            period = (int(train.cycle.min()), int(train.cycle.max()) + 1)
        first, stop = period or (0, 1)
        return cls(train, int(first), int(stop) - int(first))

    @property
    def n_users(self) -> int:
        """Users of the population (the length of every query's answer)."""
        return len(self._cycles.users)

    @property
    def n_locations(self) -> int:
        return len(self._cycles.locations)

    def prob(self, loc: int, start_s: float, end_s: float) -> np.ndarray:
        """Share of training days on which each user visited ``loc`` inside the window.

        Args:
            loc: location code.
            start_s, end_s: the window [s from cycle start], both ends included; ``end_s``
                may be ``inf`` (no deadline).

        Returns:
            float64 (n_users,) in [0, 1]; all zero for an empty window (start after end).
        """
        return self.query(loc, start_s, end_s)[0]

    def arrival(self, loc: int, start_s: float, end_s: float) -> np.ndarray:
        """Expected sensing time of each user at ``loc`` inside the window.

        On each training day with an overlapping visit, the sensing time is
        max(arrival of the first such visit, ``start_s``), as in the sensing rule.

        Returns:
            float64 (n_users,) [s from cycle start]: the mean over those days, NaN for a user
            without one.
        """
        return self.query(loc, start_s, end_s)[1]

    def query(self, loc: int, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """``(prob, arrival)`` of one window in one pass (see :meth:`prob` and :meth:`arrival`).

        Raises:
            ValueError: a location code outside the population's locations, or a NaN bound.
        """
        n = self.n_users
        prob, arrival = np.zeros(n), np.full(n, np.nan)
        user, sensed = self._first_hits(loc, start_s, end_s)
        if len(user):
            days = np.bincount(user, minlength=n)
            np.divide(days, self.n_days, out=prob)
            total = np.bincount(user, weights=sensed, minlength=n)
            np.divide(total, days, out=arrival, where=days > 0)
        return prob, arrival

    def users_at(self, loc: int, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The users with a positive :meth:`prob` and those probabilities, sparse.

        Costs the location's visits, not the population: for allocating over many users.

        Returns:
            (user codes ascending (intp), float64 probabilities in (0, 1]).
        """
        user, _ = self._first_hits(loc, start_s, end_s)
        if not len(user):
            return user, np.zeros(0)
        # ``user`` is sorted (visits are ordered by user first): runs are users.
        new = np.empty(len(user), dtype=bool)
        new[0] = True
        np.not_equal(user[1:], user[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        days = np.diff(np.append(starts, len(user)))
        return user[starts], days / self.n_days

    def _first_hits(self, loc: int, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Per (user, day) with a visit at ``loc`` overlapping the window: the user and the
        sensing time max(arrival of its first such visit, start), ordered by (user, day)."""
        start, end = float(start_s), float(end_s)
        if math.isnan(start) or math.isnan(end):
            raise ValueError(f"window bounds must be numbers, got [{start_s}, {end_s}]")
        visits = self._visits(loc)
        if start > end:
            return visits.user[:0], np.zeros(0)
        hit = np.flatnonzero((visits.arrival <= end) & (visits.departure >= start))
        if len(hit) > 1:
            # The first overlapping visit of each (user, day): arrivals are sorted within a
            # day, so it is the one sensed first.
            key = visits.key[hit]
            first = np.empty(len(key), dtype=bool)
            first[0] = True
            np.not_equal(key[1:], key[:-1], out=first[1:])
            hit = hit[first]
        return visits.user[hit], np.maximum(visits.arrival[hit], start)

    def _visits(self, loc: int) -> _LocationVisits:
        """The training visits at ``loc``, gathered on its first query."""
        cached = self._by_location.get(loc)
        if cached is not None:
            return cached
        if not 0 <= loc < self.n_locations:
            raise ValueError(f"location code {loc} outside the {self.n_locations} locations")
        lo, hi = self._location_bounds[loc], self._location_bounds[loc + 1]
        element = self._location_order[lo:hi]
        c = self._cycles
        cycle_of = np.searchsorted(c.offsets, element, side="right") - 1
        user = c.user[cycle_of].astype(np.intp)
        key = user.astype(np.int64) * self.n_days + (c.cycle[cycle_of] - self.first_cycle)
        arrival = c.arrival[element].astype(np.float64)
        departure = c.departure[element].astype(np.float64)
        order = np.lexsort((arrival, key))
        visits = _LocationVisits(*(read_only(a[order]) for a in (user, key, arrival, departure)))
        self._by_location[int(loc)] = visits
        return visits

    @cached_property
    def _location_order(self) -> np.ndarray:
        """Flat visit positions grouped by location (the table's order within one)."""
        return read_only(np.argsort(self._cycles.location, kind="stable"))

    @cached_property
    def _location_bounds(self) -> np.ndarray:
        """Location ``l``'s visits are ``_location_order[bounds[l]:bounds[l + 1]]``."""
        counts = np.bincount(self._cycles.location, minlength=self.n_locations)
        return read_only(np.concatenate(([0], np.cumsum(counts))).astype(np.int64))
