"""The agent commands of ``mcsim``: ``train-agent`` and ``evaluate``.

``mcsim train-agent SCENARIO --algo maskable-ppo --steps N --out DIR`` trains an agent on the
scenario's training days (:mod:`mcsim.envs.training`); ``mcsim evaluate SCENARIO --agent DIR``
runs the scenario with the agent beside its policies (or ``--policies``) and writes the same
results folder as ``mcsim run`` (test days: the runner's jobs). Registered by
:data:`mcsim.app.cli.COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mcsim.errors import MCSimError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-agent`` and ``evaluate`` to the ``mcsim`` parser."""
    from mcsim.app.cli import _add_overrides, _positive

    train = subparsers.add_parser(
        "train-agent",
        help="train an RL agent in the Gym env on the scenario's training days (the rl extra)",
        description="Train an agent on SCENARIO's training days (never its test days) and "
        "write DIR: model.zip, agent.json (algorithm, observation layout, settings, "
        "throughput) and logs/progress.csv. A killed run continues with --resume.",
    )
    train.add_argument("scenario", help="scenario YAML file, or the name of a shipped scenario")
    train.add_argument("--out", required=True, help="agent folder to write")
    train.add_argument("--algo", default="maskable-ppo", choices=("maskable-ppo", "ppo", "dqn"))
    train.add_argument("--steps", type=_positive, default=200_000, help="environment steps")
    train.add_argument("--reward", default="completion",
                       choices=("completion", "lagrangian", "coverage"))  # fmt: skip
    train.add_argument("--assignment-cost", type=float, default=0.0,
                       help="lambda of the lagrangian reward (per assignment)")  # fmt: skip
    train.add_argument("--credit", default="assignment", choices=("assignment", "sensed"))
    train.add_argument("--n-candidates", type=_positive, default=8, help="K")
    train.add_argument("--n-days", type=_positive, default=None, help="training days in the pool")
    train.add_argument("--n-envs", type=_positive, default=1, help="envs per rollout")
    train.add_argument("--checkpoint-steps", type=_positive, default=20_000)
    train.add_argument("--max-minutes", type=float, default=None,
                       help="stop and save after this much training time [min]")  # fmt: skip
    train.add_argument("--resume", action="store_true", help="continue the agent in --out")
    train.add_argument("--overwrite", action="store_true", help="replace the agent in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_overrides(train)
    train.set_defaults(func=_train_command)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="run a scenario with a trained agent beside its policies (a results folder)",
        description="Like mcsim run, with the agent in DIR added as the policy 'agent' and "
        "--episodes test days.",
    )
    evaluate.add_argument("scenario", help="scenario YAML file, or a shipped scenario's name")
    evaluate.add_argument("--agent", required=True, help="agent folder of mcsim train-agent")
    evaluate.add_argument("--episodes", type=_positive, default=None,
                          help="test days (default: the scenario's repetitions)")  # fmt: skip
    evaluate.add_argument("--out", default=None, help="results folder (default runs/<name>)")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    evaluate.add_argument("--workers", type=_positive, default=None, help="processes")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    _add_overrides(evaluate)
    evaluate.set_defaults(func=_evaluate_command)


def _train_command(args: argparse.Namespace) -> int:
    from mcsim.app.cli import overrides_from, scenario_path
    from mcsim.envs.training import TrainingSettings, train_agent

    overrides = overrides_from(args)
    seed = overrides.pop("seed", None)
    env: dict[str, Any] = {
        "reward": args.reward,
        "assignment_cost": args.assignment_cost,
        "credit": args.credit,
        "n_candidates": args.n_candidates,
    }
    if args.n_days is not None:
        env["n_days"] = args.n_days
    settings = TrainingSettings(
        scenario=str(scenario_path(args.scenario)),
        overrides=overrides,
        algo=args.algo,
        steps=args.steps,
        seed=0 if seed is None else int(seed),
        env=env,
        n_envs=args.n_envs,
        checkpoint_steps=args.checkpoint_steps,
        max_minutes=args.max_minutes,
    )
    try:
        record = train_agent(settings, Path(args.out), resume=args.resume,
                             overwrite=args.overwrite, progress=not args.quiet)  # fmt: skip
    except ValueError as exc:  # a bad env setting
        raise MCSimError(str(exc)) from None
    print(f"wrote {args.out}: {record['algo']}, {record['steps']} steps, "
          f"{record['steps_per_second']} steps/s")  # fmt: skip
    return 0


def _evaluate_command(args: argparse.Namespace) -> int:
    from mcsim.app.cli import overrides_from, scenario_path
    from mcsim.app.runner import run_scenario
    from mcsim.app.scenario import load_scenario
    from mcsim.envs.agent_policy import load_agent

    load_agent(args.agent)  # a bad agent fails here, before anything runs
    path = scenario_path(args.scenario)
    overrides = overrides_from(args)
    base = load_scenario(path, overrides).scenario
    policies: list[Any] = [p.model_dump(exclude_defaults=True) for p in base.policies]
    policies.append({"name": "agent", "params": {"path": str(Path(args.agent).resolve())}})
    overrides["policies"] = policies
    run_scenario(path, args.out, overwrite=args.overwrite, workers=args.workers,
                 repetitions=args.episodes, quiet=args.quiet, overrides=overrides)  # fmt: skip
    return 0
