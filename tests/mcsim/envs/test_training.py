"""Training an agent (mcsim.envs.training): the folder it writes, refusing to replace an
agent, resuming to the requested steps, and bad settings as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcsim.envs.agent_policy import AGENT_FORMAT
from mcsim.envs.training import TrainingSettings, train_agent
from mcsim.errors import MCSimError

pytest.importorskip("sb3_contrib", reason="the 'rl' extra is not installed")


def test_the_folder_holds_model_record_and_log(trained_agent: Path) -> None:
    record = json.loads((trained_agent / "agent.json").read_text())
    assert record["format"] == AGENT_FORMAT and record["algo"] == "maskable-ppo"
    assert record["steps"] >= 512 and record["training_days"] == 1000
    assert record["layout"]["n_candidates"] == 8 and record["steps_per_second"] > 0
    assert (trained_agent / "model.zip").is_file()
    assert (trained_agent / "logs" / "progress.csv").stat().st_size > 0


def test_an_agent_is_not_replaced_without_a_flag_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    settings = TrainingSettings(steps=256, checkpoint_steps=128)
    train_agent(settings, out, progress=False)
    with pytest.raises(MCSimError, match="holds an agent already; pass --resume"):
        train_agent(settings, out, progress=False)
    longer = TrainingSettings(steps=512, checkpoint_steps=128)
    record = train_agent(longer, out, resume=True, progress=False)
    assert record["steps"] >= 512
    with pytest.raises(MCSimError, match="nothing to resume"):
        train_agent(settings, tmp_path / "empty", resume=True, progress=False)


def test_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(MCSimError, match="training days only"):
        train_agent(TrainingSettings(steps=64, env={"days": "test"}), tmp_path / "a")
    with pytest.raises(MCSimError, match="unknown algorithm 'a3c'"):
        train_agent(TrainingSettings(steps=64, algo="a3c"), tmp_path / "b")
