"""A trained agent as a policy (mcsim.envs.agent_policy): it acts as in the env, runs in
scenarios by name, and a bad agent file is refused before anything runs, naming the file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import mcsim
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.envs.agent_policy import AGENT_FORMAT, AgentPolicy, load_agent
from mcsim.errors import PolicyError, ScenarioError
from policies import make_policy


def copy_of(agent: Path, tmp_path: Path) -> Path:
    target = tmp_path / "agent"
    shutil.copytree(agent, target)
    return target


def edit_record(folder: Path, **changes: object) -> None:
    record = json.loads((folder / "agent.json").read_text())
    record.update(changes)
    (folder / "agent.json").write_text(json.dumps(record))


def test_agent_as_policy_acts_as_in_the_env(trained_agent: Path) -> None:
    """The closed loop with AgentPolicy and env episodes driven by the same model agree."""
    as_policy = mcsim.evaluate(trained_agent, episodes=2)
    in_env = mcsim.evaluate(load_agent(trained_agent).model, episodes=2)
    columns = ["day", "assigned", "completed", "fulfillment", "completion_ratio", "iterations"]
    assert as_policy[columns].equals(in_env[columns])
    assert (as_policy["policy"] == "agent").all()


def test_agent_is_a_registered_policy_usable_in_scenarios(trained_agent: Path) -> None:
    policy = make_policy("agent", path=str(trained_agent))
    assert isinstance(policy, AgentPolicy) and policy.agent.layout.n_candidates == 8
    file = load_scenario(
        shipped_scenario("campus"),
        {
            "policies": [
                "MDP",
                {"name": "agent", "params": {"path": str(trained_agent / "model.zip")}},
            ]
        },
    )
    assert [p.display for p in file.scenario.policies] == ["MDP", "agent"]


def test_missing_agent_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nowhere/model.zip: no such agent model"):
        AgentPolicy(path=str(tmp_path / "nowhere"))
    with pytest.raises(ScenarioError, match="no such agent model"):
        load_scenario(shipped_scenario("campus"),
                      {"policies": [{"name": "agent", "params": {"path": "nowhere"}}]})  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "agent.json").unlink(), r"agent.json: no agent record"),
        (lambda f: (f / "agent.json").write_text("{"), r"agent.json: not a readable agent record"),
        (lambda f: edit_record(f, format="mcsim-agent/0"),
         rf"format 'mcsim-agent/0'; expected '{AGENT_FORMAT}'"),
        (lambda f: edit_record(f, algo="a2c"), r"algorithm 'a2c'; expected one of"),
        (lambda f: (f / "model.zip").write_bytes(b"not a zip"), r"model.zip: not a Stable-Baselines3"),
        (lambda f: (f / "model.zip").write_bytes((f / "model.zip").read_bytes()[:200]),
         r"model.zip: not a Stable-Baselines3|cannot load"),
    ],
)  # fmt: skip
def test_damaged_agent_files_are_named(
    trained_agent: Path, tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    folder = copy_of(trained_agent, tmp_path)
    damage(folder)
    with pytest.raises(PolicyError, match=message):
        AgentPolicy(path=str(folder))


def test_agent_of_another_observation_size_is_refused(trained_agent: Path, tmp_path: Path) -> None:
    folder = copy_of(trained_agent, tmp_path)
    record = json.loads((folder / "agent.json").read_text())
    edit_record(folder, layout={**record["layout"], "n_candidates": 4})
    with pytest.raises(PolicyError, match=r"observations of shape \(68,\) and 9 actions; "
                       r"expected \(36,\) and 5"):  # fmt: skip
        AgentPolicy(path=str(folder))
