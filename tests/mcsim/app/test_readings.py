"""The sensed dataset (mcsim.app.readings): each window's index row names the activity the
world conditioned it on, a result without its reading record is refused, resumption writes
the same windows, and ``save_readings: false`` writes none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mcsim.app.runner
from mcsim.app.jobs import run_job
from mcsim.app.pipeline import PreparedCache
from mcsim.app.readings import INDEX_COLUMNS, reading_table
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.sim import SimResult
from mcsim.sim.sensing import HAPT_STANDING, HAPT_WALKING, N_AXES

SMALL = {"trace.synthetic.days": 32, "policies": ["NA", "MDP", "TW"]}


class ActivityEcho:
    """A phone whose every sample is the HAPT id of the activity it was asked for."""

    conditions_on_activity = True

    def reset(self, n_phones: int, seed: int) -> None:
        self.n_phones = n_phones

    def sample(
        self, phones: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert activities is not None
        return np.repeat(activities.astype(np.float32), steps * N_AXES).reshape(-1, steps, N_AXES)


@pytest.fixture(scope="module", autouse=True)
def echo_sensor() -> None:
    from generators.sensors import register_sensor

    register_sensor("activity_echo", ActivityEcho)


@pytest.fixture(autouse=True)
def mining_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCSIM_CACHE_DIR", str(tmp_path / "cache"))


def test_each_window_is_indexed_with_the_activity_it_was_sensed_in() -> None:
    # Half an hour as the walking threshold: the campus day has both kinds of visit.
    overrides: dict[str, Any] = {**SMALL, "sensor": "activity_echo", "walking_dwell_s": 1800.0}
    variant = load_scenario(shipped_scenario("campus"), overrides).variants[0]
    result = run_job(variant, 0, PreparedCache(), cache_dir=None)
    index, windows = result.reading_index, result.readings
    assert len(index) == len(windows) == sum(r["readings"] for r in result.metrics) > 0
    assert windows.dtype == np.float32 and windows.shape[1:] == (128, N_AXES)
    asked = windows[:, 0, 0].astype(int)  # what the world asked each phone for
    assert (windows == asked[:, None, None]).all()
    named = index["activity"].map({"walking": HAPT_WALKING, "standing": HAPT_STANDING})
    assert (named.to_numpy() == asked).all()
    assert set(index["activity"]) == {"walking", "standing"}
    # Rows follow the policies in order, then the sensing time.
    assert list(dict.fromkeys(index["policy"])) == ["NA", "MDP", "TW"]
    for _, rows in index.groupby("policy", sort=False):
        assert rows["sensed_s"].is_monotonic_increasing


def test_a_result_without_its_reading_record_is_refused() -> None:
    pairs = pd.DataFrame({"decision": [0], "assigned_s": [0.0], "user": [0], "task": [9],
                          "location": [3], "coverage": [0.5], "completed": [True],
                          "sensed_s": [130.0]})  # fmt: skip
    result = SimResult(pairs, pd.DataFrame(), pd.DataFrame(), np.zeros((1, 4, 3), np.float32),
                       np.array([0]), unassigned=0, active=np.array([True]), visits=2,
                       sensor_calls=1, published=1)  # fmt: skip
    with pytest.raises(ValueError, match="no per-reading record"):
        reading_table(result)


def test_a_resumed_run_writes_the_same_readings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    campus = shipped_scenario("campus")
    overrides: dict[str, Any] = {**SMALL, "sensor": "none", "repetitions": 3}
    reference = run_scenario(campus, tmp_path / "ref", quiet=True, overrides=overrides)
    keep, kept = mcsim.app.runner._keep, []

    def interrupted(store: Any, bar: Any, result: Any) -> None:
        keep(store, bar, result)
        kept.append(result.job)
        if len(kept) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(mcsim.app.runner, "_keep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(campus, tmp_path / "out", quiet=True, overrides=overrides)
    monkeypatch.undo()
    monkeypatch.setenv("MCSIM_CACHE_DIR", str(tmp_path / "cache"))
    again = run_scenario(campus, tmp_path / "out", quiet=True, overrides=overrides)
    assert '"resumed_jobs": 2' in (again.out / "manifest.json").read_text()
    for name in ("readings.npy", "readings.parquet"):
        assert (again.out / name).read_bytes() == (reference.out / name).read_bytes(), name
    index = pd.read_parquet(again.out / "readings.parquet")
    assert list(index.columns) == list(INDEX_COLUMNS) and set(index["repetition"]) == {0, 1, 2}


def test_save_readings_false_writes_no_readings(tmp_path: Path) -> None:
    overrides: dict[str, Any] = {**SMALL, "sensor": "none", "save_readings": False}
    run = run_scenario(shipped_scenario("campus"), tmp_path / "out", quiet=True,
                       overrides=overrides)  # fmt: skip
    names = {p.name for p in run.out.iterdir()}
    assert "metrics.csv" in names and not {"readings.npy", "readings.parquet"} & names
