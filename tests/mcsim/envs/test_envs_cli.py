"""The agent commands (mcsim.envs.cli): train-agent writes an agent, evaluate writes a results
folder with the agent beside the heuristics; mistakes are one line, exit 1."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mcsim.app.cli import main

pytest.importorskip("sb3_contrib", reason="the 'rl' extra is not installed")


def test_train_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agent = tmp_path / "ppo"
    assert main(["train-agent", "campus", "--out", str(agent), "--steps", "128",
                 "--reward", "lagrangian", "--assignment-cost", "0.2", "--quiet"]) == 0  # fmt: skip
    assert "maskable-ppo, 128 steps" in capsys.readouterr().out
    out = tmp_path / "eval"
    assert main(["evaluate", "campus", "--agent", str(agent), "--episodes", "2", "--out",
                 str(out), "--policies", "MDP", "--set", "sensor=none", "--quiet"]) == 0  # fmt: skip
    metrics = pd.read_csv(out / "metrics.csv", keep_default_na=False)
    assert sorted(set(metrics["policy"])) == ["MDP", "agent"] and len(metrics) == 4
    assert (out / "summary.csv").is_file() and (out / "completion.png").is_file()


def test_bad_agent_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "campus", "--agent", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such agent model" in err
    assert not (tmp_path / "x").exists()
    assert main(["train-agent", "campus", "--out", str(tmp_path / "a"), "--steps", "64",
                 "--set", "n_candidates=3", "--quiet"]) == 1  # fmt: skip
    assert "n_candidates" in capsys.readouterr().err
