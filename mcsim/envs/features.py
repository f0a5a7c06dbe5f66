"""What an agent sees of a task copy and of each candidate user (the env's observation).

The features are computed from the platform's training knowledge only (p(loc | u), mined
patterns, visit windows, last reported locations), never from the simulated day.
:class:`CandidateFeatures` caches what does not change during an episode (per location: who
has a pattern there, the distances) and the pattern matches and window features that recur
from day to day, so that a step costs a few vector operations over the users.

With ``p_loc`` (MDP's degree), ``bundle`` (MLP's matching length) and their product (IU2), the
paper's strategies are expressible from the observation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from mcsim.mining.windows import VisitWindows
from mcsim.readonly import read_only
from mcsim.sim import Knowledge

TASK_FEATURES = ("time_of_day", "copies_left", "deadline_left", "queue_left")
CANDIDATE_FEATURES = (
    "p_loc", "bundle", "bundle_support", "load", "distance_km", "p_window", "eta", "valid",
)  # fmt: skip
#: Pattern matches and window features kept per :class:`CandidateFeatures`, each (oldest
#: dropped first): ~1 MB with 68 users, 16 MB with 1,000. Over 300 episodes the campus asks
#: about 300 distinct windows and 1,000 distinct matches.
KEPT = 1024


_K = TypeVar("_K")
_V = TypeVar("_V")


def _kept(store: dict[_K, _V], key: _K, make: Callable[[], _V]) -> _V:
    """``store[key]``, made with ``make()`` when missing; ``store`` holds at most
    :data:`KEPT` items, the oldest dropped first."""
    value = store.get(key)
    if value is None:
        if len(store) >= KEPT:
            del store[next(iter(store))]
        value = store[key] = make()
    return value


@dataclass(frozen=True, eq=False)
class Site:
    """What the training knowledge says about one task location (cached per env)."""

    p: np.ndarray  # p(loc | u) per user
    holder: np.ndarray  # holder of each pattern containing loc
    support: np.ndarray  # support of each pattern containing loc
    owner: np.ndarray  # distinct (pattern, location) pairs of those patterns: pattern
    item: np.ndarray  # owner[j] (an index into holder) contains location item[j]
    places: np.ndarray  # the distinct items: where the decision's tasks decide the matches
    km_from: np.ndarray  # [km] from every location code to loc; inf when unknown, and at
    # index -1, so that "no location reported yet" (-1) reads inf


@dataclass(frozen=True, eq=False)
class LocationView:
    """Per-user features of one task location at one decision."""

    p: np.ndarray  # p(loc | u)
    bundle: np.ndarray  # longest match / g, clipped
    support: np.ndarray  # support of that match
    distance: np.ndarray  # [km] from the last reported location, inf when unknown


class CandidateFeatures:
    """Per-user features of task locations, from the platform's knowledge.

    Args:
        knowledge: what the platform learned from the training cycles.
        g: the workload cap (``bundle`` is a share of it).
    """

    def __init__(self, knowledge: Knowledge, g: int) -> None:
        self.knowledge = knowledge
        self.g = g
        self.n_users = len(knowledge.patterns.users)
        self.n_locations = len(knowledge.patterns.locations)
        self._sites: dict[int, Site] = {}
        self._matches: dict[tuple[int, str, bytes], tuple[np.ndarray, np.ndarray]] = {}
        self._windows_of: VisitWindows | None = None  # whose window features are kept
        self._windows: dict[
            tuple[int, float, float, float, float], tuple[np.ndarray, np.ndarray]
        ] = {}

    def view(self, loc: int, tasks_at: np.ndarray, last_location: np.ndarray) -> LocationView:
        """Every user's features for a task at ``loc`` at a decision: the best pattern match
        against the decision's tasks (``tasks_at``: tasks per location code) and the distance
        from each user's ``last_location``.

        The matches (``bundle``, ``bundle_support``: read-only arrays) are kept per location
        and tasks at the places of its patterns (:data:`KEPT`): a decision has a few tasks, so
        the same ones recur from day to day (on the campus 990 distinct among 8,607 in 300
        episodes), and matching costs as much as the rest of a task's ranking.
        """
        site = self.site(loc)
        at = tasks_at[site.places]
        key = (loc, at.dtype.str, at.tobytes())
        match = _kept(self._matches, key, lambda: self._match(site, tasks_at))
        return LocationView(site.p, *match, site.km_from[last_location])

    def _match(self, site: Site, tasks_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per user: (bundle, bundle_support) of the best pattern match (:meth:`view`)."""
        n = self.n_users
        bundle, support = np.zeros(n), np.zeros(n)
        if len(site.holder):
            # matlg of each pattern: the decision's tasks at its distinct locations.
            matlg = np.bincount(site.owner, weights=tasks_at[site.item], minlength=len(site.holder))
            # Per holder, the longest match, then the highest support: sort, keep the last.
            best = np.lexsort((site.support, matlg, site.holder))
            holder = site.holder[best]
            last = np.empty(len(best), dtype=bool)
            last[-1] = True
            np.not_equal(holder[1:], holder[:-1], out=last[:-1])
            winner, users = best[last], holder[last]
            bundle[users] = np.minimum(matlg[winner] / self.g, 1.0)
            support[users] = site.support[winner]
        return read_only(bundle), read_only(support)

    def window(
        self,
        windows: VisitWindows | None,
        loc: int,
        window: tuple[float, float],
        now_s: float,
        day_length_s: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per user: (p_window, eta) of a task at ``loc`` with sensing ``window`` [s], at a
        decision at ``now_s`` [s].

        ``p_window``: share of the training days on which the user was at the task's location
        inside the window (:class:`~mcsim.mining.windows.VisitWindows`; 0 without visit
        windows). ``eta``: the expected sensing time on those days minus now, / the cycle
        length ``day_length_s``, in [0, 1] (1: never there in the window).

        Kept (read-only arrays, :data:`KEPT`): a scenario publishes its tasks in a few
        batches and decides at those times, so the same windows recur from day to day (on the
        campus 312 distinct among 9,000 in 300 episodes), and a query costs as much as the
        rest of a task's ranking.
        """
        if windows is not self._windows_of:  # a new platform (an agent run as a policy)
            self._windows.clear()
            self._windows_of = windows
        key = (loc, *window, now_s, day_length_s)
        return _kept(self._windows, key, lambda: self._new_window(windows, *key))

    def _new_window(
        self,
        windows: VisitWindows | None,
        loc: int,
        start_s: float,
        end_s: float,
        now_s: float,
        day_length_s: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per user: (p_window, eta) for the window [start_s, end_s], computed (:meth:`window`)."""
        if windows is None:
            prob, arrival = np.zeros(self.n_users), np.full(self.n_users, np.nan)
        else:
            prob, arrival = windows.query(loc, start_s, end_s)
        eta = arrival - now_s
        eta /= day_length_s
        np.fmin(eta, 1.0, out=eta)  # fmin: NaN (never there) -> 1
        np.maximum(eta, 0.0, out=eta)
        return read_only(prob), read_only(eta)

    def site(self, loc: int) -> Site:
        """The static knowledge about ``loc`` (computed once per location)."""
        site = self._sites.get(loc)
        return self._new_site(loc) if site is None else site

    def _new_site(self, loc: int) -> Site:
        knowledge = self.knowledge
        patterns = knowledge.patterns
        n_locations = len(patterns.locations)
        p = np.zeros(self.n_users)
        users, probs = knowledge.location_model.users_at(loc)
        p[users] = probs
        ids = patterns.containing(loc)
        sizes = patterns.lengths()[ids]
        items = patterns.items[
            np.repeat(patterns.offsets[ids] - np.cumsum(sizes) + sizes, sizes)
            + np.arange(int(sizes.sum()))
        ]
        key = np.unique(
            np.repeat(np.arange(len(ids)), sizes) * n_locations + items.astype(np.int64)
        )
        metres = knowledge.locations.distance_m(np.arange(n_locations), loc)
        km_from = np.append(np.where(np.isnan(metres), np.inf, metres / 1000.0), np.inf)
        item = key % n_locations
        site = Site(
            p,
            patterns.holder[ids],
            patterns.support[ids],
            key // n_locations,
            item,
            np.unique(item),
            km_from,
        )
        self._sites[loc] = site
        return site
