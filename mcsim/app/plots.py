"""Figures of a results folder, on matplotlib's Figure API (no pyplot, no backend switch).

Figures are built on :class:`matplotlib.figure.Figure` directly, so plotting keeps no global
state, needs no display and never calls ``matplotlib.use`` at import. :func:`write_plots` picks
the set for the run's mode:

* ``mode: simulate``: ``completion.png``, completion ratio per policy (mean over repetitions,
  error bars one standard deviation), one group of bars per sweep variant: the paper's Table 3
  as a chart; ``cost_coverage.png``, tasks per user against claimed coverage per policy (the
  paper's two competing goals), one marker per variant; ``tradeoff.png``, fulfilment
  (completed / published copies) against completion ratio (completed / assigned, per user)
  per policy with 95 % confidence intervals on both axes and the Pareto front (the policies no
  other beats on both): what a requester gets against how well assignments pay off;
  ``incentive.png``, incentive paid per completed copy (:mod:`mcsim.platform.costs`) against
  completion ratio, the same way, the front being the policies no other beats at completing
  more for less; with checked readings (a validator or dishonest users), ``data_quality.png``,
  the copies each policy's users sent per day, split into accepted and rejected, genuine and
  forged (:mod:`mcsim.sim.receiving`);
* ``mode: allocate`` (the paper's Figs. 5-8, Wang et al. 2018): ``fig5_tasks_per_user.png`` and
  ``fig6_coverage.png``, grouped bars per task pool (one bar per policy) at g = 6;
  ``fig7_workload.png``, tasks per user and coverage against g for one pool (40-78);
  ``fig8_iterations.png``, allocation iterations per pool at the largest g (8).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mcsim.app.compare import describe
from mcsim.data.outputs import save_figure
from policies import BUILTIN_POLICIES

_MARKERS = dict(zip(BUILTIN_POLICIES, "osD^vxP*", strict=True))
POOL_G = 6  # g of the task-pool figures (the paper's default)
WORKLOAD_POOL = "40-78"  # pool of the workload figure (the paper's Fig. 7)


def write_plots(
    metrics: pd.DataFrame,
    folder: Path,
    settings: Iterable[str],
    *,
    mode: str,
    title: str,
    checked: bool = False,
) -> list[str]:
    """Write the run's figures into ``folder``; returns their file names.

    ``checked``: the run judges its readings or has dishonest users (adds the data-quality
    figure).
    """
    if mode == "allocate":
        return [p.name for p in allocation_figures(allocation_summary(metrics), folder, title)]
    names = _run_figures(metrics, folder, list(settings))
    if checked:
        _data_quality_figure(metrics, _variant_labels(metrics, list(settings)), folder)
        names.append("data_quality.png")
    return names


def _variant_labels(metrics: pd.DataFrame, settings: list[str]) -> dict[int, str]:
    labels: dict[int, str] = {}
    for variant, rows in metrics.groupby("variant", sort=True):
        first = rows.iloc[0]
        text = ", ".join(
            f"{k.split('.')[-1]}={first[k]}" for k in settings if k in rows and pd.notna(first[k])
        )
        labels[int(str(variant))] = text or f"variant {variant}"
    return labels


def _run_figures(metrics: pd.DataFrame, folder: Path, settings: list[str]) -> list[str]:
    labels = _variant_labels(metrics, settings)
    policies = list(dict.fromkeys(metrics["policy"]))
    per_bar: list[dict[str, Any]] = []
    for (variant, policy), group in metrics.groupby(["variant", "policy"], sort=False):
        ratio = describe(group["completion_ratio"])
        per_bar.append({
            "variant": variant, "policy": policy, "ratio": ratio["mean"],
            "spread": ratio["ci95_high"] - ratio["mean"], "n": ratio["n"],
            "tasks": group["tasks_per_user"].mean(), "coverage": group["coverage"].mean(),
        })  # fmt: skip
    stats = pd.DataFrame(per_bar)
    stats["spread"] = stats["spread"].fillna(0.0)
    n = int(stats["n"].min()) if len(stats) else 0

    # [in] about 0.3 in per bar, within a readable page width
    figure = Figure(
        figsize=(min(14.0, max(6.0, 1.0 + len(policies) * (0.3 * len(labels) + 0.3))), 4.0)
    )
    ax = figure.add_subplot()
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
    ax.set_xlabel(
        f"Bars: mean over the repetitions (n = {n} days per bar); error bars: 95 % confidence "
        "interval of the mean (t, n - 1 df; none when n = 1).",
        fontsize=7,
    )
    save_figure(figure, folder / "completion.png", bbox_inches="tight")

    figure = Figure(figsize=(6.0, 4.5))
    ax = figure.add_subplot()
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
    if len(labels) > 1:  # marker shapes are variants: say which is which
        for k, label in enumerate(labels.values()):
            ax.scatter([], [], marker=markers[k % len(markers)], color="0.4", label=label)
    ax.set_xlabel("tasks per recruited user (higher: cheaper)")
    ax.set_ylabel("claimed coverage degree per pair")
    ax.legend(fontsize="small", title="colour: policy; shape: variant" if len(labels) > 1 else None)
    ax.set_title("Cost against coverage")
    _save(figure, folder / "cost_coverage.png")
    _tradeoff_figure(metrics, labels, folder / "tradeoff.png")
    _incentive_figure(metrics, labels, folder / "incentive.png")
    return ["completion.png", "cost_coverage.png", "tradeoff.png", "incentive.png"]


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows no other row beats on both ``x`` and ``y`` (higher is better), sorted by x."""
    values = points[[x, y]].to_numpy(dtype=float)
    dominated = [
        bool(np.any(np.all(values >= v, axis=1) & np.any(values > v, axis=1))) for v in values
    ]
    return points[~np.array(dominated, dtype=bool)].sort_values(x)


