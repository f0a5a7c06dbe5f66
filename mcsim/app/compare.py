"""Results that compare: every mean with its spread, and comparisons across runs.

A run's ``summary.csv`` holds, per (variant, policy, metric), the mean over repetitions, the
standard deviation, the 95 % confidence interval of the mean (Student t with n - 1 degrees of
freedom; NaN when n = 1) and n. :func:`compare` reads one or more results folders (their
``metrics.parquet``, where the policy name ``NA`` stays a string) and tabulates a metric by
policy (and variant, or any other column), with the same statistics, and draws it: means with
their 95 % intervals as error bars, the encoding and the seeds and repetitions in the caption.

Repetitions of one variant share days and task pools across policies (paired design); the
intervals here are per policy and ignore that pairing, so they are conservative for
differences between policies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mcsim.data.outputs import save_figure
from mcsim.errors import MCSimError
from mcsim.stats import mean_ci

STAT_COLUMNS = ("mean", "sd", "ci95_low", "ci95_high", "n")
NOT_METRICS = ("variant", "repetition", "policy", "users", "locations", "tasks", "copies", "g")


def describe(values: pd.Series) -> dict[str, float]:
    """Mean, standard deviation, 95 % confidence interval of the mean and n (NaNs dropped)."""
    return mean_ci(values.to_numpy(dtype=float))


def summary_table(
    metrics: pd.DataFrame, by: Sequence[str], measures: Sequence[str]
) -> pd.DataFrame:
    """One row per group of ``by`` and measure: the measure's statistics over the rows."""
    numeric = [m for m in measures if m in metrics and pd.api.types.is_numeric_dtype(metrics[m])]
    rows: list[dict[str, Any]] = []
    for keys, group in metrics.groupby(list(by), sort=False, dropna=False):
        named = dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True))
        rows.extend({**named, "metric": m, **describe(group[m])} for m in numeric)
    return pd.DataFrame(rows, columns=[*by, "metric", *STAT_COLUMNS])


def run_summary(
    metrics: pd.DataFrame, settings: Sequence[str], measures: Sequence[str]
) -> pd.DataFrame:
    """A run's ``summary.csv``: per (variant, its swept settings, policy, metric)."""
    by = [*dict.fromkeys(["variant", *settings]), "policy"]
    return summary_table(metrics, by, [m for m in measures if m not in by])


def read_metrics(folder: str | Path) -> pd.DataFrame:
    """A results folder's metrics with their types (``metrics.parquet``; else the CSV read
    so that the policy ``NA`` stays a string)."""
    folder = Path(folder)
    if (folder / "metrics.parquet").is_file():
        return pd.read_parquet(folder / "metrics.parquet")
    if (folder / "metrics.csv").is_file():
        return pd.read_csv(folder / "metrics.csv", keep_default_na=False, na_values=[""])
    raise MCSimError(f"{folder}: no metrics.parquet or metrics.csv; expected a results folder")


def compare(
    folders: Sequence[str | Path], metric: str, by: Sequence[str] = ("policy",)
) -> pd.DataFrame:
    """``metric`` of one or more results folders by ``by``: mean, sd, 95 % CI and n.

    A column ``run`` (the folder's name) is added when several folders are compared and may
    be used in ``by``.

    Raises:
        MCSimError: a folder without results, or an unknown metric or grouping column.
    """
    frames = []
    for folder in folders:
        frame = read_metrics(folder)
        frames.append(frame.assign(run=Path(folder).name))
    metrics = pd.concat(frames, ignore_index=True)
    by = list(by) if len(folders) == 1 or "run" in by else ["run", *by]
    for column in (*by, metric):
        if column not in metrics:
            known = ", ".join(c for c in metrics.columns if c not in ("run",))
            raise MCSimError(f"unknown column {column!r}; expected one of {known}")
    if not pd.api.types.is_numeric_dtype(metrics[metric]):
        raise MCSimError(f"{metric!r} is not a numeric metric")
    return summary_table(metrics, by, [metric]).drop(columns="metric")


def caption(folders: Sequence[str | Path]) -> str:
    """Seeds and repetitions of the compared runs (from their manifests)."""
    parts = []
    for folder in folders:
        try:
            manifest = json.loads((Path(folder) / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        parts.append(
            f"{Path(folder).name}: seed {manifest.get('seed')}, "
            f"{manifest.get('repetitions')} repetitions x {manifest.get('variants', 1)} variant(s)"
        )
    return "; ".join(parts)


def plot_comparison(
    table: pd.DataFrame, metric: str, by: Sequence[str], note: str, path: Path
) -> Path:
    """Means with 95 % confidence intervals as error bars, one bar per group."""
    labels = [" / ".join(str(row[c]) for c in by if c in row) for _, row in table.iterrows()]
    figure = Figure(figsize=(max(5.0, 0.5 * len(labels) + 2.0), 4.2))
    ax = figure.add_subplot()
    mean = table["mean"].to_numpy(float)
    low = np.nan_to_num(mean - table["ci95_low"].to_numpy(float))
    high = np.nan_to_num(table["ci95_high"].to_numpy(float) - mean)
    ax.bar(range(len(labels)), mean, yerr=[low, high], capsize=3, color="C0")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_ylabel(f"{metric} (mean)")
    ax.set_title(f"{metric} by {', '.join(by)}")
    figure.text(
        0.01, 0.01,
        f"Bars: mean over repetitions; error bars: 95 % confidence interval of the mean "
        f"(t, n - 1 df). {note}",
        fontsize=7, wrap=True,
    )  # fmt: skip
    figure.subplots_adjust(bottom=0.35)
    return save_figure(figure, path, dpi=130)
