"""Evaluation: every metric is produced and written, on synthetic data and a tiny model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen.data import Series, load_hapt, split_by_user
from generators.sensegen.evaluate import (
    EvalConfig,
    _nn_distance,
    discriminator_accuracy,
    evaluate,
    window_std_percentiles,
)
from generators.sensegen.sample import Sampler
from mcsim.errors import InputError
from tests.generators.conftest import TINY, make_checkpoint

SMALL = EvalConfig(windows=8, window=40, train_windows=16, epochs=1, batch=4, max_lag=5)


def test_report_and_plots(synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    report = evaluate(tiny_checkpoint, out, SMALL, data_dir=synthetic_hapt)
    saved = json.loads((out / "report.json").read_text())
    assert saved["windows"] == 8 and saved["val_users"] == [2]
    for key in ("paper_discriminator_accuracy", "gru_discriminator_accuracy"):
        assert 0.0 <= saved[key] <= 1.0
    assert saved["discriminative_score"] == pytest.approx(
        abs(report["gru_discriminator_accuracy"] - 0.5)
    )
    assert saved["predictive_score"] > 0 and set(saved["wasserstein_g"]) == {"x", "y", "z"}
    assert saved["memorisation"]["ratio"] > 0
    reference = saved["real_reference"]
    assert reference["model_minus_reference"]["gru"] == pytest.approx(
        saved["gru_discriminator_accuracy"] - reference["gru_discriminator_accuracy"]
    )
    assert set(saved["std_g"]["real_training_users"]) == {"x", "y", "z"}
    spread = saved["window_std_g"]
    assert set(spread) == {"real", "generated", "real_training_users"}
    assert all(v["z"]["p10"] <= v["z"]["p50"] <= v["z"]["p90"] for v in spread.values())
    assert (out / "windows.png").is_file() and (out / "statistics.png").is_file()
    profile = saved["activity_std_g"]  # the synthetic recordings label walking and sitting
    assert {"walking", "sitting"} <= set(profile)
    assert all(set(v["generated"]) == {"x", "y", "z"} for v in profile.values())


def test_activity_windows_and_unknown_activity(
    synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    report = evaluate(tiny_checkpoint, tmp_path / "e", SMALL, synthetic_hapt, activity="walking")
    assert report["activity"] == "walking"
    with pytest.raises(InputError, match="unknown activity"):
        evaluate(tiny_checkpoint, tmp_path / "e", SMALL, synthetic_hapt, activity="swimming")


def test_classifier_separates_obviously_different_windows() -> None:
    rng = torch.Generator().manual_seed(0)
    real = torch.randn(40, 30, 3, generator=rng)
    fake = 5.0 + 0.1 * torch.randn(40, 30, 3, generator=rng)
    config = EvalConfig(epochs=15, batch=8)
    assert discriminator_accuracy(real, fake, config, "gru") > 0.9


def test_real_reference_scores_real_against_real(
    synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """The reference is real windows of other users, so it cannot depend on the generator:
    a generator of another shape leaves it unchanged while its own figures move."""
    wider = make_checkpoint(tmp_path / "wider.pt", replace(TINY, hidden_size=32))
    first = evaluate(tiny_checkpoint, tmp_path / "a", SMALL, synthetic_hapt, "walking")
    other = evaluate(wider, tmp_path / "b", SMALL, synthetic_hapt, "walking")
    assert first["std_g"]["generated"] != other["std_g"]["generated"]
    for key in ("paper_discriminator_accuracy", "gru_discriminator_accuracy", "what"):
        assert first["real_reference"][key] == other["real_reference"][key]
    assert first["std_g"]["real_training_users"] == other["std_g"]["real_training_users"]
    assert first["held_out_windows"] == round(2 * 8 * SMALL.test_frac)


def test_the_real_side_can_be_the_training_users(
    synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """``real_users="training"`` compares the model with the people it learnt from: the real
    windows are the run's draw from the training users' recordings, and only the real side
    changes (same generated windows, same yardstick of other people for copying)."""
    trained_on = replace(SMALL, real_users="training")
    report = evaluate(tiny_checkpoint, tmp_path / "t", trained_on, synthetic_hapt, "walking")
    held_out = evaluate(tiny_checkpoint, tmp_path / "v", SMALL, synthetic_hapt, "walking")
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    train, _ = split_by_user(load_hapt(synthetic_hapt), (2,))
    real, _ = Series(train, sampler.normalizer).random_windows(
        SMALL.windows, SMALL.window, torch.Generator().manual_seed(0), 1
    )
    expected = sampler.normalizer.denormalize(real.numpy()).std(axis=(0, 1))
    assert list(report["std_g"]["real"].values()) == pytest.approx(expected.tolist())
    assert report["std_g"]["real"] != held_out["std_g"]["real"]
    assert report["std_g"]["generated"] == held_out["std_g"]["generated"]
    assert report["config"]["real_users"] == "training"
    # Copying is still judged against other people, never against the training windows.
    key = "nn_distance_real_val_to_train_median"
    assert report["memorisation"][key] == held_out["memorisation"][key]


def test_relative_nearest_neighbour_distance_flags_copies_not_quiet_windows() -> None:
    rng = torch.Generator().manual_seed(0)
    train = 0.01 * torch.randn(200, 40, 3, generator=rng)  # quiet, resting-like windows
    copies = train[:20] + 1e-5 * torch.randn(20, 40, 3, generator=rng)
    fresh = 0.01 * torch.randn(20, 40, 3, generator=rng)
    assert np.median(_nn_distance(copies, train)[1]) < 0.01
    assert 1.0 < np.median(_nn_distance(fresh, train)[1]) < 1.5  # near sqrt(2)


def test_repeats_are_runs_with_the_next_seeds(
    synthetic_hapt: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Repeat r is exactly the run with seed + r, and the spread is over those runs."""
    both = evaluate(tiny_checkpoint, tmp_path / "r", replace(SMALL, repeats=2), synthetic_hapt)
    second = evaluate(tiny_checkpoint, tmp_path / "s", replace(SMALL, seed=1), synthetic_hapt)
    repeated = both["repeats"]["gru_discriminator_accuracy"]
    assert both["repeats"]["seeds"] == [0, 1]
    assert repeated["model"] == [
        both["gru_discriminator_accuracy"],
        second["gru_discriminator_accuracy"],
    ]
    reference = second["real_reference"]["gru_discriminator_accuracy"]
    assert repeated["reference"][1] == reference
    differences = np.subtract(repeated["model"], repeated["reference"])
    assert repeated["difference_stats"]["mean"] == pytest.approx(differences.mean())
    assert repeated["model_stats"]["n"] == 2
    single = evaluate(tiny_checkpoint, tmp_path / "t", SMALL, synthetic_hapt)
    assert single["repeats"]["paper_discriminator_accuracy"]["model_stats"]["sd"] is None
    saved = (tmp_path / "t" / "report.json").read_text()
    assert "NaN" not in saved


