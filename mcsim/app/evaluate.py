"""Evaluate a policy or an agent on a scenario's days: ``mcsim.evaluate`` and ``mcsim evaluate``.

:func:`evaluate` returns one row per episode with ``metrics.csv``'s columns, so a learned agent
and the heuristics are compared with the same numbers (``fulfillment``, ``completion_ratio``,
``tasks_per_user``...) on the same days:

* a **policy** (a name such as ``"MDP"``, a ``module:Class`` path, an
  :class:`~policies.AllocationPolicy`, or a trained agent's folder, which becomes an
  :class:`~mcsim.envs.agent_policy.AgentPolicy`) runs the closed loop on the full state,
  exactly as ``mcsim run`` does: on test days the rows equal ``mcsim run``'s for the same
  scenario and repetitions (``alloc_seconds`` aside, a wall time);
* an **agent** acting in the Gym env (an object with ``act(env)``, such as
  :class:`~mcsim.envs.agents.PolicyAgent`, or anything with Stable-Baselines3's
  ``predict(obs, ...)``) plays the same days as env episodes (test day ``i`` is
  ``reset(options={"day": i})``, which is the runner's job ``i``).

Days: ``"test"`` (default) are the runner's jobs (variant, 0 .. episodes-1); ``"train"`` the
first ``episodes`` days of the training pool (:mod:`mcsim.app.days`), with the task pool and
phones of stream key ``TRAIN_DAY_OFFSET + i``, to measure how much an agent overfits. The env's
default settings apply (``sensor: none``: the allocation metrics do not depend on the phones'
streams).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mcsim.app.days import SPLITS, TRAINING_POOL, Split
from mcsim.app.jobs import job_settings
from mcsim.app.pipeline import Pipeline
from mcsim.app.scenario import Variant, load_scenario, scenario_path, shipped_scenario
from mcsim.envs.crowdsensing import DEFAULT_OVERRIDES, DEFAULT_SCENARIO, CrowdsensingEnv
from mcsim.errors import MCSimError
from mcsim.platform.metrics import day_metrics
from mcsim.sim import World, simulate
from policies import AllocationPolicy, make_policy


def _as_policy(subject: Any) -> tuple[str, AllocationPolicy] | None:
    """(display name, policy) when ``subject`` is run as a policy; None for a Gym agent."""
    if isinstance(subject, AllocationPolicy):
        return subject.name, subject
    if isinstance(subject, str | Path):
        text = str(subject)
        if Path(text).exists() or text.endswith(".zip"):
            from mcsim.envs.agent_policy import AgentPolicy

            return "agent", AgentPolicy(path=text)
        return text, make_policy(text)
    return None


def _gym_actor(subject: Any) -> Any:
    """``act(env) -> action`` of an env agent or of a model with ``predict``."""
    if hasattr(subject, "act"):
        return subject.act
    if hasattr(subject, "predict"):

        def act(env: Any) -> int:
            core = env.unwrapped
            observation = core._observation()
            try:
                action, _ = subject.predict(
                    observation, action_masks=core.action_masks(), deterministic=True
                )
            except TypeError:  # a model without action masks
                action, _ = subject.predict(observation, deterministic=True)
            return int(action)

        return act
    raise MCSimError(
        f"cannot evaluate {type(subject).__name__}: expected a policy name, an AllocationPolicy, "
        "an agent folder, an agent with act(env) or a model with predict(obs)"
    )


def _check(days: str, episodes: int) -> None:
    if days not in SPLITS:
        raise MCSimError(f"days must be 'train' or 'test', got {days!r}")
    if episodes < 1:
        raise MCSimError(f"episodes must be >= 1, got {episodes}")


def evaluate(
    agent_or_policy: Any,
    scenario: str | Path | None = None,
    *,
    episodes: int | None = None,
    days: Split = "test",
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    variant: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per episode (``metrics.csv``'s columns) of a policy or an agent.

    Args:
        agent_or_policy: what to evaluate (module doc).
        scenario: scenario file or shipped name (None: ``campus``).
        episodes: days to play (None: the scenario's ``repetitions``).
        days: ``"test"`` or ``"train"``.
        seed: the scenario's seed (None: the file's).
        overrides: scenario overrides, over the env's defaults (``sensor: none``).
        variant: the sweep variant.
        env_kwargs: settings of the env a Gym agent acts in (e.g. ``n_candidates``).

    Raises:
        MCSimError: a bad scenario, policy, agent or argument (one line each).
    """
    if scenario is not None:
        scenario = scenario_path(scenario)
    merged = {**DEFAULT_OVERRIDES, **(overrides or {})}
    if seed is not None:
        merged["seed"] = seed
    file = load_scenario(shipped_scenario(DEFAULT_SCENARIO) if scenario is None else scenario,
                         merged)  # fmt: skip
    if not 0 <= variant < len(file.variants):
        raise MCSimError(f"variant must lie in 0..{len(file.variants) - 1}, got {variant}")
    chosen = file.variants[variant]
    n = chosen.scenario.repetitions if episodes is None else int(episodes)
    _check(days, n)
    as_policy = _as_policy(agent_or_policy)
    if as_policy is not None:
        return _policy_rows(chosen, days, n, *as_policy)
    env = CrowdsensingEnv(scenario, merged, variant=variant, days=days,
                          n_days=max(n, TRAINING_POOL) if days == "train" else n,
                          **dict(env_kwargs or {}))  # fmt: skip
    return _agent_rows(env, chosen, _gym_actor(agent_or_policy), n, type(agent_or_policy).__name__)


def _row(
    variant: Variant, pipeline: Pipeline, index: int, name: str, world: World, metrics: dict
) -> dict[str, Any]:
    return {"variant": variant.index, "repetition": index, "policy": name,
            **job_settings(pipeline, variant, world.day.label), **metrics}  # fmt: skip


def _policy_rows(
    variant: Variant, days: Split, episodes: int, name: str, policy: AllocationPolicy
) -> pd.DataFrame:
    pipeline = Pipeline(variant.scenario, variant.index)
    test_model = pipeline.prepared.test_model
    rows = []
    for index in range(episodes):
        world = pipeline.episode(days, index, pool_size=max(episodes, TRAINING_POOL))
        metrics = day_metrics(
            simulate(world, policy), test_model, patterns=world.knowledge.patterns
        )
        rows.append(_row(variant, pipeline, index, name, world, metrics))
    return pd.DataFrame(rows)


def _agent_rows(
    env: CrowdsensingEnv, variant: Variant, act: Any, episodes: int, name: str
) -> pd.DataFrame:
    rows = []
    for index in range(episodes):
        env.reset(seed=index, options={"day": index})
        terminated, info = False, dict[str, Any]()
        while not terminated:
            _, _, terminated, _, info = env.step(np.int64(act(env)))
        rows.append(_row(variant, env.pipeline, index, name, env.world, info["metrics"]))
    return pd.DataFrame(rows)
