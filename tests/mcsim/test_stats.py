"""The mean and its 95 % interval, against scipy.stats (the trusted implementation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mcsim.stats import mean_ci


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 100])
def test_the_interval_is_scipy_stats_for_any_n(n: int) -> None:
    """mean_ci() takes t's quantile from scipy.special (no scipy.stats import): the same."""
    x = np.random.default_rng(n).normal(0.4, 0.1, n)
    found = mean_ci(x)
    low, high = stats.t.interval(0.95, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert found["n"] == n and found["mean"] == pytest.approx(x.mean())
    assert (found["ci95_low"], found["ci95_high"]) == pytest.approx((low, high), rel=1e-12)


def test_nans_are_dropped_and_one_value_has_no_spread() -> None:
    assert mean_ci([0.1, float("nan"), 0.3])["n"] == 2
    single = mean_ci([0.3])
    assert single["mean"] == 0.3 and np.isnan(single["sd"]) and np.isnan(single["ci95_high"])
    empty = mean_ci([])
    assert empty["n"] == 0 and np.isnan(empty["mean"])
