"""Fixtures shared by the env tests (test_crowdsensing, test_agents): envs on the default
campus scenario, and helpers served as fixtures (as in ``tests/policies/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest

from mcsim.envs.crowdsensing import CrowdsensingEnv

N_USERS = 68  # the campus scenario's population


def same_data(a: Any, b: Any) -> bool:
    """Exact equality of nested step data (NaN equal to NaN, types and dtypes must agree)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


def episode(env: gymnasium.Env, act: Any, **reset: Any) -> tuple[float, dict[str, Any], int]:
    """Return, last info and steps of one episode driven by ``act(info)``."""
    _, info = env.reset(**reset)
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(act(info))
        assert env.observation_space.contains(obs)
        assert not truncated
        total += float(reward)
        steps += 1
    return total, info, steps


@pytest.fixture(scope="session")
def n_users() -> int:
    """The population of the default scenario."""
    return N_USERS


@pytest.fixture(scope="session")
def same() -> Callable[[Any, Any], bool]:
    """:func:`same_data`."""
    return same_data


@pytest.fixture(scope="session")
def run_episode() -> Callable[..., tuple[float, dict[str, Any], int]]:
    """:func:`episode`."""
    return episode


@pytest.fixture(scope="module")
def env() -> CrowdsensingEnv:
    return CrowdsensingEnv()


@pytest.fixture(scope="module")
def wide_env() -> CrowdsensingEnv:
    """K above the population: every eligible user is offered, padding slots are masked."""
    return CrowdsensingEnv(n_candidates=N_USERS + 4)


@pytest.fixture(scope="session")
def trained_agent(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tiny MaskablePPO agent folder (512 steps on the campus; the rl extra)."""
    pytest.importorskip("sb3_contrib", reason="the 'rl' extra is not installed")
    from mcsim.envs.training import TrainingSettings, train_agent

    out = tmp_path_factory.mktemp("agent") / "ppo"
    train_agent(TrainingSettings(steps=512, checkpoint_steps=256), out, progress=False)
    return out
