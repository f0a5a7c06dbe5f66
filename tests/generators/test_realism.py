"""Tests of generators/realism.py: the realism report of synthetic and extended traces."""

from __future__ import annotations

from pathlib import Path

from generators.mobility import CampusConfig, extend_trace, generate_campus
from generators.realism import realism_report


def test_realism_report_writes_summary_and_figures(tmp_path: Path) -> None:
    campus = generate_campus(CampusConfig(n_users=8, n_days=10), seed=1)
    traces = {"campus": campus.trace, "campus+virtual": extend_trace(campus.trace, 4, seed=2)}
    summary = realism_report(traces, tmp_path, minsups=(0.7, 0.9))
    assert list(summary.index) == ["campus", "campus+virtual"]
    assert (summary["locations_per_day_mean"] > 1).all()
    assert (summary["top1_share"] > summary["top3_share"] / 3).all()  # home dominates
    assert (summary["patterns_total@0.7"] >= summary["patterns_intra_closed@0.7"]).all()
    assert (summary["patterns_intra_closed@0.7"] >= summary["patterns_inter_closed@0.7"]).all()
    assert (summary["patterns_total@0.7"] >= summary["patterns_total@0.9"]).all()
    for name in (
        "summary.csv",
        "patterns.csv",
        "locations_per_day.png",
        "rank_frequency.png",
        "radius_of_gyration.png",
        "patterns_vs_minsup.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
