"""``mcsim validator train | evaluate``: the command-line face of the reading validator.

``register`` adds the sub-commands to the main ``mcsim`` parser (listed in
``mcsim.app.cli.COMMAND_MODULES``, as SenseGen's are); each sets ``func`` to a callable that
returns the exit code. Building the parser imports no torch. Errors are ``mcsim.errors``
exceptions, which the main CLI prints as one line. ``python -m generators.validators ...``
runs the same commands without ``mcsim``.
"""

from __future__ import annotations

import argparse
import json
import sys

from generators.sensegen.cli import run_commands, user_ids
from generators.validators.config import EvalConfig, TrainConfig, ValidatorConfig


def _train(args: argparse.Namespace) -> int:
    from generators.validators.evaluate import summary_lines
    from generators.validators.train import train

    config = TrainConfig(
        seed=args.seed,
        held_out_users=args.held_out_users,
        steps=args.steps,
        stride=args.stride,
        min_steps=args.min_steps,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        threads=args.threads,
    )
    ckpt = train(config, ValidatorConfig(), args.out, data_dir=args.data, progress=not args.quiet)
    record = ckpt["training"]
    print(
        f"trained {record['epochs']} epochs ({record['optimizer_steps']} steps) on users "
        f"{record['train_users'][0]}-{record['train_users'][-1]} in {record['elapsed_s']:.0f} s; "
        f"wrote {args.out}"
    )
    held_out = record["held_out"]
    report = {"held_out_users": record["held_out_users"], **held_out}
    for line in summary_lines(report):
        print(line)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from generators.validators.evaluate import evaluate, summary_lines

    config = EvalConfig(
        seed=args.seed,
        steps=args.steps,
        threshold=args.threshold,
        fakes_per_kind=args.fakes,
        sensegen_phones=args.phones,
    )
    report = evaluate(
        args.checkpoint,
        args.out,
        config,
        data_dir=args.data,
        sensegen_checkpoint=args.sensegen_checkpoint,
        sensegen=not args.no_sensegen,
    )
    for line in summary_lines(report):
        print(line)
    if args.out is None:
        return 0
    print(f"wrote {args.out}/report.json")
    return 0


def _info(args: argparse.Namespace) -> int:
    from generators.validators import SHIPPED_CHECKPOINT
    from generators.validators.model import load_validator_checkpoint

    loaded = load_validator_checkpoint(args.checkpoint or SHIPPED_CHECKPOINT)
    print(json.dumps(loaded.training, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validator`` with ``train``, ``evaluate`` and ``info`` to the ``mcsim`` parser."""
    tc, ec = TrainConfig(), EvalConfig()
    validator = subparsers.add_parser(
        "validator", help="reading validator (activity and real-vs-fabricated, HAPT)"
    )
    sub = validator.add_subparsers(dest="validator_command", required=True)

    p = sub.add_parser("train", help="train on real HAPT users; write a .pt checkpoint")
    p.add_argument("--out", required=True, help="FILE.pt to write")
    p.add_argument("--data", default=None, help="HAPT folder (default: shared/data/hapt)")
    p.add_argument("--seed", type=int, default=tc.seed)
    p.add_argument(
        "--held-out-users",
        type=user_ids,
        default=tc.held_out_users,
        help="comma-separated users never trained on (default "
        f"{','.join(map(str, tc.held_out_users))})",
    )
    p.add_argument("--steps", type=int, default=tc.steps, help="window [samples]")
    p.add_argument("--stride", type=int, default=tc.stride, help="[samples]")
    p.add_argument("--min-steps", type=int, default=tc.min_steps, help="[samples]")
    p.add_argument("--epochs", type=int, default=tc.epochs)
    p.add_argument("--batch", type=int, default=tc.batch, help="real windows per step")
    p.add_argument("--lr", type=float, default=tc.lr)
    p.add_argument("--threads", type=int, default=tc.threads, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="held-out real users, fabricated windows, SenseGen streams")
    p.add_argument("--checkpoint", default=None, help="default: the shipped validator")
    p.add_argument("--data", default=None, help="HAPT folder")
    p.add_argument("--out", default=None, help="folder for report.json (default: print only)")
    p.add_argument("--seed", type=int, default=ec.seed)
    p.add_argument("--steps", type=int, default=ec.steps, help="window [samples]")
    p.add_argument("--threshold", type=float, default=ec.threshold, help="min p_real")
    p.add_argument("--fakes", type=int, default=ec.fakes_per_kind, help="windows per kind")
    p.add_argument("--phones", type=int, default=ec.sensegen_phones, help="SenseGen streams")
    p.add_argument("--sensegen-checkpoint", default=None, help="default: the shipped SenseGen")
    p.add_argument("--no-sensegen", action="store_true", help="skip the SenseGen streams")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("info", help="print a checkpoint's training record")
    p.add_argument("--checkpoint", default=None, help="default: the shipped validator")
    p.set_defaults(func=_info)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m generators.validators train ...``)."""
    arguments = ["validator", *(sys.argv[1:] if argv is None else argv)]
    return run_commands(register, arguments, prog="python -m generators.validators")


if __name__ == "__main__":
    sys.exit(main())
