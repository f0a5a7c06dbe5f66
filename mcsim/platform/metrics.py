"""Per-policy metrics of a simulated day: the paper's measures, computed from the world's records.

Definitions (paper Section 5.2.1 and 5.3.5; ``pairs`` are assigned (user, task) copies):

* ``completion_ratio``: per recruited user, completed copies / assigned copies; the mean over
  users with at least one task (the paper's Table 3 figure).
* ``completion_ratio_active``: the same mean over recruited users who move at all that day
  (support is counted over a user's *valid* cycles, so a user absent on the test day fails
  every task whatever the policy; this column separates that from the policy's choice).
* ``completion_ratio_overall``: completed copies / assigned copies, all users pooled (large
  bundles weigh more here than in the per-user mean).
* ``coverage``: the coverage degree the policy claims, mean over pairs (the matched pattern's
  support for pattern policies, p(loc | u) for the probabilistic baselines; NaN-claims, e.g.
  NA's, are skipped; NaN when no pair has a claim).
* ``coverage_empirical``: p_test(loc | u) of the held-out test cycles (share of u's test cycles
  that visit the task location), mean over pairs: what the claim should have predicted.
* ``tasks_per_user``: pairs / users recruited (the paper's cost proxy; higher is cheaper).
* ``users_recruited``, ``assigned``, ``completed``, ``unassigned`` (copies never placed),
  ``iterations`` and ``alloc_seconds`` (summed over the day's decisions), ``readings``.
"""

from __future__ import annotations

import numpy as np

from mcsim.mining.locations import LocationModel
from mcsim.sim.world import SimResult

METRIC_COLUMNS = (
    "completion_ratio",
    "completion_ratio_active",
    "completion_ratio_overall",
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


def mean_claim(coverage: np.ndarray) -> float:
    """Mean of the claimed coverage over pairs that carry a claim (NaN when none do)."""
    coverage = np.asarray(coverage, dtype=np.float64)
    claimed = coverage[~np.isnan(coverage)]
    return float(claimed.mean()) if len(claimed) else float("nan")


def day_metrics(result: SimResult, test_model: LocationModel | None = None) -> dict[str, float]:
    """All metrics of one simulated day (see the module docstring for definitions).

    Args:
        result: the day's records.
        test_model: p(loc | u) of the held-out test cycles, for ``coverage_empirical``
            (None: NaN).
    """
    pairs = result.pairs
    user = pairs["user"].to_numpy()
    completed = pairs["completed"].to_numpy()
    per_user, overall = completion_ratios(user, completed)
    present = result.active[user] if len(user) else np.zeros(0, dtype=bool)
    active, _ = completion_ratios(user[present], completed[present])
    recruited = len(np.unique(user))
    empirical = float("nan")
    if test_model is not None and len(pairs):
        empirical = float(test_model.prob(user, pairs["location"].to_numpy()).mean())
    return {
        "completion_ratio": per_user,
        "completion_ratio_active": active,
        "completion_ratio_overall": overall,
        "coverage": mean_claim(pairs["coverage"].to_numpy()),
        "coverage_empirical": empirical,
        "tasks_per_user": len(pairs) / recruited if recruited else float("nan"),
        "users_recruited": recruited,
        "assigned": len(pairs),
        "completed": int(completed.sum()),
        "unassigned": result.unassigned,
        "iterations": int(result.decisions["iterations"].sum()),
        "alloc_seconds": float(result.decisions["seconds"].sum()),
        "readings": len(result.readings),
    }
