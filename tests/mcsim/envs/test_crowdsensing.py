"""The Gymnasium env (mcsim.envs.crowdsensing): API conformance, determinism, masks, rewards.

Equivalence with the closed loop and the runner (an env-run policy must give the day
``mcsim run`` gives) is tested with PolicyAgent in test_agents.py; shared fixtures are in
conftest.py."""

from __future__ import annotations

import dataclasses
import doctest
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any, cast

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mcsim
import mcsim.envs.crowdsensing
from mcsim.envs.crowdsensing import Credit, CrowdsensingEnv, StepOutcome
from mcsim.envs.features import CANDIDATE_FEATURES, TASK_FEATURES
from mcsim.platform.metrics import DayRecord, day_metrics

ENV_ID = "mcsim/Crowdsensing-v0"
Same = Callable[[Any, Any], bool]
RunEpisode = Callable[..., tuple[float, dict[str, Any], int]]


def mcsim_specs() -> list[str]:
    return sorted(i for i in gymnasium.registry if i.startswith("mcsim/"))


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


def random_masked(seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return lambda info: int(rng.choice(np.flatnonzero(info["action_mask"])))


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
        {"days": "validation"},
        {"n_days": 0},
        {"credit": "later"},
        {"assignment_cost": -1.0},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        CrowdsensingEnv(**kwargs)


# ------------------------------------------------------------------ determinism


def test_same_seed_same_trajectory(same: Same) -> None:
    first, second = gymnasium.make(ENV_ID), gymnasium.make(ENV_ID)
    a, b = rollout(first, seed=7), rollout(second, seed=7)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert same(x, y)


def test_different_seeds_differ(env: CrowdsensingEnv, same: Same) -> None:
    a, b = rollout(env, seed=1, steps=10), rollout(env, seed=2, steps=10)
    assert not all(same(x, y) for x, y in zip(a, b, strict=True))


def test_repetition_option_is_the_runners_day(env: CrowdsensingEnv) -> None:
    env.reset(seed=1, options={"repetition": 3})
    day, tasks = env.day, env.tasks
    env.reset(seed=2, options={"repetition": 3})
    assert env.day.label == day.label
    assert np.array_equal(env.tasks.location, tasks.location)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"week": 1})


# ------------------------------------------------------------------ actions and masks


def test_mask_pads_and_offers_exactly_the_eligible_users(
    wide_env: CrowdsensingEnv, n_users: int
) -> None:
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
        load = state.load + np.bincount([u for u, _ in picks], minlength=n_users)
        holders = {u for u, t in state.held | set(picks) if t == task}
        eligible = {u for u in range(n_users) if load[u] < state.g and u not in holders}
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


def test_bad_actions_raise(env: CrowdsensingEnv, run_episode: RunEpisode) -> None:
    env.reset(seed=0)
    for action in (-1, env.n_candidates + 1, 1.5):
        with pytest.raises(ValueError, match="not in Discrete"):
            env.step(action)
    run_episode(env, lambda info: env.n_candidates, seed=0)
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(0)


# ------------------------------------------------------------------ rewards, episodes


def test_random_episode_reward_is_completed_copies(
    env: CrowdsensingEnv, run_episode: RunEpisode
) -> None:
    total, info, steps = run_episode(env, random_masked(5), seed=5)
    result = env.world.result()
    completed = int(result.pairs["completed"].sum())
    assert total == completed == info["completed"] == info["metrics"]["completed"]
    assert info["assigned"] == len(result.pairs) == info["metrics"]["assigned"]
    assert info["metrics"]["iterations"] == steps  # one iteration per step
    assert info["task"] == -1 and info["decision"] == len(result.decisions)
    assert completed > 0


def test_episode_metrics_are_the_results_day_metrics(
    env: CrowdsensingEnv, run_episode: RunEpisode, same: Same
) -> None:
    """The env scores a day off the world's arrays (World.record), not its result's frames:
    the same metrics, exactly, as the runner's day_metrics of the result."""
    for seed in range(3):
        _, info, _ = run_episode(env, random_masked(seed), seed=seed)
        result = env.world.result(events=False)
        expected = day_metrics(
            result, env.pipeline.prepared.test_model, patterns=env.world.knowledge.patterns
        )
        assert same(info["metrics"], expected)
        record, of_result = env.world.record(), DayRecord.of(result)
        for field in dataclasses.fields(DayRecord):
            assert same(getattr(record, field.name), getattr(of_result, field.name)), field.name


def test_coverage_reward_pays_p_loc_of_each_pick(run_episode: RunEpisode) -> None:
    dense = CrowdsensingEnv(reward="coverage")
    total, _, _ = run_episode(dense, random_masked(2), seed=2)
    pairs = dense.world.result().pairs
    model = dense.pipeline.prepared.knowledge.location_model
    p = model.prob(pairs["user"].to_numpy(), pairs["location"].to_numpy())
    assert total == pytest.approx(p.sum())
    assert np.allclose(pairs["coverage"], p)


def test_skip_everything_assigns_nothing(env: CrowdsensingEnv, run_episode: RunEpisode) -> None:
    total, info, _ = run_episode(env, lambda info: env.n_candidates, seed=4)
    assert total == 0 and info["assigned"] == 0
    assert info["metrics"]["unassigned"] == env.scenario.tasks.copies


