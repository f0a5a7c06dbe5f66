"""The shipped ``data_quality`` scenario, small: checked readings add up, the platform's
verdicts decide ``completed``, the sensed dataset names them, and a run repeats exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mcsim.app.runner import run_scenario
from mcsim.app.scenario import shipped_scenario

SMALL: dict[str, Any] = {"trace.synthetic.days": 32, "repetitions": 2,
                         "policies": ["MDP", "NA", "TW"]}  # fmt: skip


@pytest.fixture(autouse=True)
def mining_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCSIM_CACHE_DIR", str(tmp_path / "cache"))


def test_checked_readings_add_up_and_decide_completion(tmp_path: Path) -> None:
    run = run_scenario(shipped_scenario("data_quality"), tmp_path / "a", quiet=True,
                       overrides=SMALL)  # fmt: skip
    m = run.metrics
    assert (m["completed"] == m["accepted"]).all()  # validation.count: accepted
    assert (m["fabricated"] > 0).any() and (m["accepted_fabricated"] <= m["fabricated"]).all()
    genuine = m["received"] - m["fabricated"]
    assert (m["rejected_genuine"] <= genuine).all()
    assert (m["accepted"] == genuine - m["rejected_genuine"] + m["accepted_fabricated"]).all()
    assert (m["readings"] == m["received"]).all()  # every received copy carries a window
    index = pd.read_parquet(run.out / "readings.parquet")
    windows = np.load(run.out / "readings.npy")
    assert len(index) == len(windows) == m["received"].sum()
    assert set(index["conduct"]) <= {"honest", "noise", "resting", "replay"}
    assert set(index["context"]) <= {"any", "walking", "still"}
    kept = index["verdict"] == "accepted"
    assert kept.sum() == m["accepted"].sum()
    assert (index.loc[index["verdict"] == "replayed", "conduct"] == "replay").all()
    assert "data_quality.png" in {p.name for p in run.out.iterdir()}
    again = run_scenario(shipped_scenario("data_quality"), tmp_path / "b", quiet=True,
                         overrides=SMALL)  # fmt: skip
    same = [c for c in m.columns if c != "alloc_seconds"]
    pd.testing.assert_frame_equal(m[same], again.metrics[same])


def test_a_bad_validator_checkpoint_fails_before_any_job(tmp_path: Path) -> None:
    from generators.validators import SHIPPED_CHECKPOINT
    from mcsim.errors import CheckpointError

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(SHIPPED_CHECKPOINT.read_bytes()[:1000])
    overrides = {**SMALL, "sensor": "none", "validation.validator": str(truncated)}
    with pytest.raises(CheckpointError, match=r"truncated\.pt: not a readable torch checkpoint"):
        run_scenario(shipped_scenario("data_quality"), tmp_path / "out", quiet=True,
                     overrides=overrides)  # fmt: skip
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.jobs").exists()
