"""Figures of a results folder (mcsim.app.plots): the simulate and allocate sets written as
PNG files from small hand-made metrics tables, and the allocate-mode summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mcsim.app.plots import allocation_summary, pareto_front, write_plots

PNG = b"\x89PNG\r\n\x1a\n"


def simulate_metrics() -> pd.DataFrame:
    """Two variants (tasks.count 20, 30) x two repetitions x two policies."""
    rows = []
    for variant, count in enumerate((20, 30)):
        for repetition in range(2):
            for k, policy in enumerate(("MDP", "NA")):
                rows.append(
                    {
                        "variant": variant,
                        "repetition": repetition,
                        "policy": policy,
                        "tasks.count": count,
                        "completion_ratio": 0.2 + 0.1 * k + 0.05 * repetition,
                        "fulfillment": 0.3 - 0.1 * k + 0.02 * repetition,
                        "tasks_per_user": 1.0 + k + variant,
                        "coverage": 0.5 + 0.1 * variant,
                        "incentive_per_completed_usd": 12.0 + 8.0 * k - repetition,
                    }
                )
    return pd.DataFrame(rows)


def allocate_metrics() -> pd.DataFrame:
    """Pools 20-38 and 40-78 at g = 4 and 6 (four variants), two policies; variant 0's MLP has
    three repetitions, its NA one, every other (variant, policy) two."""
    grid = [(20, 38, 4), (20, 38, 6), (40, 78, 4), (40, 78, 6)]
    repetitions = {(0, "MLP"): 3, (0, "NA"): 1}
    rows = [
        {
            "variant": variant,
            "repetition": repetition,
            "policy": policy,
            "tasks": tasks,
            "copies": copies,
            "g": g,
            "mobility": "replay",  # text: not averaged
            "tasks_per_user": float(variant + repetition),
            "coverage": 0.5,
            "coverage_empirical": 0.25 * (policy == "MLP"),
            "iterations": 10 * variant + repetition,
        }
        for variant, (tasks, copies, g) in enumerate(grid)
        for policy in ("MLP", "NA")
        for repetition in range(repetitions.get((variant, policy), 2))
    ]
    return pd.DataFrame(rows)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG, path.name
    assert data[12:16] == b"IHDR" and len(data) > 1000


def test_simulate_set(tmp_path: Path) -> None:
    names = write_plots(
        simulate_metrics(), tmp_path, ["tasks.count"], mode="simulate", title="campus"
    )
    assert names == ["completion.png", "cost_coverage.png", "tradeoff.png", "incentive.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        assert_png(tmp_path / name)


def test_simulate_set_with_one_variant_and_one_repetition(tmp_path: Path) -> None:
    one = simulate_metrics().query("variant == 0 and repetition == 0")
    names = write_plots(one, tmp_path, [], mode="simulate", title="campus")
    for name in names:
        assert_png(tmp_path / name)


def test_allocate_set(tmp_path: Path) -> None:
    names = write_plots(allocate_metrics(), tmp_path, ["g"], mode="allocate", title="wtd")
    assert names == [
        "fig5_tasks_per_user.png",
        "fig6_coverage.png",
        "fig7_workload.png",
        "fig8_iterations.png",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        assert_png(tmp_path / name)


def test_allocation_summary_means_and_repetitions() -> None:
    summary = allocation_summary(allocate_metrics())
    assert list(summary.columns[:3]) == ["variant", "policy", "pool"]
    assert "mobility" not in summary.columns and "repetition" not in summary.columns
    assert len(summary) == 8  # (variant, policy) in first-seen order
    assert list(zip(summary["variant"], summary["policy"], strict=True))[:3] == [
        (0, "MLP"),
        (0, "NA"),
        (1, "MLP"),
    ]
    assert summary["repetitions"].tolist() == [3, 1, 2, 2, 2, 2, 2, 2]
    assert summary["pool"].tolist() == ["20-38"] * 4 + ["40-78"] * 4
    # tasks_per_user = variant + repetition: mean variant + (repetitions - 1) / 2.
    assert summary["tasks_per_user"].tolist() == [1.0, 0.0, 1.5, 1.5, 2.5, 2.5, 3.5, 3.5]
    assert summary["iterations"].tolist() == [1.0, 0.0, 10.5, 10.5, 20.5, 20.5, 30.5, 30.5]
    assert summary["coverage_empirical"].tolist() == [0.25, 0.0] * 4
    assert summary["g"].tolist() == [4, 4, 6, 6, 4, 4, 6, 6]


def test_pareto_front_keeps_the_rows_nobody_beats_on_both() -> None:
    points = pd.DataFrame(
        {"policy": list("ABCDE"), "x": [0.3, 0.4, 0.2, 0.4, 0.1], "y": [0.3, 0.2, 0.1, 0.25, 0.35]}
    )
    front = pareto_front(points, "x", "y")
    # B (0.4, 0.2) is beaten by D (0.4, 0.25); C by A; E has the highest y.
    assert list(front["policy"]) == ["E", "A", "D"]