def test_completion_credit_at_assignment_pays_each_pick_its_own_outcome(
    env: CrowdsensingEnv,
) -> None:
    """Credited at the step that assigned it, each completed copy's reward is 1 exactly on
    its pick; the return is the world's completed copies (the oracle of the sensing rule)."""
    for seed in range(8):
        _, info = env.reset(seed=seed)
        act, rewards, picks = random_masked(seed), [], []
        terminated = False
        while not terminated:
            action = act(info)
            picked = action < env.n_candidates
            _, reward, terminated, _, info = env.step(action)
            rewards.append(reward)
            picks.append(picked)
        pairs = env.world.result().pairs
        assert sum(rewards) == info["completed"] == int(pairs["completed"].sum())
        assert all(p for p, r in zip(picks, rewards, strict=True) if r > 0)  # only picks pay


def test_sensed_credit_pays_when_the_world_senses(run_episode: RunEpisode) -> None:
    late = CrowdsensingEnv(credit="sensed")
    total, info, _ = run_episode(late, random_masked(3), seed=3)
    assert total == info["completed"] == info["metrics"]["completed"]


@pytest.mark.parametrize("credit", ["assignment", "sensed"])
def test_credits_count_claims_and_take_back_rejected_copies(
    run_episode: RunEpisode, credit: Credit
) -> None:
    """Dishonest users' claims are credited like sensed copies; counting accepted copies, the
    last step takes back what the validator rejected, so the return is the day's completed
    (accepted) copies. Noise phones (``sensor: none``) are rejected as not real."""
    checked = {"dishonest.share": 0.3, "validation.validator": "hapt",
               "validation.count": "accepted"}  # fmt: skip
    env = CrowdsensingEnv(overrides=checked, credit=credit)
    for seed in range(3):
        total, info, _ = run_episode(env, random_masked(seed), seed=seed)
        metrics = info["metrics"]
        assert total == metrics["completed"] == metrics["accepted"]
        assert info["completed"] == metrics["received"] >= metrics["fabricated"] > 0


def test_lagrangian_reward_charges_each_assignment(run_episode: RunEpisode) -> None:
    priced = CrowdsensingEnv(reward="lagrangian", assignment_cost=0.25)
    total, info, _ = run_episode(priced, random_masked(6), seed=6)
    assert total == pytest.approx(info["completed"] - 0.25 * info["assigned"])


def test_callable_reward_sees_each_step_outcome(run_episode: RunEpisode) -> None:
    seen: list[StepOutcome] = []

    def reward(outcome: StepOutcome) -> float:
        seen.append(outcome)
        return 2.0 * outcome.completed + outcome.invalid

    custom = CrowdsensingEnv(reward=reward)
    total, info, steps = run_episode(custom, random_masked(8), seed=8)
    assert len(seen) == steps and total == 2 * info["completed"]
    assert sum(o.assigned for o in seen) == info["assigned"]
    assert all((o.user >= 0) == o.assigned for o in seen)


# ------------------------------------------------------------------ days to train and test on


def test_train_and_test_days_are_disjoint_and_named() -> None:
    train, test = CrowdsensingEnv(days="train"), CrowdsensingEnv(days="test", n_days=5)
    train_days, test_days = set(), set()
    for seed in range(30):
        _, info = train.reset(seed=seed)
        assert info["split"] == "train" and 0 <= info["day_index"] < train.n_days
        assert info["day"] == train.day.label
        train_days.add(info["day"])
        _, info = test.reset(seed=seed)
        test_days.add(info["day"])
    assert train.n_days == 1000 and len(train_days) >= 25  # 30 draws from 1,000 days
    assert len(test_days) == 5 and not train_days & test_days


def test_test_day_is_the_runners_job(env: CrowdsensingEnv) -> None:
    test = CrowdsensingEnv(days="test")
    _, info = test.reset(seed=0, options={"day": 2})
    job = test.pipeline.world(2)
    assert info["day"] == job.day.label and np.array_equal(test.tasks.location, job.tasks.location)
    with pytest.raises(ValueError, match=r"day must lie in 0\.\.4 \(test days\), got 5"):
        test.reset(options={"day": 5})


def test_training_episodes_draw_new_task_pools_on_a_day() -> None:
    train = CrowdsensingEnv(days="train", n_days=1)
    train.reset(seed=0)
    first = train.tasks.location.copy()
    train.reset(seed=1)
    assert train.n_days == 1 and not np.array_equal(first, train.tasks.location)


# ------------------------------------------------------------------ ecosystem


def test_rgb_array_render_draws_the_campus() -> None:
    made = gymnasium.make(ENV_ID, render_mode="rgb_array")
    made.reset(seed=0)
    frame = made.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.shape[2] == 3
    made.step(0)
    again = cast(np.ndarray, made.render())  # an rgb_array env renders an array
    assert not np.array_equal(frame, again)  # a pick moves the current task or ring
    assert CrowdsensingEnv().render() is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_with_default_arguments(mode: str) -> None:
    envs = gymnasium.make_vec(ENV_ID, num_envs=2, vectorization_mode=mode)
    try:
        obs, _ = envs.reset(seed=0)
        shape = envs.single_observation_space.shape
        assert shape is not None
        assert obs.shape == (2, *shape)
        for _ in range(70):  # past the end of a day: vector envs reset by themselves
            obs, *_ = envs.step(np.zeros(2, dtype=np.int64))
        assert obs.shape[0] == 2
    finally:
        envs.close()


def test_sb3_make_vec_env_and_checker() -> None:
    sb3 = pytest.importorskip("stable_baselines3", reason="the 'rl' extra is not installed")
    from stable_baselines3.common.env_checker import check_env as sb3_check_env
    from stable_baselines3.common.env_util import make_vec_env

    envs = make_vec_env(ENV_ID, n_envs=2, seed=0)
    assert envs.num_envs == 2
    envs.reset()
    envs.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(CrowdsensingEnv(), warn=True)
    assert sb3.__version__
