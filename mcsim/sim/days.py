"""Simulated days: every user's time-resolved visits for one cycle, the world's mobility input.

A :class:`DayPlan` holds the visits of all users for one simulated cycle in flat CSR arrays
(user ``u`` owns ``offsets[u]:offsets[u + 1]``), the same layout as
:class:`~mcsim.mining.cycles.CycleTable`, so a replayed test cycle, a pattern-driven day and a synthetic
ground-truth day all reach the SimPy world in one shape and 100,000 users cost a few arrays.

Invariants (enforced by :meth:`DayPlan.build`): within a user, visits are in arrival order and
do not overlap (a departure later than the next arrival is clipped to it), every time lies in
[0, ``length_s``], and ``departure >= arrival``. Non-overlap makes "the user's current visit"
well defined, which the sensing rule in :mod:`mcsim.sim.world` relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcsim.mining.cycles import CycleTable


@dataclass(frozen=True, eq=False)
class DayPlan:
    """All users' visits during one simulated cycle.

    Attributes:
        offsets: int64 (n_users + 1,); user ``u`` owns visits ``offsets[u]:offsets[u + 1]``.
        location: int32 location code of each visit.
        arrival: float64 arrival [s from cycle start].
        departure: float64 departure [s from cycle start].
        length_s: length of the simulated cycle [s].
        label: where the day comes from (e.g. ``replay cycle 20458``), for logs and reports.
    """

    offsets: np.ndarray
    location: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    length_s: float
    label: str = ""

    @classmethod
    def build(
        cls,
        user: np.ndarray,
        location: np.ndarray,
        arrival: np.ndarray,
        departure: np.ndarray,
        *,
        n_users: int,
        length_s: float,
        label: str = "",
    ) -> DayPlan:
        """Sort, clip and pack visits given as parallel arrays (one entry per visit).

        Raises:
            ValueError: user codes outside ``0..n_users - 1`` or mismatched lengths.
        """
        user = np.asarray(user, dtype=np.int64)
        n = len(user)
        if not len(location) == len(arrival) == len(departure) == n:
            raise ValueError("visit arrays differ in length")
        if n and (user.min() < 0 or user.max() >= n_users):
            raise ValueError(f"visit user codes must lie in 0..{n_users - 1}")
        arrival = np.clip(np.asarray(arrival, dtype=np.float64), 0.0, length_s)
        departure = np.clip(np.asarray(departure, dtype=np.float64), arrival, length_s)
        order = np.lexsort((departure, arrival, user))
        user, arrival, departure = user[order], arrival[order], departure[order]
        location = np.asarray(location, dtype=np.int32)[order]
        # No overlap within a user: a departure after the next arrival is clipped to it.
        same_user_next = np.zeros(n, dtype=bool)
        same_user_next[:-1] = user[1:] == user[:-1]
        next_arrival = np.append(arrival[1:], length_s)
        departure = np.where(same_user_next, np.minimum(departure, next_arrival), departure)
        offsets = np.searchsorted(user, np.arange(n_users + 1)).astype(np.int64)
        return cls(offsets, location, arrival, departure, float(length_s), label)

    @classmethod
    def from_cycles(cls, cycles: CycleTable, rows: np.ndarray, *, label: str = "") -> DayPlan:
        """The plan made of the given cycle rows (at most one per user) of a cycle table."""
        rows = np.asarray(rows, dtype=np.int64)
        users = cycles.user[rows]
        if len(np.unique(users)) != len(users):
            raise ValueError("a day plan takes at most one cycle per user")
        sizes = np.diff(cycles.offsets)[rows]
        elements = np.repeat(cycles.offsets[rows] - np.cumsum(sizes) + sizes, sizes) + np.arange(
            int(sizes.sum())
        )
        return cls.build(
            np.repeat(users, sizes),
            cycles.location[elements],
            cycles.arrival[elements],
            cycles.departure[elements],
            n_users=len(cycles.users),
            length_s=cycles.options.length_s,
            label=label,
        )

    @property
    def n_users(self) -> int:
        return len(self.offsets) - 1

    def __len__(self) -> int:
        """Number of visits."""
        return len(self.location)

    def senses(self, user: int, location: int, start_s: float, end_s: float) -> bool:
        """Whether ``user`` can sense at ``location`` inside the window [start_s, end_s] [s]:
        it has a visit there whose closed interval meets the window (the world's sensing rule,
        :mod:`mcsim.sim.world`, which schedules the sensing event; here a yes/no answer, e.g.
        to credit an RL agent's assignment at the step that made it)."""
        lo, hi = self.offsets[user], self.offsets[user + 1]
        at = self.location[lo:hi] == location
        meets = (self.arrival[lo:hi] <= end_s) & (self.departure[lo:hi] >= start_s)
        return bool((at & meets).any())  # the method: np.any's dispatch costs a third of a call

    def user_of_visit(self) -> np.ndarray:
        """User code of every visit."""
        return np.repeat(np.arange(self.n_users), np.diff(self.offsets))

    def visits(self, user: int) -> list[tuple[int, float, float]]:
        """(location, arrival, departure) of one user's visits, for tests and examples."""
        lo, hi = self.offsets[user], self.offsets[user + 1]
        return list(
            zip(
                self.location[lo:hi].tolist(),
                self.arrival[lo:hi].tolist(),
                self.departure[lo:hi].tolist(),
                strict=True,
            )
        )
