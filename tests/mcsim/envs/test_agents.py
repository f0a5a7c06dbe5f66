"""PolicyAgent (mcsim.envs.agents): any allocation policy acting in the Gym env reproduces the
closed loop and the runner's job; with few candidates it only skips unoffered users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import pytest

from mcsim.app.jobs import run_job
from mcsim.app.pipeline import PreparedCache
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.envs.agents import PolicyAgent
from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.sim import World, simulate
from policies import make_policy

Same = Callable[[Any, Any], bool]
RunEpisode = Callable[..., tuple[float, dict[str, Any], int]]


@pytest.mark.parametrize(
    ("name", "seed"), [("MDP", 0), ("MLP", 1), ("IU2", 2), ("IGA", 3), ("BGA", 4), ("NA", 5)]
)
def test_policy_agent_reproduces_the_closed_loop(
    wide_env: CrowdsensingEnv, run_episode: RunEpisode, name: str, seed: int
) -> None:
    agent = PolicyAgent(name)
    total, info, _ = run_episode(wide_env, lambda info: agent.act(wide_env), seed=seed)
    world = World(
        wide_env.day, wide_env.tasks, wide_env.pipeline.prepared.knowledge, wide_env.options
    )
    closed = simulate(world, make_policy(name))
    ours = wide_env.world.result().pairs
    assert total == info["completed"] == int(closed.pairs["completed"].sum())
    columns = ["decision", "user", "task", "completed", "sensed_s"]
    key = ["decision", "user", "task"]
    assert (
        ours[columns]
        .sort_values(key)
        .reset_index(drop=True)
        .equals(closed.pairs[columns].sort_values(key).reset_index(drop=True))
    )


def test_policy_agent_replays_the_runners_job(
    wide_env: CrowdsensingEnv, run_episode: RunEpisode, same: Same
) -> None:
    variant = load_scenario(
        shipped_scenario("campus"), {"policies": ["MDP"], "sensor": "none"}
    ).variants[0]
    expected = run_job(variant, 1, PreparedCache(), cache_dir=None).metrics[0]
    agent = PolicyAgent(make_policy("MDP"))
    _, info, _ = run_episode(
        wide_env, lambda info: agent.act(wide_env), seed=0, options={"repetition": 1}
    )
    for key in (
        "assigned",
        "completed",
        "unassigned",
        "users_recruited",
        "completion_ratio",
        "completion_ratio_active",
        "completion_ratio_overall",
        "tasks_per_user",
        "coverage_empirical",
        "readings",
    ):
        assert same(info["metrics"][key], expected[key]), key


def test_policy_agent_with_small_k_only_skips_unoffered_users(
    env: CrowdsensingEnv, run_episode: RunEpisode
) -> None:
    agent = PolicyAgent("MLP")
    run_episode(env, lambda info: agent.act(env), seed=0)
    world = World(env.day, env.tasks, env.pipeline.prepared.knowledge, env.options)
    closed = simulate(world, make_policy("MLP"))

    def first_decision(pairs: Any) -> set[tuple[int, int]]:
        return set(pairs.loc[pairs["decision"] == 0, ["user", "task"]].itertuples(index=False))

    # Same state at the first decision: the env applies a subset of the policy's pairs.
    ours, theirs = first_decision(env.world.result().pairs), first_decision(closed.pairs)
    assert ours and ours <= theirs


def test_policy_agent_needs_a_crowdsensing_env() -> None:
    with pytest.raises(TypeError, match="CrowdsensingEnv"):
        PolicyAgent("NA").act(gymnasium.make("CartPole-v1"))


def test_policy_agent_builds_named_policies_and_needs_a_live_episode(
    env: CrowdsensingEnv, run_episode: RunEpisode
) -> None:
    assert repr(PolicyAgent("IU1", delta=0.8).policy) == "IU1(delta=0.8)"
    agent = PolicyAgent("NA")
    run_episode(env, lambda info: agent.act(env), seed=6)
    with pytest.raises(RuntimeError, match="episode is over"):
        agent.act(env)
