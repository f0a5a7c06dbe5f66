"""The evaluation API (mcsim.app.evaluate): rows with metrics.csv's columns; a policy
evaluated on test days equals ``mcsim run``; env agents play the same days; bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mcsim
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import shipped_scenario
from mcsim.envs.agents import PolicyAgent
from mcsim.errors import MCSimError, PolicyError
from mcsim.platform.metrics import METRIC_COLUMNS
from policies import BUILTIN_POLICIES

ALL_USERS = 68  # K that offers every eligible user on the campus


@pytest.fixture(scope="module")
def run_rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("run") / "campus"
    run_scenario(shipped_scenario("campus"), out, quiet=True, repetitions=3,
                 overrides={"sensor": "none", "policies": list(BUILTIN_POLICIES)})  # fmt: skip
    return pd.read_csv(out / "metrics.csv", keep_default_na=False)


@pytest.mark.parametrize("name", BUILTIN_POLICIES)
def test_a_policy_on_test_days_equals_mcsim_run(run_rows: pd.DataFrame, name: str) -> None:
    rows = mcsim.evaluate(name, "campus", episodes=3)
    expected = run_rows[run_rows["policy"] == name].reset_index(drop=True)
    assert list(rows.columns) == list(expected.columns)
    assert set(METRIC_COLUMNS) <= set(rows.columns)
    timed = ["alloc_seconds"]  # a wall time
    pd.testing.assert_frame_equal(
        rows.drop(columns=timed), expected.drop(columns=timed), check_dtype=False
    )


def test_a_gym_agent_plays_the_same_days(run_rows: pd.DataFrame) -> None:
    rows = mcsim.evaluate(PolicyAgent("MDP"), episodes=3, env_kwargs={"n_candidates": ALL_USERS})
    expected = run_rows[run_rows["policy"] == "MDP"].reset_index(drop=True)
    assert (rows["day"] == expected["day"]).all()
    assert (rows["completed"] == expected["completed"]).all()  # full K: the policy's own pairs
    assert (rows["policy"] == "PolicyAgent").all()


def test_training_days_are_not_test_days() -> None:
    train = mcsim.evaluate("MDP", episodes=2, days="train",
                           overrides={"mobility.source": "ground_truth"})  # fmt: skip
    test = mcsim.evaluate("MDP", episodes=2, overrides={"mobility.source": "ground_truth"})
    assert not set(train["day"]) & set(test["day"])
    assert list(train["day"]) == ["ground-truth day 20035", "ground-truth day 20036"]
    again = mcsim.evaluate("MDP", episodes=2, days="train",
                           overrides={"mobility.source": "ground_truth"})  # fmt: skip
    pd.testing.assert_frame_equal(train.drop(columns="alloc_seconds"),
                                  again.drop(columns="alloc_seconds"))  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"days": "holdout"}, MCSimError, "days must be 'train' or 'test'"),
        ({"episodes": 0}, MCSimError, "episodes must be >= 1"),
        ({"agent_or_policy": "XYZ"}, PolicyError, "unknown policy 'XYZ'"),
        ({"agent_or_policy": 3.5}, MCSimError, "cannot evaluate float"),
        ({"agent_or_policy": "missing/model.zip"}, PolicyError, "no such agent model"),
    ],
)
def test_bad_input_is_one_line(kwargs: dict, error: type, message: str) -> None:
    subject = kwargs.pop("agent_or_policy", "MDP")
    with pytest.raises(error, match=message):
        mcsim.evaluate(subject, episodes=kwargs.pop("episodes", 1), **kwargs)


def test_a_scenario_file_path_works(tmp_path: Path) -> None:
    rows = mcsim.evaluate("IU1", shipped_scenario("campus"), episodes=1, seed=3)
    assert len(rows) == 1 and rows.loc[0, "policy"] == "IU1"
