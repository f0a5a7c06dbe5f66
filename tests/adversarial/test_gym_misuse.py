"""The Gym env used wrongly: every misuse raises a clear error, and the env stays usable."""

from __future__ import annotations

from typing import Any, cast

import gymnasium
import numpy as np
import pytest

import mcsim  # noqa: F401 (registers the env)
from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.errors import ScenarioError

ENV_ID = "mcsim/Crowdsensing-v0"


@pytest.fixture(scope="module")
def env() -> CrowdsensingEnv:
    return cast(CrowdsensingEnv, gymnasium.make(ENV_ID).unwrapped)


@pytest.mark.parametrize(
    "action", [-1, 9, 10**9, 1.5, "0", None, [0], np.array([0, 1]), np.float64(2.0)]
)
def test_an_action_outside_the_space_raises_and_the_env_goes_on(
    env: CrowdsensingEnv, action: Any
) -> None:
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in Discrete"):
        env.step(action)
    env.step(env.n_candidates)  # still usable: skip is always valid


def test_step_before_reset_and_after_the_end(env: CrowdsensingEnv) -> None:
    fresh = gymnasium.make(ENV_ID).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        fresh.step(0)
    env.reset(seed=1)
    terminated = False
    while not terminated:
        terminated = env.step(env.n_candidates)[2]
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(0)
    env.reset(seed=1)  # a new episode after the end is fine


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"repetition": -1}, "repetition must be >= 0"),
        ({"week": 3}, "unknown reset options"),
        ({"day": 1_000}, r"day must lie in 0\.\.999 \(train days\), got 1000"),
        ({"day": -1}, "day must lie in"),
    ],
)
def test_bad_reset_options(env: CrowdsensingEnv, options: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [({"g": 0}, "g"), ({"tasks.count": "many"}, "tasks.count"), ({"sensor": "gan"}, "sensor")],
)
def test_bad_overrides_name_the_key(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError, match=f"key '{key}'"):
        gymnasium.make(ENV_ID, overrides=overrides)


def test_a_missing_scenario_file_is_named(tmp_path: Any) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(ScenarioError, match=r"none\.yaml: no such file"):
        gymnasium.make(ENV_ID, scenario=missing)
