"""A mean with its spread: the one definition every result that ranks or compares uses.

Student t with n - 1 degrees of freedom for the 95 % confidence interval of the mean, as a
researcher reporting n repetitions expects; NaN spread for a single value, never a fake zero.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import stdtrit


def mean_ci(values: Iterable[float] | np.ndarray) -> dict[str, float]:
    """Mean, standard deviation (ddof 1), 95 % confidence interval of the mean and n.

    NaNs are dropped first. With one value the spread and interval are NaN; with none, all but
    n are.
    """
    x = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    sd = float(x.std(ddof=1)) if n > 1 else float("nan")
    # Student t's 0.975 quantile, n - 1 df: what scipy.stats.t.ppf computes, without importing
    # scipy.stats (~0.5 s of every run's start-up).
    half = float(stdtrit(n - 1, 0.975) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return {"mean": mean, "sd": sd, "ci95_low": mean - half, "ci95_high": mean + half, "n": n}
