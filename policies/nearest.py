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

from collections.abc import Iterator

import numpy as np

from mcsim.allocation import Assignment, PlatformState
from mcsim.locations import Locations
from mcsim.tasks import TaskBatch
from policies.base import AllocationPolicy, build_assignment, held_ranks, publish_order


class NA(AllocationPolicy):
    """Nearest assignment: each task's copies go to the nearest users with room.

    Users are grouped by their last location, so the distance work is one row per distinct
    task location over the distinct user locations, not one per (task, user) pair.
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
            for tier in nearest.tiers(location):
                candidates = sorted(u for place in tier for u in waiting[place]
                                    if rank not in held.get(u, ()))
                for user in candidates[: remaining[rank]]:
                    users.append(user)
                    ranks.append(rank)
                    remaining[rank] -= 1
                    capacity[user] -= 1
                    if capacity[user] == 0:
                        nearest.leave(user, place_of[user])
                if remaining[rank] == 0:
                    break
        coverage = (state.location_model.prob(np.asarray(users, dtype=np.int64),
                                              task_location[np.asarray(ranks, dtype=np.int64)])
                    if users else np.zeros(0))
        return build_assignment(tasks, order, users, ranks, coverage, np.asarray(remaining),
                                len(tasks))


class _NearestPlaces:
    """Places that still have users with room, nearest first from any task location.

    The order from a location is computed once and cached; when half the places it covered
    have emptied, the cache is rebuilt over the places still occupied, so a late task does not
    walk past every full place (with scarce capacity that walk dominated the run time).
    """

    def __init__(self, coordinates: Locations, places: np.ndarray,
                 waiting: list[list[int]]) -> None:
        self._coordinates = coordinates
        self._places = places
        self._waiting = waiting
        self._occupied = sum(1 for users in waiting if users)
        self._rebuild()

    def _rebuild(self) -> None:
        self._live = np.array([i for i, users in enumerate(self._waiting) if users],
                              dtype=np.int64)
        self._cache: dict[int, tuple[list[int], list[float]]] = {}

    def leave(self, user: int, place: int) -> None:
        """``user`` is full: it leaves its place's waiting list."""
        self._waiting[place].remove(user)
        if not self._waiting[place]:
            self._occupied -= 1
            if 2 * self._occupied < len(self._live):
                self._rebuild()

    def tiers(self, location: int) -> Iterator[list[int]]:
        """Occupied place indices by distance from ``location``; equal distances together."""
        if location not in self._cache:
            distance = self._coordinates.distance_m(location, self._places[self._live])
            by_distance = np.argsort(distance, kind="stable")
            self._cache[location] = (self._live[by_distance].tolist(),
                                     distance[by_distance].tolist())
        place_order, distance = self._cache[location]
        start = 0
        while start < len(place_order):
            stop = start + 1
            while stop < len(place_order) and distance[stop] == distance[start]:
                stop += 1
            yield place_order[start:stop]
            start = stop
