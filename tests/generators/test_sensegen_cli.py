"""``mcsim sensegen``: the sub-commands' arguments, files and errors (generators/sensegen/cli.py)."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen.cli import register
from mcsim.errors import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run_cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


def test_cli_writes_npy_atomically(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "streams.npy"
    argv = [
        "sensegen",
        "sample",
        "--n",
        "3",
        "--steps",
        "25",
        "--seed",
        "4",
        "--activity",
        "Walking",
        "--checkpoint",
        str(tiny_checkpoint),
        "--out",
        str(out),
    ]
    assert _run_cli(argv) == 0
    data = np.load(out)
    assert data.shape == (3, 25, 3) and data.dtype == np.float32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streams.npy", "tiny.pt"]
    assert _run_cli(argv) == 0
    assert np.array_equal(np.load(out), data)
    with pytest.raises(InputError, match="unknown activity"):
        _run_cli(
            [
                *argv[:-4],
                "--activity",
                "flying",
                "--checkpoint",
                str(tiny_checkpoint),
                "--out",
                str(out),
            ]
        )


#: A tiny ``sensegen train`` run (add ``--out``, ``--data`` and any other flags).
TINY_TRAIN = shlex.split(
    "sensegen train --val-users 2 --rounds 2 --g-steps 1 --d-steps 1 --lanes 2 --chunk 10 "
    "--d-batch 2 --window 20 --burn-in 2 --hidden-size 8 --num-layers 1 --fc-size 4 "
    "--components 2 --quiet --device cpu"
)


def test_cli_train(synthetic_hapt: Path, tmp_path: Path) -> None:
    amplitude = (
        "--amplitude-weight 2 --amplitude-every 1 --amplitude-lanes 2 --amplitude-window 8 "
        "--amplitude-target distribution"
    )
    where = ["--out", str(tmp_path / "run"), "--data", str(synthetic_hapt)]
    assert _run_cli([*TINY_TRAIN, *where, *shlex.split(amplitude), "--lr-warmup", "3"]) == 0
    model = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    stored = model["train_config"]
    assert (stored["amplitude_weight"], stored["amplitude_every"]) == (2.0, 1)
    assert (stored["amplitude_lanes"], stored["amplitude_window"], stored["lr_warmup"]) == (2, 8, 3)
    assert stored["amplitude_target"] == "distribution"
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert history[0].endswith(",amplitude_loss") and "nan" not in history[-1]


def test_a_fine_tune_without_warmup_gets_a_note(
    synthetic_hapt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(synthetic_hapt)]
    assert _run_cli([*TINY_TRAIN, *data, "--out", str(tmp_path / "a")]) == 0
    assert "--lr-warmup" not in capsys.readouterr().err  # not a fine-tune
    fine_tune = [*TINY_TRAIN, *data, "--init", str(tmp_path / "a" / "model.pt")]
    assert _run_cli([*fine_tune, "--out", str(tmp_path / "b")]) == 0
    assert "without --lr-warmup" in capsys.readouterr().err
    assert _run_cli([*fine_tune, "--out", str(tmp_path / "c"), "--lr-warmup", "5"]) == 0
    assert "--lr-warmup" not in capsys.readouterr().err


def test_eval_prints_the_reference_and_the_spread_over_repeats(
    tiny_checkpoint: Path, synthetic_hapt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sensegen", "eval", "--checkpoint", str(tiny_checkpoint), "--data", str(synthetic_hapt)]
    sizes = ["--windows", "8", "--epochs", "1", "--activity", "walking"]
    assert _run_cli([*argv, *sizes, "--repeats", "2", "--out", str(tmp_path / "e")]) == 0
    printed = capsys.readouterr().out
    assert "gru_discriminator_accuracy over 2 seeds: model " in printed
    assert "(real training users: " in printed and "; difference " in printed
    with pytest.raises(InputError, match="repeats: expected an integer >= 1, got 0"):
        _run_cli([*argv, *sizes, "--repeats", "0", "--out", str(tmp_path / "f")])
    assert not (tmp_path / "f").exists()


def test_eval_against_the_training_users(
    tiny_checkpoint: Path, synthetic_hapt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sensegen", "eval", "--checkpoint", str(tiny_checkpoint), "--data", str(synthetic_hapt)]
    sizes = ["--windows", "8", "--epochs", "1", "--out", str(tmp_path / "e")]
    assert _run_cli([*argv, *sizes, "--real-users", "training"]) == 0
    assert "real windows: the training users'" in capsys.readouterr().out
    report = json.loads((tmp_path / "e" / "report.json").read_text())
    assert report["config"]["real_users"] == "training"
    with pytest.raises(SystemExit) as exited:
        _run_cli([*argv, *sizes, "--real-users", "test"])
    assert exited.value.code == 2
    assert "argument --real-users: invalid choice: 'test'" in capsys.readouterr().err
