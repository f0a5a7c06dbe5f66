"""``mcsim sensegen train | sample | eval``: the command-line face of SenseGen.

``register`` adds the sub-commands to the main ``mcsim`` parser; each sets ``func`` to a
callable returning the exit code. Errors are raised as ``mcsim.errors`` exceptions, which the
main CLI prints as one line. Run this module directly to use the commands without ``mcsim``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from generators.sensegen.config import REAL_USERS, GeneratorConfig, TrainConfig


def user_ids(text: str) -> tuple[int, ...]:
    """argparse type of a comma-separated list of HAPT user ids (``--val-users 21,22``)."""
    try:
        return tuple(int(u) for u in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated user ids, got {text!r}"
        ) from exc


#: The ``train`` flags that set a :class:`TrainConfig` field of the same name (``--lr-g`` sets
#: ``lr_g``), in ``--help`` order, with their help; type and default are the field's.
_TRAIN_FLAGS: tuple[tuple[str, str | None], ...] = (
    ("rounds", None),
    ("g_steps", "G updates per round"),
    ("d_steps", "D updates per round"),
    ("lanes", "G batch size"),
    ("lane_life", "mean chunks before a lane restarts"),
    ("chunk", "TBPTT chunk [samples]"),
    ("d_batch", "m real + m fake windows"),
    ("window", "D window [samples]"),
    ("burn_in", "[samples]"),
    ("lr_g", None),
    ("lr_d", None),
    ("clip", None),
    ("drop_condition", None),
    ("input_noise", "std of noise on G's inputs, normalised units (denoising training)"),
    (
        "input_noise_relative",
        (
            "cap the noise at this share of each lane's and axis's std over the chunk "
            "(0: no cap), so that quiet signals stay legible"
        ),
    ),
    ("sampled_inputs", "share of input steps replaced by G's own samples (scheduled sampling)"),
    ("amplitude_weight", "weight of the loss on the log std of G's own windows (0: none)"),
    ("amplitude_every", "one in this many G updates carries the amplitude loss"),
    ("amplitude_lanes", "windows per loss"),
    ("amplitude_window", "their length after the burn-in [samples]"),
    (
        "amplitude_target",
        (
            "mean: pull each window's log std to its condition's real mean; distribution: "
            "match the real windows' spread too (energy distance); distribution-moving: "
            "the spread for walking, upstairs and downstairs, the mean at rest"
        ),
    ),
    ("lr_warmup", "G's learning rate rises linearly over this many first updates (0: none)"),
    ("eval_every", None),
    ("checkpoint_every", None),
)


def _train(args: argparse.Namespace) -> int:
    import torch

    from generators.sensegen.train import train

    if args.threads:
        torch.set_num_threads(args.threads)
    base, model_base = TrainConfig(), GeneratorConfig()
    # Every TrainConfig field with a flag (``_TRAIN_FLAGS``) comes from it, the rest default.
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name in vars(args)}
    config = replace(base, **{**given, "val_users": args.val_users or base.val_users})
    model = GeneratorConfig(
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        fc_size=args.fc_size,
        n_components=args.components,
        n_conditions=0 if args.unconditioned else model_base.n_conditions,
    )
    if args.init and not config.lr_warmup and not args.resume:
        print(
            "note: a fine-tune from --init without --lr-warmup: RMSProp's first steps are up "
            "to 10 learning rates long and knock the model off what it knew; --lr-warmup 100 "
            "avoids that (generators/checkpoints/README.md, 'Louder downstairs')",
            file=sys.stderr,
        )
    try:
        snap = train(
            config,
            model,
            args.out,
            data_dir=args.data,
            resume=args.resume,
            overwrite=args.overwrite,
            device=args.device,
            max_minutes=args.max_minutes,
            progress=not args.quiet,
            init=args.init,
            styles=args.styles,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted; continue with the same options and --resume (out: {args.out})",
            file=sys.stderr,
        )
        return 130
    meta = snap["metadata"]
    print(
        f"trained {meta['rounds']} rounds ({meta['generator_updates']} generator updates) "
        f"in {meta['elapsed_s']:.0f} s; val NLL {meta['final_eval_val_nll']:.3f}; "
        f"wrote {args.out}/model.pt"
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    from generators.sensegen.sample import sample_to_file

    data = sample_to_file(
        args.out,
        args.n,
        args.steps,
        args.seed,
        activity=args.activity,
        checkpoint=args.checkpoint,
        device=args.device,
    )
    print(f"wrote {args.out}: float32 {data.shape} body acceleration [g] at 50 Hz")
    return 0


def _spread(repeated: dict[str, Any]) -> str:
    """``model m [lo, hi]; reference ...; difference ...`` with 95 % intervals."""
    parts = []
    for what, sign in (("model", ""), ("reference", ""), ("difference", "+")):
        st = repeated[f"{what}_stats"]
        low, mean, high = (format(st[k], f"{sign}.3f") for k in ("ci95_low", "mean", "ci95_high"))
        parts.append(f"{what} {mean} [{low}, {high}]")
    return "; ".join(parts)


def _eval(args: argparse.Namespace) -> int:
    from generators.sensegen.evaluate import EvalConfig, evaluate

    config = EvalConfig(
        seed=args.seed,
        windows=args.windows,
        epochs=args.epochs,
        repeats=args.repeats,
        real_users=args.real_users,
    )
    report = evaluate(args.checkpoint, args.out, config, data_dir=args.data, activity=args.activity)
    print(f"real windows: the {config.real_users} users'")
    reference = report["real_reference"]
    for key in ("paper_discriminator_accuracy", "gru_discriminator_accuracy"):
        print(f"{key}: {report[key]:.3f} (real training users: {reference[key]:.3f})")
    if config.repeats > 1:
        for key in ("paper_discriminator_accuracy", "gru_discriminator_accuracy"):
            print(f"{key} over {config.repeats} seeds: " + _spread(report["repeats"][key]))
    for key in ("discriminative_score", "predictive_score"):
        print(f"{key}: {report[key]:.3f}")
    print(f"wrote {args.out}/report.json and plots")
    return 0


def _phones(args: argparse.Namespace) -> int:
    from generators.sensegen.phones import PhoneConfig, format_report, phone_report, write_report

    config = PhoneConfig(seed=args.seed, phones=args.phones, long_phones=args.long_phones)
    report = phone_report(args.checkpoint, config, data_dir=args.data)
    print(format_report(report))
    if args.out:
        print(f"wrote {write_report(report, args.out)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sensegen`` with ``train``, ``sample``, ``eval`` and ``phones`` to the ``mcsim``
    parser."""
    tc, gc = TrainConfig(), GeneratorConfig()
    sensegen = subparsers.add_parser("sensegen", help="SenseGen accelerometer generator")
    sub = sensegen.add_subparsers(dest="sensegen_command", required=True)

    p = sub.add_parser(
        "train",
        help="train on HAPT (paper Algorithm 1)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", default="runs/sensegen", help="run folder (checkpoints, curves)")
    p.add_argument(
        "--data",
        default=None,
        help="HAPT folder (default: $MCSIM_DATA/hapt or ../shared/data/hapt)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an OUT that holds a run (its checkpoint is replaced)",
    )
    p.add_argument(
        "--init",
        default=None,
        help="start from this model checkpoint's weights (fine-tuning; same shape options)",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda:0 ...")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop and save after this")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=tc.seed)
    p.add_argument(
        "--val-users",
        type=user_ids,
        default=None,
        help=f"comma-separated held-out users (default {tc.val_users})",
    )
    for field, help_text in _TRAIN_FLAGS:
        default = getattr(tc, field)
        flag = "--" + field.replace("_", "-")
        p.add_argument(flag, type=type(default), default=default, help=help_text)
    p.add_argument("--hidden-size", type=int, default=gc.hidden_size)
    p.add_argument("--num-layers", type=int, default=gc.num_layers)
    p.add_argument("--fc-size", type=int, default=gc.fc_size)
    p.add_argument("--components", type=int, default=gc.n_components)
    p.add_argument("--unconditioned", action="store_true", help="no activity input (paper)")
    p.add_argument(
        "--styles",
        action="store_true",
        help="a style per training user: condition on (activity, user); phones pick one each",
    )
    p.set_defaults(func=_train)

    p = sub.add_parser("sample", help="write generated streams to a .npy file")
    p.add_argument("--n", type=int, required=True, help="number of streams (phones)")
    p.add_argument("--steps", type=int, required=True, help="samples per stream (50 Hz)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--activity", default=None, help="HAPT activity name, e.g. walking")
    p.add_argument("--checkpoint", default=None, help="default: the shipped HAPT checkpoint")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="FILE.npy: float32 (N, T, 3) in g")
    p.set_defaults(func=_sample)

    p = sub.add_parser("eval", help="compare generated and real HAPT windows")
    p.add_argument("--checkpoint", default=None, help="default: the shipped HAPT checkpoint")
    p.add_argument("--data", default=None, help="HAPT folder")
    p.add_argument("--out", default="runs/sensegen-eval", help="folder for report.json, PNGs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--windows", type=int, default=256, help="real and generated windows each")
    p.add_argument("--epochs", type=int, default=30, help="epochs of each post-hoc model")
    p.add_argument("--activity", default=None, help="condition generation on an activity")
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="repeat both classifiers and the real reference over seeds SEED, SEED+1, ... and "
        "report their means with 95 %% intervals",
    )
    p.add_argument(
        "--real-users",
        choices=REAL_USERS,
        default="validation",
        help="whose real windows to compare with: the held-out validation users (other "
        "people; default) or the training users (the people the generator learnt from: the "
        "SenseGen paper's and TimeGAN's protocol)",
    )
    p.set_defaults(func=_eval)

    p = sub.add_parser(
        "phones",
        help="what simulated phones deliver: readings against the training users' windows",
    )
    p.add_argument("--checkpoint", default=None, help="default: the shipped HAPT checkpoint")
    p.add_argument("--data", default=None, help="HAPT folder")
    p.add_argument("--out", default=None, help="also write the report to this JSON file")
    p.add_argument("--seed", type=int, default=0, help="sensor seed of the readings")
    p.add_argument("--phones", type=int, default=800, help="phones per activity")
    p.add_argument("--long-phones", type=int, default=48, help="60-s resting streams each")
    p.set_defaults(func=_phones)


def run_commands(register: Callable[[Any], None], argv: list[str], prog: str = "mcsim") -> int:
    """Parse ``argv`` with the sub-commands ``register`` adds and run the chosen one: the
    plug-ins' stand-alone entry points (errors as one line, exit 1, as ``mcsim`` does)."""
    from mcsim.errors import MCSimError

    parser = argparse.ArgumentParser(prog=prog)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MCSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m generators.sensegen.cli sensegen ...``)."""
    return run_commands(register, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
