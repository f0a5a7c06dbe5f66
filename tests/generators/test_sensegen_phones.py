"""The phone report: SenseGen readings as the world draws them against real windows
(generators/sensegen/phones.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from generators.sensegen.cli import main
from generators.sensegen.data import load_hapt
from generators.sensegen.phones import (
    PhoneConfig,
    cut_windows,
    format_report,
    log_std,
    loudness_share,
    moving_share,
    phone_report,
    real_windows,
    within_spread,
)
from mcsim.errors import InputError
from tests.generators.conftest import TINY

# Small enough for the tiny model on the synthetic folder (resting segments of 1,700 samples).
SMALL = PhoneConfig(phones=12, long_phones=2, long_steps=600, burst_steps=300)


def test_real_windows_are_cut_inside_each_users_segments(synthetic_hapt: Path) -> None:
    recordings = load_hapt(synthetic_hapt)
    walking = real_windows(recordings, 1, 300)  # samples 100-1099 of each user: 3 windows
    sitting = real_windows(recordings, 4, 300)  # samples 1200-2899: 5 windows
    assert list(walking) == [1, 2] and walking[1].shape == (3, 300, 3)
    assert sitting[2].shape == (5, 300, 3)
    first = recordings[0]
    assert np.array_equal(walking[1][1], first.acc[400:700])
    assert real_windows(recordings, 2, 300) == {}  # nobody walked upstairs
    assert cut_windows(np.zeros((7, 3)), 3).shape == (2, 3, 3)


def test_loudness_share_weighs_every_person_alike() -> None:
    # Person A: one window of std 1 g; person B: three of std 4 g. Per person, the geometric
    # means are 1 and 4, so the real geometric mean is 2 (pooled over windows it would be
    # 4 ** 0.75): generated windows of std 2 are as loud as real.
    a, b = np.zeros((1, 3)), np.full((3, 3), math.log(4.0))
    assert np.allclose(loudness_share(np.full((5, 3), math.log(2.0)), [a, b]), 1.0)
    assert np.allclose(loudness_share(np.full((5, 3), math.log(1.0)), [a, b]), 0.5)


def test_within_spread_is_the_mean_std_inside_groups() -> None:
    first = np.array([[0.0], [2.0]])  # std (ddof 1) sqrt(2)
    second = np.array([[1.0], [1.0], [1.0]])  # std 0
    single = np.array([[5.0]])  # no spread: left out
    assert within_spread([first, second, single]) == pytest.approx(math.sqrt(2) / 2)
    assert np.isnan(within_spread([single])).all()


def test_log_std_and_moving_share() -> None:
    still = np.zeros((1, 50, 3))
    moving = np.zeros((1, 50, 3))
    moving[0, ::2, 1] = 0.2  # y std 0.1 g
    windows = np.concatenate([still, moving, still, still])
    assert moving_share(windows, 0.05) == 0.25
    assert moving_share(windows, 0.2) == 0.0
    assert math.isnan(moving_share(windows[:0], 0.05))
    assert log_std(still)[0, 0] == pytest.approx(math.log(1e-6))  # finite for a flat window


def test_report_of_a_tiny_model(synthetic_hapt: Path, tiny_checkpoint: Path) -> None:
    report = phone_report(tiny_checkpoint, SMALL, data_dir=synthetic_hapt)
    assert list(report["activities"]) == ["walking", "sitting"]  # the activities with data
    walking, sitting = report["activities"]["walking"], report["activities"]["sitting"]
    assert set(walking) == {"loudness_share", "spread", "real_spread"}
    assert all(v > 0 for v in walking["loudness_share"].values())
    # User 2 is the tiny checkpoint's validation user: only user 1's 1,700 sitting samples
    # are real, 13 readings of 128 samples or 5 long-stream windows of 300.
    assert sitting["real_windows"] == 13 and sitting["real_long_windows"] == 5
    assert 0.0 <= sitting["long_moving_share"] <= 1.0
    assert report == phone_report(tiny_checkpoint, SMALL, data_dir=synthetic_hapt)
    other = phone_report(tiny_checkpoint, replace(SMALL, seed=1), data_dir=synthetic_hapt)
    assert other["activities"]["walking"] != walking
    table = format_report(report)
    assert table.count("\n") == 3 and "| sitting |" in table and "of 5)" in table


def test_a_styled_model_is_measured_per_style(
    synthetic_hapt: Path, checkpoint_factory: Callable[..., Path], tmp_path: Path
) -> None:
    styled = checkpoint_factory(tmp_path / "styled.pt", replace(TINY, n_styles=1))
    report = phone_report(styled, SMALL, data_dir=synthetic_hapt)
    walking = report["activities"]["walking"]
    assert report["styles"] == 1
    assert list(walking["style_loudness_share"]) == ["user01"]
    # One style: the style's share is the whole model's.
    assert walking["style_loudness_share"]["user01"] == pytest.approx(walking["loudness_share"])


def test_bad_sizes_and_unconditioned_models_are_refused(
    synthetic_hapt: Path, checkpoint_factory: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="phones must be >= 2, got 1"):
        PhoneConfig(phones=1)
    with pytest.raises(InputError, match=r"burst_steps \(600\) must not exceed long_steps \(500\)"):
        PhoneConfig(long_steps=500, burst_steps=600)
    plain = checkpoint_factory(tmp_path / "plain.pt", replace(TINY, n_conditions=0))
    with pytest.raises(InputError, match="needs a checkpoint conditioned on activities"):
        phone_report(plain, SMALL, data_dir=synthetic_hapt)


def test_cli_prints_the_table_and_writes_json(
    synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "phones.json"
    argv = ["sensegen", "phones", "--checkpoint", str(tiny_checkpoint), "--data"]
    argv += [str(synthetic_hapt), "--phones", "6", "--long-phones", "2", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| walking |" in printed and f"wrote {out}" in printed
    assert json.loads(out.read_text())["config"]["phones"] == 6
    assert main([*argv[:-2], "--phones", "1"]) == 1  # one line, no traceback
    assert "phones must be >= 2" in capsys.readouterr().err


def test_shipped_phones_are_loud_enough(hapt_dir: Path) -> None:
    """Item 4's amplitude half, as phones deliver it: walking, upstairs and downstairs z within
    10 % of the training users' (0.97 / 0.99 / 0.94 at 800 phones, seed 0)."""
    config = PhoneConfig(phones=100, long_phones=5, long_steps=1000)
    report = phone_report(None, config, data_dir=hapt_dir)
    for name in ("walking", "walking_upstairs", "walking_downstairs"):
        assert report["activities"][name]["loudness_share"]["z"] == pytest.approx(1.0, abs=0.1)
    for name in ("sitting", "standing", "laying"):
        rest = report["activities"][name]
        assert rest["long_moving_share"] <= 0.1  # 20-s resting streams stay at rest