def test_window_std_percentiles_see_the_loud_windows_a_pooled_std_hides() -> None:
    """Four in five windows at 0.1 g, one in five at 0.3 g: the median is the quiet ones',
    the 90th percentile the loud ones', where quiet windows alone stay near 0.1 g."""
    quiet = np.random.default_rng(0).normal(0.0, 0.1, (80, 200, 3))
    loud = np.random.default_rng(1).normal(0.0, 0.3, (20, 200, 3))
    spread = window_std_percentiles(np.concatenate([quiet, loud]))
    assert spread["z"]["p50"] == pytest.approx(0.1, rel=0.05)
    assert spread["z"]["p90"] == pytest.approx(0.3, rel=0.05)
    assert window_std_percentiles(quiet)["z"]["p90"] < 0.12


def test_sizes_must_be_positive() -> None:
    with pytest.raises(InputError, match="repeats: expected an integer >= 1, got 0"):
        EvalConfig(repeats=0)
    with pytest.raises(InputError, match="real_users: expected one of validation, training"):
        EvalConfig(real_users="test")


@pytest.mark.slow
@pytest.mark.parametrize("activity", ["walking", "walking_upstairs", "walking_downstairs"])
def test_shipped_walking_passes_for_the_people_it_learnt_from(
    activity: str, hapt_dir: Path, tmp_path: Path
) -> None:
    """Item 4 of the phones issue on the SenseGen paper's protocol (about 4 min an activity on
    one core): neither classifier tells the shipped model's walking from its training users'
    at more than 0.60 (seed 0 measured 0.49-0.54, recorded over 8 seeds in
    ``generators/checkpoints/README.md``), while its windows stay no nearer to the training
    windows than real windows of other people are (fitting, not copying)."""
    report = evaluate(
        None, tmp_path, replace(EvalConfig(), real_users="training"), hapt_dir, activity
    )
    assert report["paper_discriminator_accuracy"] <= 0.60
    assert report["gru_discriminator_accuracy"] <= 0.60
    assert report["memorisation"]["ratio"] > 0.9
