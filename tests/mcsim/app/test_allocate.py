"""``mcsim allocate`` (the paper's Figs. 5-8 as the shipped scenario ``paper_figs5_8`` in
``mode: allocate``) end to end, one repetition: files, columns and the invariants the figures
rest on. The held-out scoring's hand-made oracle is in tests/mcsim/platform/test_metrics.py."""

from __future__ import annotations

import pandas as pd
import pytest

from mcsim.app.cli import main
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.platform.metrics import ALLOCATION_METRIC_COLUMNS

POLICIES = {"MLP", "MDP", "IU1", "IU2", "IGA", "BGA", "NA"}


def test_the_shipped_grid_holds_the_papers_pools_and_workloads() -> None:
    file = load_scenario(shipped_scenario("paper_figs5_8"))
    pools = {(v.scenario.tasks.count, v.scenario.tasks.copies) for v in file.variants}
    assert pools == {(20, 38), (30, 65), (40, 78), (65, 150), (65, 200)}
    assert {v.scenario.g for v in file.variants} == {4, 6, 8}
    # 65 x 3 = 195 < 200: that pool alone allows 4 copies per task.
    caps = {
        (v.scenario.tasks.count, v.scenario.tasks.copies): v.scenario.tasks.max_copies
        for v in file.variants
    }
    assert caps[(65, 200)] == 4 and caps[(40, 78)] == 3
    assert file.scenario.mode == "allocate"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("allocate") / "run"
    assert main(["allocate", "--out", str(out), "--repetitions", "1", "--quiet"]) == 0
    return out


def test_allocate_writes_tables_figures_and_manifest(results):
    names = {p.name for p in results.iterdir()}
    assert {"metrics.csv", "summary.csv", "manifest.json", "fig5_tasks_per_user.png",
            "fig6_coverage.png", "fig7_workload.png", "fig8_iterations.png",
            "scenario.yaml", "assignments.parquet", "metrics.parquet"} == names  # fmt: skip
    assert not [p for p in results.parent.iterdir() if p.name.startswith(".run.tmp")]


def test_allocate_refuses_to_overwrite(results, capsys):
    assert main(["allocate", "--out", str(results), "--repetitions", "1", "--quiet"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_allocate_rejects_bad_knobs_in_one_line(tmp_path, capsys):
    assert main(["allocate", "--out", str(tmp_path / "x"), "--repetitions", "0"]) == 1
    assert "--repetitions must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_metrics_table_holds_every_policy_and_setting(results):
    # "NA" is a policy name, not a missing value.
    metrics = pd.read_csv(results / "metrics.csv", keep_default_na=False, na_values=[""])
    assert set(metrics["policy"]) == POLICIES
    assert {"variant", "repetition", "g", "tasks", "copies", *ALLOCATION_METRIC_COLUMNS} <= set(
        metrics.columns
    )
    assert len(metrics) == 7 * 15
    iga = metrics[metrics["policy"] == "IGA"]
    assert (iga["iterations"] == iga["assigned"]).all()  # one pair per iteration
    assert (metrics["assigned"] + metrics["unassigned"] == metrics["copies"]).all()
    assert metrics["coverage"].between(0, 1).all()
    assert metrics["coverage_empirical"].between(0, 1).all()
    assert (metrics["coverage_sum"] <= metrics["assigned"] + 1e-9).all()
    summary = pd.read_csv(results / "summary.csv", keep_default_na=False, na_values=[""])
    assert set(summary["policy"]) == POLICIES and (summary["n"] == 1).all()
    assert set(summary["metric"]) == set(ALLOCATION_METRIC_COLUMNS)
    assert {"tasks.count", "tasks.copies", "g"} <= set(summary.columns)
