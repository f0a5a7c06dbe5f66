"""Tests of generators/realism.py: the realism report of synthetic traces and virtual users."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from generators.mobility import CampusConfig, generate_campus
from generators.realism import observe, realism_report, virtual_population


def test_realism_report_writes_summary_and_figures(tmp_path: Path) -> None:
    campus = generate_campus(CampusConfig(n_users=8, n_days=10), seed=1)
    real = observe(campus.trace, str(campus.config.timezone))
    virtual = virtual_population(real, 12, seed=2)
    assert len(virtual.cycles.users) == 12
    assert set(virtual.cycles.location) <= set(real.cycles.location)  # same places
    summary = realism_report({"campus": real, "campus+virtual": virtual}, tmp_path,
                             minsups=(0.7, 0.9))  # fmt: skip
    assert list(summary.index) == ["campus", "campus+virtual"]
    assert cast(int, summary.loc["campus+virtual", "users"]) <= 12
    assert (summary["locations_per_day_mean"] > 1).all()
    assert (summary["top1_share"] > summary["top3_share"] / 3).all()  # home dominates
    assert (summary["gyration_km_median"] > 0).all()
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
