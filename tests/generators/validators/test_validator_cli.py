"""``mcsim validator train | evaluate | info`` (generators/validators/cli.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generators.validators.cli import main, register
from generators.validators.model import load_validator_checkpoint
from mcsim.app.cli import main as mcsim_main
from mcsim.errors import CheckpointError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_building_the_parser_imports_no_torch() -> None:
    code = "import generators.validators.cli, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_train_then_evaluate(
    synthetic_hapt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "v.pt"
    train = ["validator", "train", "--out", str(out), "--data", str(synthetic_hapt)]
    train += ["--held-out-users", "2", "--epochs", "1", "--batch", "8", "--stride", "64"]
    assert _run([*train, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "held-out users [2]" in printed
    assert load_validator_checkpoint(out).training["epochs"] == 1
    report_dir = tmp_path / "eval"
    evaluate = ["validator", "evaluate", "--checkpoint", str(out), "--data", str(synthetic_hapt)]
    evaluate += ["--out", str(report_dir), "--fakes", "10", "--no-sensegen"]
    assert _run(evaluate) == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert report["held_out_users"] == [2] and "sensegen" not in report
    assert f"wrote {report_dir}/report.json" in capsys.readouterr().out


def test_info_prints_the_training_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["validator", "info"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["held_out_users"] == [20, 21, 22, 23, 24]


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "none.pt")
    with pytest.raises(CheckpointError, match="missing"):
        _run(["validator", "info", "--checkpoint", missing])
    assert main(["info", "--checkpoint", missing]) == 1
    assert capsys.readouterr().err.startswith(f"error: {missing}: missing")
    assert mcsim_main(["validator", "info", "--checkpoint", missing]) == 1
    assert f"mcsim: error: {missing}: missing" in capsys.readouterr().err
