"""The Gymnasium env: API conformance, determinism, masks, rewards, and equivalence with the
closed loop and the runner (an env-run policy must give the day ``mcsim run`` gives)."""

from __future__ import annotations

import doctest
import subprocess
import sys
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mcsim
import mcsim.envs.crowdsensing
from mcsim.app.jobs import run_job
from mcsim.app.pipeline import PreparedCache
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.envs.agents import PolicyAgent
from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.envs.features import CANDIDATE_FEATURES, TASK_FEATURES
from mcsim.sim import World, simulate
from policies import make_policy

ENV_ID = "mcsim/Crowdsensing-v0"
N_USERS = 68  # the campus scenario's population


def mcsim_specs() -> list[str]:
    return sorted(i for i in gymnasium.registry if i.startswith("mcsim/"))


def same(a: Any, b: Any) -> bool:
    """Exact equality of nested step data (NaN equal to NaN, types and dtypes must agree)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


def rollout(env: gymnasium.Env, seed: int, steps: int = 50) -> list[tuple[Any, ...]]:
    """``steps`` random masked actions from ``reset(seed)``, resetting (unseeded) at the end of
    a day; every transition is recorded."""
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(1000 + seed)
    out: list[tuple[Any, ...]] = [(obs, info)]
    for _ in range(steps):
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((action, obs, reward, terminated, truncated, info))
        if terminated:
            obs, info = env.reset()
            out.append((obs, info))
    return out


def run_episode(env: gymnasium.Env, act: Any, **reset: Any) -> tuple[float, dict[str, Any], int]:
    """Return, last info and steps of one episode driven by ``act(info)``."""
    _, info = env.reset(**reset)
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(act(info))
        assert env.observation_space.contains(obs)
        assert not truncated
        total += reward
        steps += 1
    return total, info, steps


def random_masked(seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return lambda info: int(rng.choice(np.flatnonzero(info["action_mask"])))


@pytest.fixture(scope="module")
def env() -> CrowdsensingEnv:
    return CrowdsensingEnv()


@pytest.fixture(scope="module")
def wide_env() -> CrowdsensingEnv:
    """K above the population: every eligible user is offered, padding slots are masked."""
    return CrowdsensingEnv(n_candidates=N_USERS + 4)


# ------------------------------------------------------------------ registration, API


def test_import_registers_lazily() -> None:
    code = (
        "import sys, gymnasium, mcsim; "
        "assert 'mcsim/Crowdsensing-v0' in gymnasium.registry; "
        "assert 'mcsim.envs.crowdsensing' not in sys.modules and 'mcsim.sim' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("spec_id", mcsim_specs())
def test_check_env_on_every_registered_spec(spec_id: str) -> None:
    made = gymnasium.make(spec_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(made.unwrapped)
    made.close()


def test_make_by_id_and_module_id() -> None:
    assert ENV_ID in mcsim_specs()
    for name in (ENV_ID, f"mcsim:{ENV_ID}"):
        made = gymnasium.make(name, n_candidates=3)
        assert isinstance(made.unwrapped, CrowdsensingEnv)
        obs, _ = made.reset(seed=0)
        assert obs.shape == (len(TASK_FEATURES) + 3 * len(CANDIDATE_FEATURES),)
        assert made.action_space == gymnasium.spaces.Discrete(4)


def test_module_docstring_examples_run() -> None:
    assert doctest.testmod(mcsim.envs.crowdsensing, raise_on_error=False).failed == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_candidates": 0},
        {"reward": "profit"},
        {"render_mode": "human"},
        {"variant": 1},
        {"max_distance_km": 0.0},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        CrowdsensingEnv(**kwargs)


# ------------------------------------------------------------------ determinism


def test_same_seed_same_trajectory() -> None:
    first, second = gymnasium.make(ENV_ID), gymnasium.make(ENV_ID)
    a, b = rollout(first, seed=7), rollout(second, seed=7)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert same(x, y)


def test_different_seeds_differ(env: CrowdsensingEnv) -> None:
    a, b = rollout(env, seed=1, steps=10), rollout(env, seed=2, steps=10)
    assert not all(same(x, y) for x, y in zip(a, b, strict=True))


def test_repetition_option_is_the_runners_day(env: CrowdsensingEnv) -> None:
    env.reset(seed=1, options={"repetition": 3})
    day, tasks = env.day, env.tasks
    env.reset(seed=2, options={"repetition": 3})
    assert env.day.label == day.label
    assert np.array_equal(env.tasks.location, tasks.location)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"day": 1})


# ------------------------------------------------------------------ actions and masks


def test_mask_pads_and_offers_exactly_the_eligible_users(wide_env: CrowdsensingEnv) -> None:
    obs, info = wide_env.reset(seed=0)
    k = wide_env.n_candidates
    rng = np.random.default_rng(0)
    picks: list[tuple[int, int]] = []  # (user, task) picked at the current decision
    decision, terminated = wide_env.decision, False
    while not terminated:
        mask, candidates = info["action_mask"], info["candidates"]
        n = int(mask[:k].sum())
        assert mask[k] and mask[:n].all() and not mask[n:k].any()
        assert (candidates[n:] == -1).all()
        slots = obs[len(TASK_FEATURES) :].reshape(k, len(CANDIDATE_FEATURES))
        assert (slots[:n, -1] == 1).all() and not slots[n:].any()
        if wide_env.decision is not decision:
            decision, picks = wide_env.decision, []
        assert decision is not None
        # Offered = capacity left (this decision's picks counted) and not holding the task.
        state, task = decision.state, info["task"]
        load = state.load + np.bincount([u for u, _ in picks], minlength=N_USERS)
        holders = {u for u, t in state.held | set(picks) if t == task}
        eligible = {u for u in range(N_USERS) if load[u] < state.g and u not in holders}
        assert sorted(candidates[:n].tolist()) == sorted(eligible)
        action = int(rng.choice(np.flatnonzero(mask)))
        if action < n:
            picks.append((int(candidates[action]), task))
        obs, _, terminated, _, info = wide_env.step(action)


def test_masked_action_is_a_skip(wide_env: CrowdsensingEnv) -> None:
    twin = CrowdsensingEnv(n_candidates=wide_env.n_candidates)
    _, info = wide_env.reset(seed=3)
    twin.reset(seed=3)
    masked = int(np.flatnonzero(~info["action_mask"])[0])
    obs, reward, _, _, info = wide_env.step(masked)
    obs_skip, reward_skip, _, _, info_skip = twin.step(twin.n_candidates)
    assert info["invalid_action"] and not info_skip["invalid_action"]
    assert info["assigned"] == 0
    assert np.array_equal(obs, obs_skip) and reward == reward_skip


def test_bad_actions_raise(env: CrowdsensingEnv) -> None:
    env.reset(seed=0)
    for action in (-1, env.n_candidates + 1, 1.5):
        with pytest.raises(ValueError, match="not in Discrete"):
            env.step(action)
    run_episode(env, lambda info: env.n_candidates, seed=0)
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(0)


# ------------------------------------------------------------------ rewards, episodes


def test_random_episode_reward_is_completed_copies(env: CrowdsensingEnv) -> None:
    total, info, steps = run_episode(env, random_masked(5), seed=5)
    result = env.world.result()
    completed = int(result.pairs["completed"].sum())
    assert total == completed == info["completed"] == info["metrics"]["completed"]
    assert info["assigned"] == len(result.pairs) == info["metrics"]["assigned"]
    assert info["metrics"]["iterations"] == steps  # one iteration per step
    assert info["task"] == -1 and info["decision"] == len(result.decisions)
    assert completed > 0


def test_coverage_reward_pays_p_loc_of_each_pick() -> None:
    dense = CrowdsensingEnv(reward="coverage")
    total, _, _ = run_episode(dense, random_masked(2), seed=2)
    pairs = dense.world.result().pairs
    model = dense.pipeline.prepared.knowledge.location_model
    p = model.prob(pairs["user"].to_numpy(), pairs["location"].to_numpy())
    assert total == pytest.approx(p.sum())
    assert np.allclose(pairs["coverage"], p)


def test_skip_everything_assigns_nothing(env: CrowdsensingEnv) -> None:
    total, info, _ = run_episode(env, lambda info: env.n_candidates, seed=4)
    assert total == 0 and info["assigned"] == 0
    assert info["metrics"]["unassigned"] == env.scenario.tasks.copies


# ------------------------------------------------------------------ PolicyAgent


@pytest.mark.parametrize(
    ("name", "seed"), [("MDP", 0), ("MLP", 1), ("IU2", 2), ("IGA", 3), ("BGA", 4), ("NA", 5)]
)
def test_policy_agent_reproduces_the_closed_loop(
    wide_env: CrowdsensingEnv, name: str, seed: int
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


def test_policy_agent_replays_the_runners_job(wide_env: CrowdsensingEnv) -> None:
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


def test_policy_agent_with_small_k_only_skips_unoffered_users(env: CrowdsensingEnv) -> None:
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
