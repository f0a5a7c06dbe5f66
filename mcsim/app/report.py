"""Figures of one ``mcsim run``: what a reader of the results folder looks at first.

Two PNGs (matplotlib's Agg backend, so runs work on headless machines):

* ``completion.png``: completion ratio per policy (mean over repetitions, error bars one
  standard deviation), one group of bars per sweep variant: the paper's Table 3 as a chart;
* ``cost_coverage.png``: tasks per user against claimed coverage per policy (the paper's two
  competing goals, Figs. 5-6), one marker per variant.

The paper-style figure set (Figs. 5-8) lives in :mod:`mcsim.app.plots`; this module only reports
a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mcsim.data.outputs import save_figure


def _variant_labels(metrics: pd.DataFrame, settings: list[str]) -> dict[int, str]:
    labels = {}
    for variant, rows in metrics.groupby("variant", sort=True):
        first = rows.iloc[0]
        text = ", ".join(
            f"{k.split('.')[-1]}={first[k]}" for k in settings if k in rows and pd.notna(first[k])
        )
        labels[int(variant)] = text or f"variant {variant}"
    return labels


def write_plots(metrics: pd.DataFrame, folder: Path, settings: Iterable[str]) -> list[str]:
    """Write the run's figures into ``folder``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(settings)
    labels = _variant_labels(metrics, settings)
    policies = list(dict.fromkeys(metrics["policy"]))
    stats = (
        metrics.groupby(["variant", "policy"], sort=False)
        .agg(
            ratio=("completion_ratio", "mean"),
            spread=("completion_ratio", "std"),
            tasks=("tasks_per_user", "mean"),
            coverage=("coverage", "mean"),
        )
        .reset_index()
    )
    stats["spread"] = stats["spread"].fillna(0.0)

    # [in] about 0.3 in per bar, within a readable page width
    fig, ax = plt.subplots(
        figsize=(min(14.0, max(6.0, 1.0 + len(policies) * (0.3 * len(labels) + 0.3))), 4.0)
    )
    width = 0.8 / max(len(labels), 1)
    for k, (variant, label) in enumerate(labels.items()):
        rows = stats[stats["variant"] == variant].set_index("policy").reindex(policies)
        positions = [i + (k - (len(labels) - 1) / 2) * width for i in range(len(policies))]
        ax.bar(positions, rows["ratio"], width, yerr=rows["spread"], capsize=2, label=label)
    ax.set_xticks(range(len(policies)), policies)
    ax.set_ylabel("completion ratio (mean over users)")
    ax.set_ylim(0, 1)
    if len(labels) > 1:
        ax.legend(fontsize="small", ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    ax.set_title("Task completion on the simulated days")
    save_figure(fig, folder / "completion.png", bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    markers = "osD^v<>PX*"
    for k, variant in enumerate(labels):
        rows = stats[stats["variant"] == variant]
        for i, policy in enumerate(policies):
            row = rows[rows["policy"] == policy]
            ax.scatter(
                row["tasks"],
                row["coverage"],
                marker=markers[k % len(markers)],
                color=f"C{i}",
                label=policy if k == 0 else None,
            )
    ax.set_xlabel("tasks per recruited user (higher: cheaper)")
    ax.set_ylabel("claimed coverage degree per pair")
    ax.legend(fontsize="small")
    ax.set_title("Cost against coverage")
    fig.tight_layout()
    save_figure(fig, folder / "cost_coverage.png")
    return ["completion.png", "cost_coverage.png"]
