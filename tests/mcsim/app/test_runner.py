"""``run_scenario`` (mcsim.app.runner): golden metrics of the shipped scenarios, determinism,
atomic output, mobility sources and date splits (the command line is in test_cli.py).

Golden files (``golden/<scenario>.csv``) hold the metrics of each shipped scenario run with
small overrides, every column except timings, compared as exact text. After an intended
change, regenerate them with ``MCSIM_REGEN_GOLDEN=1 pytest tests/mcsim/app/test_runner.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mcsim.app.runner
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import load_scenario
from mcsim.errors import MCSimError, ScenarioError

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parents[2] / "scenarios"
GOLDEN = HERE / "golden"
REGENERATE = os.environ.get("MCSIM_REGEN_GOLDEN") == "1"
TIMING_COLUMNS = ["alloc_seconds"]

# Small versions of the shipped scenarios: same structure, seconds to run.
SMALL: dict[str, dict[str, Any]] = {
    "campus": {"trace.synthetic.days": 32, "repetitions": 2, "workers": 1},
    "paper_table3": {
        "repetitions": 2,
        "workers": 1,
        "sweep": {
            "tasks": [{"count": 20, "copies": 44}, {"count": 65, "copies": 200, "max_copies": 4}]
        },
    },
    "scale_100k": {
        "trace.synthetic.params": {"n_users": 300, "n_aps": 400},
        "tasks.count": 40,
        "tasks.copies": 80,
        "workers": 1,
    },
    "geolife": {"repetitions": 2, "workers": 1},
}


@pytest.fixture(scope="module", autouse=True)
def mining_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One mining cache for this module's runs, outside the repository."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCSIM_CACHE_DIR", str(tmp_path_factory.mktemp("mcsim-cache")))
        yield


def metrics_text(metrics: pd.DataFrame) -> str:
    return metrics.drop(columns=TIMING_COLUMNS).to_csv(
        index=False, float_format="%.12g", lineterminator="\n"
    )


@pytest.fixture(scope="module")
def campus_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("runs") / "campus"
    return run_scenario(SCENARIOS / "campus.yaml", out, quiet=True, overrides=SMALL["campus"])


@pytest.mark.parametrize("name", list(SMALL))
def test_golden_metrics(name: str, tmp_path: Path, campus_run) -> None:
    path = SCENARIOS / f"{name}.yaml"
    if name == "geolife" and not (SCENARIOS.parents[1] / "shared/data/geolife").is_dir():
        pytest.skip("the GeoLife sample (../shared/data/geolife) is absent")
    result = (
        campus_run
        if name == "campus"
        else run_scenario(path, tmp_path / name, quiet=True, overrides=SMALL[name])
    )
    text = metrics_text(result.metrics)
    golden = GOLDEN / f"{name}.csv"
    if REGENERATE:
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden}; run with MCSIM_REGEN_GOLDEN=1"
    assert text == golden.read_text()


def test_results_folder_contents(campus_run) -> None:
    out = campus_run.out
    names = {p.name for p in out.iterdir()}
    assert names == {
        "scenario.yaml",
        "metrics.csv",
        "metrics.parquet",
        "summary.csv",
        "assignments.parquet",
        "events.parquet",
        "completion.png",
        "cost_coverage.png",
        "tradeoff.png",
        "incentive.png",
        "readings.npy",
        "readings.parquet",
        "manifest.json",
    }
    metrics = pd.read_csv(out / "metrics.csv", keep_default_na=False, na_values=[""])
    for column in (
        "policy",
        "completion_ratio",
        "coverage",
        "tasks_per_user",
        "iterations",
        "alloc_seconds",
        "repetition",
        "completion_ratio_overall",
        "coverage_empirical",
        "users_recruited",
        "readings",
        "unassigned",
        "tasks",
        "copies",
        "g",
    ):
        assert column in metrics.columns
    every_policy = ["MLP", "MDP", "IU1", "IU2", "IGA", "BGA", "NA", "TW"]
    assert list(metrics["policy"].unique()) == every_policy
    assert len(metrics) == 8 * 2
    events = pd.read_parquet(out / "events.parquet")
    assert set(events["kind"].astype(str)) == {
        "publish",
        "allocate",
        "visit",
        "reading",
        "complete",
    }
    assert (events.loc[events["kind"] == "visit", "policy"] == "*").all()
    assignments = pd.read_parquet(out / "assignments.parquet")
    assert len(assignments) == int(metrics["assigned"].sum())
    assert int(assignments["completed"].sum()) == int(metrics["readings"].sum())
    resolved = load_scenario(out / "scenario.yaml")  # the resolved scenario loads back
    synthetic = resolved.scenario.trace.synthetic
    assert synthetic is not None
    assert resolved.scenario.repetitions == 2 and synthetic.days == 32
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 20180101 and manifest["repetitions"] == 2
    assert {"numpy", "simpy", "pydantic"} <= set(manifest["versions"])
    assert len(manifest["scenario_sha256"]) == 64
    assert "total" in manifest["timings_s"]


def test_the_sensed_dataset_matches_the_completed_assignments(campus_run) -> None:
    out = campus_run.out
    windows = np.load(out / "readings.npy")
    index = pd.read_parquet(out / "readings.parquet")
    metrics = campus_run.metrics
    assert windows.dtype == np.float32 and windows.shape == (len(index), 128, 3)
    assert len(index) == int(metrics["readings"].sum()) > 0 and np.isfinite(windows).all()
    assert index["row"].tolist() == list(range(len(index)))
    assert set(index["activity"]) <= {"walking", "standing"} and (index["steps"] == 128).all()
    # One window per completed copy, at its location and sensing time.
    keys = ["variant", "repetition", "policy", "user", "task"]
    done = campus_run.assignments[campus_run.assignments["completed"]]
    both = index.merge(done, on=keys, how="outer", validate="one_to_one", indicator=True)
    assert (both["_merge"] == "both").all()
    assert (both["location_x"] == both["location_y"]).all()
    assert (both["sensed_s_x"] == both["sensed_s_y"]).all()
    # Each window is the one whose RMS the event log recorded for that copy.
    events = campus_run.events[campus_run.events["kind"] == "reading"]
    rms = np.sqrt((windows.astype(np.float64) ** 2).sum(axis=2).mean(axis=1))
    logged = index.assign(rms=rms[index["row"]]).merge(events, on=keys, validate="one_to_one")
    assert len(logged) == len(index)
    np.testing.assert_allclose(logged["rms"], logged["value"], rtol=1e-12)


def test_same_seed_same_metrics_whatever_the_workers(tmp_path: Path, campus_run) -> None:
    again = run_scenario(
        SCENARIOS / "campus.yaml",
        tmp_path / "w2",
        quiet=True,
        overrides={**SMALL["campus"], "workers": 2},
    )
    assert metrics_text(again.metrics) == metrics_text(campus_run.metrics)
    pd.testing.assert_frame_equal(again.assignments, campus_run.assignments)


def test_failure_mid_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(mcsim.app.runner, "write_plots", broken)
    out = tmp_path / "results"
    with pytest.raises(RuntimeError, match="disk full"):
        run_scenario(SCENARIOS / "campus.yaml", out, quiet=True, overrides=SMALL["campus"])
    assert list(tmp_path.iterdir()) == []
    # With --overwrite, the old folder survives a failed run untouched.
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="disk full"):
        run_scenario(
            SCENARIOS / "campus.yaml", out, overwrite=True, quiet=True, overrides=SMALL["campus"]
        )
    assert [p.name for p in tmp_path.iterdir()] == ["results"]
    assert (out / "old.txt").read_text() == "keep me"


def test_existing_folder_is_refused_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    with pytest.raises(MCSimError, match="already exists"):
        run_scenario(SCENARIOS / "campus.yaml", tmp_path / "results", quiet=True)


@pytest.mark.parametrize(
    "mobility", [{"source": "patterns", "users": 150}, {"source": "ground_truth"}]
)
def test_other_mobility_sources_run_end_to_end(tmp_path: Path, mobility: dict[str, Any]) -> None:
    result = run_scenario(
        SCENARIOS / "campus.yaml",
        tmp_path / "out",
        quiet=True,
        overrides={**SMALL["campus"], "repetitions": 1, "mobility": mobility},
    )
    metrics = result.metrics
    assert (metrics["users"] == mobility.get("users", 68)).all()
    assert metrics["day"].iloc[0].startswith(mobility["source"].replace("_", "-"))
    assert metrics["assigned"].sum() > 0 and metrics["completed"].sum() > 0


def test_split_by_date_and_its_errors(tmp_path: Path) -> None:
    # The campus starts on Monday 2002-09-30: a split on 2002-10-28 trains on 28 days.
    small = {
        **SMALL["campus"],
        "repetitions": 1,
        "policies": ["MDP"],
        "split": {"test_from": "2002-10-28"},
    }
    result = run_scenario(SCENARIOS / "campus.yaml", tmp_path / "a", quiet=True, overrides=small)
    assert result.metrics["day"].iloc[0].startswith("replay cycle")
    with pytest.raises(ScenarioError, match=r"split\.test_from.*no cycle starts on or after"):
        run_scenario(
            SCENARIOS / "campus.yaml",
            tmp_path / "b",
            quiet=True,
            overrides={**small, "split": {"test_from": "2003-01-01"}},
        )
    assert not (tmp_path / "b").exists()
