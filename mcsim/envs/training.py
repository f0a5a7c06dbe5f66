"""Train an agent in the Gym env on training days: ``mcsim train-agent``.

The agent learns on ``days="train"`` episodes (:mod:`mcsim.app.days`: never a test day) with
Stable-Baselines3 (the ``rl`` extra). The output folder is an agent usable as a policy
(:mod:`mcsim.envs.agent_policy`): ``model.zip``, ``agent.json`` (algorithm, observation
layout, env settings, seed, steps and throughput) and ``logs/progress.csv`` (SB3's training
log; TensorBoard files too when ``tensorboard`` is installed).

Long runs show a progress bar and survive a kill: every ``checkpoint_steps`` the model is
saved (atomically, with its record), and ``resume=True`` continues from the last save up to
the requested steps. ``max_minutes`` stops a run at a time budget (saved; resumable). A resumed run is not bit-identical to an uninterrupted one (the rollout
in flight and the environments' generators restart), but it is seeded and reproducible from
its checkpoint.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcsim.envs.agent_policy import (
    MODEL_FILE,
    RECORD_FILE,
    algorithm_class,
    read_record,
    save_record,
)
from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.errors import MCSimError


@dataclass(frozen=True)
class TrainingSettings:
    """What ``train-agent`` trains, and how.

    Attributes:
        scenario: scenario file (None: the shipped campus).
        overrides: scenario overrides (dotted keys).
        algo: ``maskable-ppo`` (default), ``ppo`` or ``dqn``.
        steps: environment steps to train for (in total, across resumptions).
        seed: seeds the model and the environments.
        env: keyword arguments of :class:`CrowdsensingEnv` (reward, assignment_cost, credit,
            n_candidates, n_days...); ``days`` is always ``"train"``.
        n_envs: environments stepped per rollout (in this process).
        checkpoint_steps: steps between two saves.
        max_minutes: stop (and save) after this much training time [min]; None: no limit.
    """

    scenario: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    algo: str = "maskable-ppo"
    steps: int = 200_000
    seed: int = 0
    env: Mapping[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    checkpoint_steps: int = 20_000
    max_minutes: float | None = None


def _make_env(settings: TrainingSettings) -> CrowdsensingEnv:
    if "days" in settings.env:
        raise MCSimError("train-agent trains on training days only; remove 'days' from env")
    return CrowdsensingEnv(settings.scenario, dict(settings.overrides), days="train",
                           **dict(settings.env))  # fmt: skip


def _check_folder(out: Path, resume: bool, overwrite: bool) -> bool:
    """Whether to resume from ``out``; refuses to replace an agent without ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise MCSimError(f"{out}: exists and is not a folder; expected an agent folder")
    has_model = (out / MODEL_FILE).is_file()
    if resume:
        if not has_model:
            raise MCSimError(f"{out}: nothing to resume (no {MODEL_FILE}); drop --resume")
        return True
    if has_model and not overwrite:
        raise MCSimError(f"{out}: holds an agent already; pass --resume to continue its "
                         "training or --overwrite to replace it")  # fmt: skip
    return False


def train_agent(
    settings: TrainingSettings,
    out: Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume) an agent into ``out``; returns its record.

    Raises:
        MCSimError: a bad folder, scenario, setting or algorithm (one line each).
    """
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure

    out = Path(out)
    resuming = _check_folder(out, resume, overwrite)
    cls = algorithm_class(settings.algo)
    probe = _make_env(settings)
    envs = make_vec_env(lambda: _make_env(settings), n_envs=settings.n_envs, seed=settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "algo": settings.algo,
        "layout": probe.layout.to_dict(),
        "scenario": settings.scenario or "campus (shipped)",
        "scenario_sha256": _scenario_digest(probe),
        "overrides": dict(settings.overrides),
        "env": {k: v for k, v in dict(settings.env).items() if not callable(v)},
        "seed": settings.seed,
        "n_envs": settings.n_envs,
        "training_days": probe.n_days,
    }
    if resuming:
        previous = read_record(out / RECORD_FILE)
        if previous.get("layout") != record["layout"] or previous["algo"] != settings.algo:
            raise MCSimError(f"{out / RECORD_FILE}: the saved agent has another algorithm or "
                             "observation layout than these settings; expected the same")  # fmt: skip
        model = cls.load(out / MODEL_FILE, env=envs, device="cpu")
    else:
        # PPO collects n_steps per env before its first update: short runs get short rollouts.
        extra = {"n_steps": min(2048, max(64, settings.steps // settings.n_envs))}
        model = cls("MlpPolicy", envs, seed=settings.seed, device="cpu", verbose=0,
                    **(extra if "ppo" in settings.algo else {}))  # fmt: skip
    formats = ["csv"] + (["tensorboard"] if _has_tensorboard() else [])
    model.set_logger(configure(str(out / "logs"), formats))
    started, done_before = time.perf_counter(), int(model.num_timesteps)

    def checkpoint() -> None:
        temporary = out / f".{MODEL_FILE}.tmp.zip"
        model.save(temporary)
        os.replace(temporary, out / MODEL_FILE)
        seconds = time.perf_counter() - started
        trained = int(model.num_timesteps) - done_before
        save_record(out, {**record, "steps": int(model.num_timesteps),
                          "steps_per_second": round(trained / seconds, 1) if seconds else None,
                          "target_steps": settings.steps})  # fmt: skip

    limit_s = None if settings.max_minutes is None else settings.max_minutes * 60.0

    class Checkpoints(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % settings.checkpoint_steps < settings.n_envs:
                checkpoint()
            return limit_s is None or time.perf_counter() - started < limit_s

    remaining = settings.steps - int(model.num_timesteps)
    if remaining > 0:
        model.learn(remaining, callback=Checkpoints(), progress_bar=progress,
                    reset_num_timesteps=not resuming)  # fmt: skip
    checkpoint()
    envs.close()
    return read_record(out / RECORD_FILE)


def _scenario_digest(env: CrowdsensingEnv) -> str:
    dumped = env.scenario.model_dump_json()
    return hashlib.sha256(dumped.encode()).hexdigest()


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True
