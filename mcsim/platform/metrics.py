"""Per-policy metrics of a simulated day: the paper's measures, computed from the world's records.

Definitions (paper Section 5.2.1 and 5.3.5; ``pairs`` are assigned (user, task) copies):

* ``completion_ratio``: per recruited user, completed copies / assigned copies; the mean over
  users with at least one task (the paper's Table 3 figure).
* ``completion_ratio_active``: the same mean over recruited users who move at all that day
  (support is counted over a user's *valid* cycles, so a user absent on the test day fails
  every task whatever the policy; this column separates that from the policy's choice).
* ``completion_ratio_overall``: completed copies / assigned copies, all users pooled (large
  bundles weigh more here than in the per-user mean).
* ``fulfillment``: completed copies / published copies (sum of c_i over the day's tasks):
  what the task requesters get. The completion ratio is a ratio per *assigned* copy, so a
  policy that assigns fewer, safer copies raises it while fewer tasks get their data; the two
  together show that trade-off (an RL reward on completed copies targets fulfillment; one on
  completed copies minus a cost per assignment trades it against the completion ratio).
* ``coverage``: the coverage degree the policy claims, mean over pairs (the matched pattern's
  support for pattern policies, p(loc | u) for the probabilistic baselines; NaN-claims, e.g.
  NA's, are skipped; NaN when no pair has a claim).
* ``coverage_empirical``: p_test(loc | u) of the held-out test cycles (share of u's test cycles
  that visit the task location), mean over pairs: what the claim should have predicted.
* ``tasks_per_user``: pairs / users recruited (the paper's cost proxy; higher is cheaper).
* ``users_recruited``, ``assigned``, ``completed``, ``unassigned`` (copies never placed),
  ``iterations`` and ``alloc_seconds`` (summed over the day's decisions), ``readings``.
* ``incentive_usd``: [USD] what the recruited users are paid for their bundles, summed
  (:class:`~mcsim.platform.costs.PriceModel`: the paper's survey prices, special trips for
  copies off the user's mined patterns; NaN without the patterns);
  ``incentive_per_completed_usd``: the same per completed copy (what a useful copy costs the
  platform; NaN when none is completed); ``special_trips``: assigned copies off every
  pattern of their user (what the special-trip factor is paid for).
* ``energy_j``: [J] the phones' energy for the day's genuine readings, one per copy sensed
  at its place (:class:`~mcsim.platform.costs.EnergyModel`: sampling plus a 3G upload);
  ``energy_per_user_j``: the same per recruited user.
* Checked readings (:mod:`mcsim.sim.receiving`, :mod:`mcsim.platform.validation`):
  ``received``, copies a reading reached the platform for (sensed, or claimed by a dishonest
  user); ``fabricated``, those claimed with a forged window; ``accepted``, those the
  platform's validator accepted (all received ones without a validator);
  ``rejected_genuine``, genuine readings it rejected; ``accepted_fabricated``, forgeries it
  let through. ``completed`` is ``received`` or, under ``validation.count: accepted``,
  ``accepted``, and every ratio above follows it.

An *allocation alone* (no simulated day: the paper's Figs. 5-8, a scenario's ``mode:
allocate``) is scored against every held-out day at once (:class:`HeldOutDays`,
:func:`allocation_metrics`), with, besides the measures above:

* ``coverage_sum``: the claims summed over pairs (the paper's objective, sum of Cov: a policy
  that places fewer copies can have a higher mean claim but a lower sum);
* ``coverage_empirical``: here the share of (held-out day, pair)s whose user visits the task's
  location that day (a user absent that day counts as a miss);
* ``coverage_empirical_active``: the same share over the (day, pair)s whose user is active that
  day, the event the claims are conditioned on (support counts valid cycles only);
* ``completion_ratio``: per held-out day, the paper's per-user completed / assigned with
  "completed" = visited that day; the mean over the held-out days.
* ``fulfillment``: per held-out day, visited pairs / published copies; the mean over the
  held-out days;
* ``incentive_usd`` and ``special_trips`` as above (the allocation is what users are paid
  for); ``incentive_per_completed_usd``: the incentive over the mean number of visited pairs
  per held-out day.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcsim.mining.cycles import CycleTable
from mcsim.mining.locations import LocationModel
from mcsim.mining.patterns import PatternBase
from mcsim.platform.allocation import Assignment
from mcsim.platform.costs import ENERGY, PRICES, EnergyModel, PriceModel, special_trips
from mcsim.platform.tasks import TaskBatch

if TYPE_CHECKING:  # the world imports this package; its result type is only annotated here
    from mcsim.sim.world import SimResult

METRIC_COLUMNS = (
    "completion_ratio",
    "completion_ratio_active",
    "completion_ratio_overall",
    "fulfillment",
    "coverage",
    "coverage_empirical",
    "tasks_per_user",
    "users_recruited",
    "assigned",
    "completed",
    "unassigned",
    "iterations",
    "alloc_seconds",
    "readings",
    "incentive_usd",
    "incentive_per_completed_usd",
    "special_trips",
    "energy_j",
    "energy_per_user_j",
    "received",
    "fabricated",
    "accepted",
    "rejected_genuine",
    "accepted_fabricated",
)


def completion_ratios(user: np.ndarray, completed: np.ndarray) -> tuple[float, float]:
    """(mean over users of completed / assigned, pooled completed / assigned); NaN if no pair.

    Args:
        user: user code of each assigned copy.
        completed: whether each copy was completed.
    """
    user = np.asarray(user)
    completed = np.asarray(completed, dtype=bool)
    if len(user) == 0:
        return float("nan"), float("nan")
    users, inverse, assigned = np.unique(user, return_inverse=True, return_counts=True)
    done = np.bincount(inverse, weights=completed, minlength=len(users))
    return float(np.mean(done / assigned)), float(completed.mean())


def fulfillment(completed: int, published: int) -> float:
    """Completed copies / published copies (NaN when nothing was published)."""
    return completed / published if published else float("nan")


def coverage_sum(coverage: np.ndarray) -> float:
    """The claims summed over pairs (the paper's objective; pairs without a claim add 0)."""
    return float(np.nansum(np.asarray(coverage, dtype=np.float64)))


def mean_claim(coverage: np.ndarray) -> float:
    """Mean of the claimed coverage over pairs that carry a claim (NaN when none do)."""
    coverage = np.asarray(coverage, dtype=np.float64)
    claimed = coverage[~np.isnan(coverage)]
    return float(claimed.mean()) if len(claimed) else float("nan")


def cost_metrics(
    user: np.ndarray,
    location: np.ndarray,
    completed: float,
    patterns: PatternBase | None,
    prices: PriceModel = PRICES,
) -> dict[str, float]:
    """Incentives of assigned copies: summed, per completed copy, and the special trips.

    Args:
        user, location: user and location code of each assigned copy.
        completed: completed copies (an expectation for an allocation scored on held-out days).
        patterns: the mined patterns that tell special trips apart (None: every cost NaN, as
            an unknown route cannot be priced).
        prices: the price model.
    """
    if patterns is None:
        names = ("incentive_usd", "incentive_per_completed_usd", "special_trips")
        return dict.fromkeys(names, float("nan"))
    special = special_trips(patterns, user, location)
    paid = prices.incentive(user, special)
    return {
        "incentive_usd": paid,
        "incentive_per_completed_usd": paid / completed if completed > 0 else float("nan"),
        "special_trips": int(special.sum()),
    }


def energy_metrics(
    readings: int, steps: int, recruited: int, energy: EnergyModel = ENERGY
) -> dict[str, float]:
    """Phone energy of ``readings`` windows of ``steps`` samples: [J] in all and per
    recruited user (NaN when nobody was recruited)."""
    total = readings * energy.reading_j(steps)
    return {
        "energy_j": total,
        "energy_per_user_j": total / recruited if recruited else float("nan"),
    }


@dataclass(frozen=True, eq=False)
class DayRecord:
    """What :func:`day_metrics` reads of a simulated day, as arrays and totals.

    A :class:`~mcsim.sim.world.SimResult` holds it in data frames (:meth:`of`); the Gym env
    takes it straight from the world (:meth:`~mcsim.sim.World.record`) at the end of every
    episode, where building the frames cost more than the metrics themselves. A metric that
    reads more of the day adds a field here, filled by both :meth:`of` and the world.

    Attributes:
        user, location, coverage, completed, received, fabricated, accepted: per assigned
            copy (the result's ``pairs`` columns): user and location code, the policy's
            claim, whether it counts as completed, a reading of it was received, forged,
            accepted.
        active: bool per user: the user has at least one visit in the day.
        published: copies published during the day.
        unassigned: copies never assigned by the end of the day.
        iterations: the policy's iterations, summed over the day's decisions.
        alloc_seconds: [s] the policy's time, summed over the day's decisions.
        readings: readings generated.
        reading_steps: samples per reading window.
    """

    user: np.ndarray
    location: np.ndarray
    coverage: np.ndarray
    completed: np.ndarray
    received: np.ndarray
    fabricated: np.ndarray
    accepted: np.ndarray
    active: np.ndarray
    published: int
    unassigned: int
    iterations: int
    alloc_seconds: float
    readings: int
    reading_steps: int

    @classmethod
    def of(cls, result: SimResult) -> DayRecord:
        """The record of a day's result."""
        pairs, decisions = result.pairs, result.decisions
        completed = pairs["completed"].to_numpy()
        # A pair table without checked readings (built by hand): every completed copy was
        # received genuine and accepted.
        unchecked = {"received": completed, "fabricated": np.zeros_like(completed),
                     "accepted": completed}  # fmt: skip
        checks = {k: pairs[k].to_numpy() if k in pairs else v for k, v in unchecked.items()}
        return cls(
            user=pairs["user"].to_numpy(),
            location=pairs["location"].to_numpy(),
            coverage=pairs["coverage"].to_numpy(),
            completed=completed,
            **checks,
            active=result.active,
            published=result.published,
            unassigned=result.unassigned,
            iterations=int(decisions["iterations"].sum()),
            alloc_seconds=float(decisions["seconds"].sum()),
            readings=len(result.readings),
            reading_steps=result.readings.shape[1],
        )


def day_metrics(
    result: SimResult | DayRecord,
    test_model: LocationModel | None = None,
    *,
    patterns: PatternBase | None = None,
    prices: PriceModel = PRICES,
    energy: EnergyModel = ENERGY,
) -> dict[str, float]:
    """All metrics of one simulated day (see the module docstring for definitions).

    Args:
        result: the day's records (a :class:`DayRecord`, or the result it is read from).
        test_model: p(loc | u) of the held-out test cycles, for ``coverage_empirical``
            (None: NaN).
        patterns: the mined patterns the platform allocated with (``Knowledge.patterns``),
            which decide the special trips of the incentives (None: incentives NaN).
        prices, energy: the cost models (:mod:`mcsim.platform.costs`).
    """
    day = result if isinstance(result, DayRecord) else DayRecord.of(result)
    user, completed = day.user, day.completed
    genuine = day.received & ~day.fabricated
    per_user, overall = completion_ratios(user, completed)
    present = day.active[user] if len(user) else np.zeros(0, dtype=bool)
    active, _ = completion_ratios(user[present], completed[present])
    recruited = len(np.unique(user))
    empirical = float("nan")
    if test_model is not None and len(user):
        empirical = float(test_model.prob(user, day.location).mean())
    return {
        "completion_ratio": per_user,
        "completion_ratio_active": active,
        "completion_ratio_overall": overall,
        "fulfillment": fulfillment(int(completed.sum()), day.published),
        "coverage": mean_claim(day.coverage),
        "coverage_empirical": empirical,
        "tasks_per_user": len(user) / recruited if recruited else float("nan"),
        "users_recruited": recruited,
        "assigned": len(user),
        "completed": int(completed.sum()),
        "unassigned": day.unassigned,
        "iterations": day.iterations,
        "alloc_seconds": day.alloc_seconds,
        "readings": day.readings,
        **cost_metrics(user, day.location, completed.sum(), patterns, prices),
        # One reading per copy sensed at its place, of the world's window length.
        **energy_metrics(int(genuine.sum()), day.reading_steps, recruited, energy),
        "received": int(day.received.sum()),
        "fabricated": int(day.fabricated.sum()),
        "accepted": int(day.accepted.sum()),
        "rejected_genuine": int((genuine & ~day.accepted).sum()),
        "accepted_fabricated": int((day.fabricated & day.accepted).sum()),
    }


#: Columns of an allocation scored without a simulated day (``mode: allocate``), in order.
ALLOCATION_METRIC_COLUMNS = (
    "tasks_per_user", "coverage", "coverage_sum", "coverage_empirical",
    "coverage_empirical_active", "completion_ratio", "fulfillment", "iterations", "alloc_seconds",
    "unassigned", "assigned", "users_recruited", "incentive_usd", "incentive_per_completed_usd",
    "special_trips",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class HeldOutDays:
    """Who visited which location on each held-out day: what an allocation is scored against.

    Attributes:
        test: the held-out cycles.
        days: their calendar cycle indices (a day on which nobody moved still counts).
        n_users, n_locations: sizes of the user and location universes (codes below them).
    """

    test: CycleTable
    days: np.ndarray
    n_users: int
    n_locations: int

    def _key(self, day: np.ndarray, user: np.ndarray, location: np.ndarray) -> np.ndarray:
        return (np.asarray(day, np.int64) * self.n_users + user) * self.n_locations + location

    @cached_property
    def _visits(self) -> np.ndarray:
        """Sorted keys (day, user, location) of every held-out visit."""
        test = self.test
        lengths = np.diff(test.offsets)
        day = np.repeat(np.searchsorted(self.days, test.cycle), lengths)
        user = np.repeat(test.user, lengths).astype(np.int64)
        return np.unique(self._key(day, user, test.location))

    @cached_property
    def _active(self) -> np.ndarray:
        """Sorted keys (day, user) of every held-out valid cycle."""
        day = np.searchsorted(self.days, self.test.cycle).astype(np.int64)
        return np.unique(day * self.n_users + self.test.user)

    def visited(self, user: np.ndarray, location: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Held-out days x pairs: (the pair's user passed its location, the user was active)."""
        days = np.arange(len(self.days))[:, None]
        user = np.asarray(user, np.int64)[None, :]
        keys = self._key(days, user, np.asarray(location, np.int64)[None, :])
        return np.isin(keys, self._visits), np.isin(days * self.n_users + user, self._active)


def allocation_metrics(
    assignment: Assignment,
    tasks: TaskBatch,
    held_out: HeldOutDays,
    *,
    patterns: PatternBase | None = None,
    prices: PriceModel = PRICES,
) -> dict[str, float]:
    """The metrics of one allocation scored on every held-out day (see the module docstring;
    ``patterns`` and ``prices`` as in :func:`day_metrics`)."""
    user = assignment.user
    location = tasks.location[pd.Index(tasks.id).get_indexer(assignment.task)]
    recruited = len(np.unique(user))
    empirical = empirical_active = completion = float("nan")
    published = int(tasks.copies.sum())
    fulfilled = fulfillment(0, published) if len(held_out.days) else float("nan")
    expected_completed = float("nan")
    if len(user) and len(held_out.days):
        visited, active = held_out.visited(user, location)
        empirical = float(visited.mean())
        if active.any():
            empirical_active = float(visited[active].mean())
        completion = float(np.mean([completion_ratios(user, day)[0] for day in visited]))
        fulfilled = float(np.mean([fulfillment(int(day.sum()), published) for day in visited]))
        expected_completed = float(visited.sum(axis=1).mean())
    return {
        "tasks_per_user": len(user) / recruited if recruited else float("nan"),
        "coverage": mean_claim(assignment.coverage),
        "coverage_sum": coverage_sum(assignment.coverage),
        "coverage_empirical": empirical,
        "coverage_empirical_active": empirical_active,
        "completion_ratio": completion,
        "fulfillment": fulfilled,
        "iterations": assignment.iterations,
        "alloc_seconds": assignment.seconds,
        "unassigned": sum(assignment.unassigned.values()),
        "assigned": len(user),
        "users_recruited": recruited,
        **cost_metrics(user, location, expected_completed, patterns, prices),
    }