def _ci_points(metrics: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per (variant, policy): the means of ``x`` and ``y`` over repetitions, the half-widths
    of their 95 % confidence intervals (0 where n = 1) and n."""
    rows = []
    for (variant, policy), group in metrics.groupby(["variant", "policy"], sort=False):
        across, up = describe(group[x]), describe(group[y])
        rows.append({"variant": variant, "policy": policy, "x": across["mean"],
                     "dx": across["ci95_high"] - across["mean"], "y": up["mean"],
                     "dy": up["ci95_high"] - up["mean"], "n": across["n"]})  # fmt: skip
    return pd.DataFrame(rows).fillna({"dx": 0.0, "dy": 0.0})


def _ci_scatter(
    metrics: pd.DataFrame, labels: dict[int, str], x: str, y: str, *, lower_y_better: bool
) -> tuple[Figure, Axes, int]:
    """Means of ``y`` against ``x`` per (variant, policy) with 95 % CIs on both axes (colour:
    policy; shape: variant) and each variant's Pareto front (higher ``x``, and higher or, with
    ``lower_y_better``, lower ``y``). Returns the figure, its axes and the smallest n."""
    stats = _ci_points(metrics, x, y)
    policies = list(dict.fromkeys(metrics["policy"]))
    markers = "osD^v<>PX*"
    figure = Figure(figsize=(6.5, 4.8))
    ax = figure.add_subplot()
    for k, variant in enumerate(labels):
        mine = stats[stats["variant"] == variant]
        for i, policy in enumerate(policies):
            row = mine[mine["policy"] == policy]
            ax.errorbar(row["x"], row["y"], xerr=row["dx"], yerr=row["dy"], capsize=2,
                        marker=markers[k % len(markers)], color=f"C{i % 10}", linestyle="none",
                        label=policy if k == 0 else None)  # fmt: skip
        ranked = mine.dropna(subset=["x", "y"]).assign(rank_y=lambda f: f["y"])
        if lower_y_better:
            ranked["rank_y"] = -ranked["y"]
        front = pareto_front(ranked, "x", "rank_y")
        # Ringed too: a front of one policy is a point, which a line alone would not show.
        ax.plot(front["x"], front["y"], color="0.5", linewidth=0.8, linestyle="--", marker="o",
                markersize=13, markerfacecolor="none",
                label="Pareto front" if k == 0 else None)  # fmt: skip
    if len(labels) > 1:
        for k, label in enumerate(labels.values()):
            ax.scatter([], [], marker=markers[k % len(markers)], color="0.4", label=label)
    ax.legend(fontsize="small", title="colour: policy; shape: variant" if len(labels) > 1 else None)
    return figure, ax, int(stats["n"].min()) if len(stats) else 0


def _tradeoff_figure(metrics: pd.DataFrame, labels: dict[int, str], path: Path) -> None:
    """Fulfilment against completion ratio per (variant, policy), 95 % CIs, Pareto front."""
    figure, ax, n = _ci_scatter(
        metrics, labels, "completion_ratio", "fulfillment", lower_y_better=False
    )
    ax.set_xlabel(
        "completion ratio (completed / assigned copies, mean over recruited users)\n"
        f"Points: means over n = {n} days; bars: 95 % confidence intervals of the means "
        "(t, n - 1 df);\nringed, dashed: the Pareto front (no policy higher on both).",
        fontsize=8,
    )
    ax.set_ylabel("fulfilment (completed / published copies)")
    ax.set_title("What requesters get against how well assignments pay off")
    _save(figure, path)


def _incentive_figure(metrics: pd.DataFrame, labels: dict[int, str], path: Path) -> None:
    """Incentive per completed copy against completion ratio per (variant, policy)."""
    figure, ax, n = _ci_scatter(
        metrics, labels, "completion_ratio", "incentive_per_completed_usd", lower_y_better=True
    )
    ax.set_xlabel(
        "completion ratio (completed / assigned copies, mean over recruited users)\n"
        f"Points: means over n = {n} days of each day's incentive / completed copies; bars: "
        "95 % confidence\nintervals of the means (t, n - 1 df); ringed, dashed: the Pareto "
        "front (no policy completes more for less).\nPrices: the survey of Wang et al. 2018 "
        "(bundle prices; copies off the user's patterns x1.885).",
        fontsize=8,
    )
    ax.set_ylabel("incentive per completed copy [USD]")
    ax.set_title("What a completed copy costs in incentives")
    _save(figure, path)


#: The data-quality figure's bars: name -> how a day's count is read off its metrics row.
_QUALITY_BARS: dict[str, Any] = {
    "genuine, accepted": lambda m: m["accepted"] - m["accepted_fabricated"],
    "genuine, rejected": lambda m: m["rejected_genuine"],
    "forged, accepted": lambda m: m["accepted_fabricated"],
    "forged, rejected": lambda m: m["fabricated"] - m["accepted_fabricated"],
}


def _data_quality_figure(metrics: pd.DataFrame, labels: dict[int, str], folder: Path) -> None:
    """Per policy, the copies its users sent per day, by (genuine or forged, accepted or
    rejected): mean over the days, 95 % CI; one panel per variant."""
    policies = list(dict.fromkeys(metrics["policy"]))
    figure = Figure(figsize=(max(6.0, 1.0 + 0.9 * len(policies)), 3.2 * len(labels) + 0.8))
    axes = figure.subplots(len(labels), 1, squeeze=False)[:, 0]
    width = 0.8 / len(_QUALITY_BARS)
    n = int(metrics.groupby(["variant", "policy"]).size().min())  # days per bar
    for ax, (variant, label) in zip(axes, labels.items(), strict=True):
        mine = metrics[metrics["variant"] == variant]
        for k, (name, count) in enumerate(_QUALITY_BARS.items()):
            stats = [describe(count(mine[mine["policy"] == p])) for p in policies]
            means = [st["mean"] for st in stats]
            spread = [0.0 if pd.isna(st["ci95_high"]) else st["ci95_high"] - st["mean"]
                      for st in stats]  # fmt: skip
            positions = [i + (k - 1.5) * width for i in range(len(policies))]
            ax.bar(positions, means, width, yerr=spread, capsize=2, label=name,
                   color=("C2", "C1", "C3", "0.6")[k])  # fmt: skip
        ax.set_xticks(range(len(policies)), policies)
        ax.set_ylabel("copies per day")
        ax.set_title(label if len(labels) > 1 else "What the platform received, and kept")
    axes[0].legend(fontsize="small", ncols=2)
    axes[-1].set_xlabel(
        f"Bars: mean over n = {n} days; error bars: 95 % confidence interval of the mean (t, "
        "n - 1 df).\nGenuine: sensed at the place; forged: claimed by a dishonest user "
        "without going (noise, resting or replayed windows).\nAccepted: the validator found "
        "the window real, fit for the task's context and not a replay.",
        fontsize=7,
    )
    _save(figure, folder / "data_quality.png")


def allocation_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Means over repetitions per (variant, policy) of an allocate-mode run, with its pool
    (``tasks-copies``), g and the number of repetitions."""
    numeric = [
        c
        for c in metrics.columns
        if c not in ("variant", "repetition", "policy")
        and pd.api.types.is_numeric_dtype(metrics[c])
    ]
    keys = ["variant", "policy"]
    summary = metrics.groupby(keys, sort=False)[numeric].mean().reset_index()
    summary["repetitions"] = metrics.groupby(keys, sort=False).size().to_numpy()
    summary.insert(
        2,
        "pool",
        [
            f"{t:d}-{c:d}"
            for t, c in zip(
                summary["tasks"].astype(int), summary["copies"].astype(int), strict=True
            )
        ],
    )
    return summary


