"""The paper's nearest-assignment baseline NA (Wang et al. 2018, Sec. 5.2.2).

NA ignores mobility knowledge beyond where each user was last seen: a task goes to the users
nearest its location. It is the yardstick that shows what the mined routines are worth (the
paper's NA completes about half as many tasks as the other policies).

Decisions where the paper is vague (tested in tests/policies):

* "Current location" is :attr:`PlatformState.last_location`, the last location the platform
  knows for each user; users without one (-1) or whose last location has no coordinates are
  never chosen. Tasks at a location without coordinates get no one (their copies are
  reported unassigned).
* Tasks are served one at a time in publish order (then lowest id). Each takes its c_i
  nearest users that still have room and do not hold it (distinct users), so an earlier task
  can use up a nearby user that a later one would have wanted, as in any online assignment.
* Distance is the great-circle distance between the two locations' coordinates; ties go to
  the lower user code.
* One iteration per task served; the claimed coverage of a pair is p(loc_t | u) from the
  location model (NA itself does not use it).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import numpy as np
from scipy.spatial import cKDTree

from mcsim.data.geo import EARTH_RADIUS_M
from mcsim.mining.locations import Locations
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from policies.base import AllocationPolicy, build_assignment, held_ranks, publish_order


class NA(AllocationPolicy):
    """Nearest assignment: each task's copies go to the nearest users with room.

    Users are grouped by their last location (a place), and each task asks a spatial index of
    the places that still have room for its nearest ones (see :class:`_NearestPlaces`), so
    a task touches a few places, not all of them.
    """

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        order = publish_order(tasks)
        task_location = tasks.location[order]
        # Python lists, not arrays: the loop below reads and writes one scalar at a time.
        remaining = tasks.copies[order].tolist()
        capacity = state.capacity.tolist()
        held = held_ranks(tasks, state, order)
        coordinates = state.locations
        known = np.isfinite(coordinates.latitude) & np.isfinite(coordinates.longitude)

        last = state.last_location
        usable = np.flatnonzero((last >= 0) & (state.capacity > 0))
        usable = usable[known[last[usable]]]
        # Users grouped by last location, each group by user code (np.unique sorts).
        places, group = np.unique(last[usable], return_inverse=True)
        waiting: list[list[int]] = [[] for _ in places]
        place_of: dict[int, int] = {}
        for user, where in zip(usable.tolist(), group.tolist(), strict=True):
            waiting[where].append(user)
            place_of[user] = where
        nearest = _NearestPlaces(coordinates, places, waiting)

        users: list[int] = []
        ranks: list[int] = []
        for rank, location in enumerate(task_location.tolist()):
            if not known[location]:
                continue
            for tier in nearest.tiers(location, k=2 * remaining[rank]):
                candidates = sorted(
                    u for place in tier for u in waiting[place] if rank not in held.get(u, ())
                )
                for user in candidates[: remaining[rank]]:
                    users.append(user)
                    ranks.append(rank)
                    remaining[rank] -= 1
                    capacity[user] -= 1
                    if capacity[user] == 0:
                        nearest.leave(user, place_of[user])
                if remaining[rank] == 0:
                    break
        coverage = (
            state.location_model.prob(
                np.asarray(users, dtype=np.int64), task_location[np.asarray(ranks, dtype=np.int64)]
            )
            if users
            else np.zeros(0)
        )
        return build_assignment(
            tasks, order, users, ranks, coverage, np.asarray(remaining), len(tasks)
        )


class _NearestPlaces:
    """Places that still have users with room, nearest first from any task location.

    Why a spatial index: at 100,000 users there are ~20,000 distinct places, and sorting all of
    them by distance for every task location (then walking past the places that have filled)
    cost minutes per day. A k-d tree over the occupied places' 3-D unit vectors answers "the k
    nearest" in chord distance, which orders points exactly as great-circle distance does; k
    grows (x4) only while the task still needs users. The tree proposes candidates only: their
    order and ties come from the same :meth:`Locations.distance_m` values a full sort would use,
    and a tier is given out only when no place outside the candidates can be as near (the
    k-th chord distance bounds every other place's distance from below), so the tiers are
    exactly those of sorting every occupied place. When half the places in the tree have
    emptied it is rebuilt over the occupied ones, so queries do not wade through full places.
    """

    #: Relative and absolute [m] slack on the great-circle lower bound from the k-th chord
    #: distance, far above the rounding of either distance formula.
    _SLACK = (1e-9, 1e-3)

    def __init__(
        self, coordinates: Locations, places: np.ndarray, waiting: list[list[int]]
    ) -> None:
        self._coordinates = coordinates
        self._places = places
        self._waiting = waiting
        self._sphere = _unit_vectors(coordinates)  # every location code, NaN where unknown
        self._occupied = sum(1 for users in waiting if users)
        self._rebuild()

    def _rebuild(self) -> None:
        self._live = np.array([i for i, users in enumerate(self._waiting) if users], dtype=np.int64)
        self._tree = cKDTree(self._sphere[self._places[self._live]]) if len(self._live) else None

    def leave(self, user: int, place: int) -> None:
        """``user`` is full: it leaves its place's waiting list."""
        self._waiting[place].remove(user)
        if not self._waiting[place]:
            self._occupied -= 1
            if 2 * self._occupied < len(self._live):
                self._rebuild()

    def tiers(self, location: int, k: int = 8) -> Iterator[list[int]]:
        """Occupied place indices by distance from ``location``; equal distances together.

        ``k`` is the first query's size. The tree may be rebuilt between two tiers (a consumer
        fills users); tiers then resume past the last distance given out.
        """
        point = self._sphere[location]
        done = -np.inf  # distances up to here have been given out
        while self._tree is not None:
            live = self._live
            k = min(max(k, 1), len(live))
            chord, index = self._tree.query(point, k)
            candidate = live[np.atleast_1d(index)]
            distance = self._coordinates.distance_m(location, self._places[candidate])
            if k == len(live):
                bound = np.inf
            else:
                relative, absolute = self._SLACK
                kth = float(np.atleast_1d(chord)[-1])
                bound = (
                    2 * EARTH_RADIUS_M * np.arcsin(min(kth / 2, 1.0)) * (1 - relative) - absolute
                )
            by_distance = np.argsort(distance, kind="stable")
            place_order = candidate[by_distance].tolist()
            ordered = distance[by_distance].tolist()
            start = bisect.bisect_right(ordered, done)
            while start < len(ordered) and ordered[start] < bound:
                stop = bisect.bisect_right(ordered, ordered[start], lo=start)
                done = ordered[start]
                yield place_order[start:stop]
                start = stop
            if k == len(live):
                return
            k *= 4


def _unit_vectors(coordinates: Locations) -> np.ndarray:
    """(n, 3) points on the unit sphere of every location (chord order = great-circle)."""
    latitude = np.radians(coordinates.latitude)
    longitude = np.radians(coordinates.longitude)
    return np.column_stack(
        (
            np.cos(latitude) * np.cos(longitude),
            np.cos(latitude) * np.sin(longitude),
            np.sin(latitude),
        )
    )
