"""Matplotlib figures in the style of the paper's allocation results (Wang et al. 2018).

* Figs. 5 and 6: grouped bars per task pool (one bar per policy) of tasks per user and of
  coverage (claimed, with the held-out empirical coverage as a second panel);
* Fig. 7: tasks per user and coverage against the workload cap g;
* Fig. 8: allocation iterations per task pool (g = 8).

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot), so plotting keeps
no global state and needs no display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mcsim.data.outputs import save_figure

POLICY_ORDER = ("MLP", "MDP", "IU1", "IU2", "IGA", "BGA", "NA")
_MARKERS = dict(zip(POLICY_ORDER, "osD^vxP", strict=True))


def _policies(frame: pd.DataFrame) -> list[str]:
    present = set(frame["policy"])
    return [p for p in POLICY_ORDER if p in present] + sorted(present - set(POLICY_ORDER))


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


def allocation_figures(summary: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write the Fig. 5-8 style PNGs of an ``mcsim allocate`` summary into ``out``.

    Args:
        summary: :func:`mcsim.app.experiments.summarise` output (one row per study, setting,
            policy).
        out: folder to write into.

    Returns:
        The paths written.
    """
    out = Path(out)
    preset = ", ".join(dict.fromkeys(summary["preset"]))
    pool = summary[summary["study"] == "pool"]
    workload = summary[summary["study"] == "workload"]
    efficiency = summary[summary["study"] == "efficiency"]
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
    pools = ", ".join(dict.fromkeys(workload["pool"]))
    left.set_title(f"Fig. 7 style: workload ({preset}, pool {pools})")
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