def _policies(frame: pd.DataFrame) -> list[str]:
    present = set(frame["policy"])
    return [p for p in BUILTIN_POLICIES if p in present] + sorted(present - set(BUILTIN_POLICIES))


def _bars(ax: Axes, frame: pd.DataFrame, metric: str, ylabel: str) -> None:
    """One group of bars per task pool, one bar per policy (paper Figs. 5, 6, 8)."""
    pools = list(dict.fromkeys(frame["pool"]))
    policies = _policies(frame)
    width = 0.8 / len(policies)
    x = np.arange(len(pools))
    for k, policy in enumerate(policies):
        values = (
            frame[frame["policy"] == policy]
            .set_index("pool")[metric]
            .reindex(pools)
            .to_numpy(dtype=float)
        )
        ax.bar(x + (k - (len(policies) - 1) / 2) * width, values, width, label=policy)
    top = np.nanmax(frame[metric].to_numpy(dtype=float), initial=0.0)
    if top > 0:
        ax.set_ylim(0, max(top * 1.35, ax.get_ylim()[1]))  # headroom for the legend
    ax.set_xticks(x, pools)
    ax.set_xlabel("task pool (tasks-measurements)")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def _lines(ax: Axes, frame: pd.DataFrame, metric: str, ylabel: str) -> None:
    """One line per policy against g (paper Fig. 7)."""
    for policy in _policies(frame):
        rows = frame[frame["policy"] == policy].sort_values("g")
        ax.plot(rows["g"], rows[metric], marker=_MARKERS.get(policy, "o"), label=policy)
    ax.set_xticks(sorted(frame["g"].unique()))
    ax.set_xlabel("workload cap g (tasks per user)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    return save_figure(figure, path, dpi=150)


def allocation_figures(summary: pd.DataFrame, out: str | Path, preset: str) -> list[Path]:
    """Write the Fig. 5-8 style PNGs of an allocate-mode summary into ``out``.

    Args:
        summary: :func:`allocation_summary` of the run (one row per variant and policy).
        out: folder to write into.
        preset: what the population is, for the titles.

    Returns:
        The paths written.
    """
    out = Path(out)
    g_values = sorted(summary["g"].unique())
    pool_g = POOL_G if POOL_G in g_values else g_values[len(g_values) // 2]
    pool = summary[summary["g"] == pool_g]
    pools = list(dict.fromkeys(summary["pool"]))
    workload_pool = WORKLOAD_POOL if WORKLOAD_POOL in pools else pools[len(pools) // 2]
    workload = summary[summary["pool"] == workload_pool]
    efficiency = summary[summary["g"] == g_values[-1]]
    g_pool = ", ".join(str(g) for g in dict.fromkeys(pool["g"]))
    written = []

    figure = Figure(figsize=(8, 4))
    _bars(figure.add_subplot(), pool, "tasks_per_user", "average assigned tasks per user")
    figure.axes[0].set_title(f"Fig. 5 style: tasks per user ({preset}, g = {g_pool})")
    figure.axes[0].legend(ncols=4, fontsize="small", loc="upper left")
    written.append(_save(figure, out / "fig5_tasks_per_user.png"))

    figure = Figure(figsize=(12, 4))
    claimed, empirical = figure.subplots(1, 2, sharey=True)
    _bars(claimed, pool, "coverage", "average coverage degree per task copy")
    claimed.set_title(f"Fig. 6 style: claimed coverage ({preset})")
    _bars(empirical, pool, "coverage_empirical", "share of copies whose user passes by")
    empirical.set_title("empirical coverage on held-out days")
    empirical.tick_params(labelleft=True)
    claimed.legend(ncols=4, fontsize="small", loc="upper left")
    written.append(_save(figure, out / "fig6_coverage.png"))

    figure = Figure(figsize=(12, 4))
    left, right = figure.subplots(1, 2)
    _lines(left, workload, "tasks_per_user", "average assigned tasks per user")
    _lines(right, workload, "coverage", "average coverage degree per task copy")
    shown = ", ".join(dict.fromkeys(workload["pool"]))
    left.set_title(f"Fig. 7 style: workload ({preset}, pool {shown})")
    right.set_title("coverage against g")
    left.legend(ncols=2, fontsize="small")
    written.append(_save(figure, out / "fig7_workload.png"))

    figure = Figure(figsize=(8, 4))
    g_eff = ", ".join(str(g) for g in dict.fromkeys(efficiency["g"]))
    _bars(figure.add_subplot(), efficiency, "iterations", "allocation iterations")
    figure.axes[0].set_title(f"Fig. 8 style: allocation iterations ({preset}, g = {g_eff})")
    figure.axes[0].legend(ncols=4, fontsize="small", loc="upper left")
    written.append(_save(figure, out / "fig8_iterations.png"))
    return written
