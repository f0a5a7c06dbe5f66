"""``mcsim allocate`` end to end on the small campus (one repetition): files, columns and the
invariants the figures rest on."""

from __future__ import annotations

import pandas as pd
import pytest

from mcsim.app.cli import main
from mcsim.app.experiments import METRICS, Setting, settings


def test_pools_that_cannot_fit_three_copies_per_task_allow_more():
    assert Setting("pool", 20, 38, 6).max_copies == 3
    assert Setting("pool", 65, 200, 6).max_copies == 4
    assert [s.study for s in settings()].count("workload") == 3


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("allocate") / "run"
    assert main(["allocate", "--out", str(out), "--repetitions", "1", "--quiet"]) == 0
    return out


def test_allocate_writes_tables_figures_and_manifest(results):
    names = {p.name for p in results.iterdir()}
    assert {
        "metrics.csv",
        "summary.csv",
        "manifest.json",
        "fig5_tasks_per_user.png",
        "fig6_coverage.png",
        "fig7_workload.png",
        "fig8_iterations.png",
    } <= names
    assert not [p for p in results.parent.iterdir() if p.name.startswith(".run.tmp")]


def test_allocate_refuses_to_overwrite(results, capsys):
    assert main(["allocate", "--out", str(results), "--repetitions", "1", "--quiet"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_metrics_table_holds_every_policy_and_setting(results):
    # "NA" is a policy name, not a missing value.
    metrics = pd.read_csv(results / "metrics.csv", keep_default_na=False, na_values=[""])
    assert set(metrics["policy"]) == {"MLP", "MDP", "IU1", "IU2", "IGA", "BGA", "NA"}
    assert {"preset", "study", "pool", "g", "repetition", *METRICS} <= set(metrics.columns)
    assert len(metrics) == 7 * len(settings())
    iga = metrics[metrics["policy"] == "IGA"]
    assert (iga["iterations"] == iga["assigned"]).all()  # one pair per iteration
    assert (metrics["assigned"] + metrics["unassigned"] == metrics["n_measurements"]).all()
    assert metrics["coverage"].between(0, 1).all()
    assert metrics["coverage_empirical"].between(0, 1).all()
