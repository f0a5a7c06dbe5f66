"""Validator evaluation (generators/validators/evaluate.py): the bookkeeping against a stub
validator with known answers, SenseGen streams from a tiny generator, and the shipped pair on
real held-out users."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generators.validators.config import EvalConfig
from generators.validators.data import RealWindows
from generators.validators.evaluate import (
    evaluate,
    fake_report,
    real_report,
    sensegen_report,
    summary_lines,
)
from mcsim.platform.validation import Judgement


class _Loudness:
    """Stub: walking if the window's std exceeds 0.05 g, else standing; real iff its std is
    in [0.003, 0.5) g."""

    sample_rate_hz = 50.0
    min_steps = 16

    def judge(self, windows: np.ndarray) -> Judgement:
        std = windows.std(axis=(1, 2))
        activity = np.where(std > 0.05, 1, 5).astype(np.int64)
        return Judgement(activity, ((std >= 0.003) & (std < 0.5)).astype(np.float64))


def _held_out() -> RealWindows:
    rng = np.random.default_rng(0)
    loud = rng.normal(0, 0.2, (4, 128, 3))
    quiet = rng.normal(0, 0.01, (6, 128, 3))
    return RealWindows(
        np.concatenate([loud, quiet]).astype(np.float32),
        np.array([1, 1, 2, 3, 4, 4, 5, 5, 6, 6]),
        np.full(10, 21),
    )


def test_real_report_counts() -> None:
    report = real_report(_Loudness(), _held_out())
    assert report["n"] == 10 and report["accepted"] == 1.0
    assert report["family_accuracy"] == 1.0
    assert report["activity_accuracy"] == pytest.approx(4 / 10)  # 2 walking + 2 standing
    per = report["per_activity"]
    assert per["walking"] == {
        "n": 2,
        "activity_accuracy": 1.0,
        "family_accuracy": 1.0,
        "accepted": 1.0,
    }
    assert per["upstairs"]["activity_accuracy"] == 0.0 and per["standing"]["n"] == 2
    assert report["confusion"][3] == [0, 0, 0, 0, 2, 0]  # sitting judged standing
    empty = real_report(_Loudness(), RealWindows(*(a[:2] for a in vars(_held_out()).values())))
    assert empty["per_activity"]["laying"]["activity_accuracy"] is None


def test_fake_report_per_kind() -> None:
    config = EvalConfig(fakes_per_kind=50, noise_std_g=1.0)
    report = fake_report(_Loudness(), _held_out(), config)
    assert set(report) == {"noise", "shuffled", "smooth", "walk", "offset", "noise_1g"}
    assert report["noise_1g"]["rejected"] == 1.0
    assert report["noise_1g"]["balanced_accuracy"] == 1.0
    assert report["shuffled"]["rejected"] == 0.0  # same loudness as the real windows
    assert report["shuffled"]["balanced_accuracy"] == 0.5
    assert report == fake_report(_Loudness(), _held_out(), config)  # seeded


def test_sensegen_report_with_a_tiny_generator(tiny_checkpoint: Path) -> None:
    config = EvalConfig(steps=32, sensegen_phones=3, sensegen_windows=2)
    report = sensegen_report(_Loudness(), config, tiny_checkpoint)
    assert list(report) == ["walking", "upstairs", "downstairs", "sitting", "standing", "laying"]
    for row in report.values():
        assert row["n"] == 6
        assert sum(row["predicted"].values()) == pytest.approx(1.0)
        assert row["accepted_and_fits"] <= min(row["accepted"], row["family_accuracy"])


def test_the_shipped_validator_on_real_held_out_users(hapt_dir: Path, tmp_path: Path) -> None:
    config = EvalConfig(fakes_per_kind=100, sensegen_phones=8, sensegen_windows=1)
    report = evaluate(out=tmp_path, config=config, data_dir=hapt_dir)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert report["held_out_users"] == [20, 21, 22, 23, 24]
    assert report["real"]["family_accuracy"] > 0.95 and report["real"]["accepted"] > 0.95
    for kind in ("noise", "shuffled", "noise_0.3g"):
        assert report["fabricated"][kind]["balanced_accuracy"] > 0.95, kind
    assert set(report["sensegen"]) == {
        "walking",
        "upstairs",
        "downstairs",
        "sitting",
        "standing",
        "laying",
    }
    lines = summary_lines(report)
    assert lines[0].startswith("held-out users [20, 21, 22, 23, 24]: activity")
    assert any(line.startswith("SenseGen streams") for line in lines)
