"""The numpy SenseGen (``generators.sensegen.runtime``): torch's arithmetic without torch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT, THREADS_VARIABLE
from generators.sensegen.config import GeneratorConfig
from generators.sensegen.runtime import BLOCK_ROWS, NumpyGenerator, person_styles
from generators.sensegen.sample import Sampler
from mcsim.errors import CheckpointError, InputError

REPO = Path(__file__).resolve().parents[2]


def _keys(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**40, (n, 4)).astype(np.uint64)


@pytest.mark.parametrize("conditions", ["none", "activities", "styles"])
def test_windows_match_the_torch_oracle(
    tmp_path: Path,
    checkpoint_factory: Callable[..., Path],
    window_oracle: Callable[..., np.ndarray],
    conditions: str,
) -> None:
    """Step by step, the numpy roll and torch's keyed windows are the torch model's (within
    float32 rounding); a styled model's window is in the style of its key's phone."""
    conditioned = conditions != "none"
    config = GeneratorConfig(
        hidden_size=16,
        num_layers=2,
        fc_size=8,
        n_components=3,
        n_conditions=13 * conditioned,
        n_styles=4 * (conditions == "styles"),
    )
    path = checkpoint_factory(tmp_path / "g.pt", config)
    generator = NumpyGenerator.from_checkpoint(path, burn_in=5, chunk=32, workers=2)
    sampler = Sampler.from_checkpoint(path, burn_in=5)
    keys = _keys(10)
    activities = np.array([1, 4, 5, 0, 1, 2, 3, 6, 1, 4]) * conditioned
    ids = activities
    if config.n_styles:
        ids = config.condition_ids(activities, person_styles(keys[:, 0], config.n_styles))
        assert (ids >= 13).sum() == 9  # every row but the unconditioned one has a style
    out = generator.windows(3, keys, 12, activities)
    np.testing.assert_allclose(sampler.windows(3, keys, 12, activities), out, atol=1e-5)
    assert out.shape == (10, 12, 3) and out.dtype == np.float32
    for row in range(10):
        expected = window_oracle(
            sampler.model, sampler.normalizer, 5, 3, keys[row], 12, int(ids[row])
        )
        np.testing.assert_allclose(out[row], expected, atol=1e-5)
    assert generator.phone_steps == 10 * (5 + 12)


def test_a_person_keeps_one_style_and_styles_are_uniform() -> None:
    phones = np.arange(40_000)
    styles = person_styles(phones, 20)
    assert styles.min() == 1 and styles.max() == 20
    counts = np.bincount(styles, minlength=21)[1:]
    assert counts.min() > 1_800 and counts.max() < 2_200  # 2,000 expected, sd ~44
    again = person_styles(phones[::-1].copy(), 20)[::-1]
    np.testing.assert_array_equal(again, styles)  # depends on the phone, not the batch
    assert person_styles(phones, 7).max() == 7


@pytest.mark.parametrize(
    "checkpoint", [SHIPPED_CHECKPOINT, SMALL_CHECKPOINT], ids=["paper", "small"]
)
def test_shipped_models_roll_as_torch_rolls_them(checkpoint: Path) -> None:
    """A whole window with burn-in: the same samples as torch's ``Sampler.windows`` (which
    sums in another order, so the two agree to rounding, not bit for bit). The rounding grows
    through the 114 recurrent steps: most samples agree to 1e-6 g, and about one row in a
    hundred drifts to a few 1e-4 g (measured with OpenBLAS's Haswell kernels)."""
    keys, activities = _keys(16, 1), np.resize([1, 2, 3, 4, 5, 6], 16)
    numpy_windows = NumpyGenerator.from_checkpoint(checkpoint).windows(5, keys, 64, activities)
    torch.set_num_threads(1)
    torch_windows = Sampler.from_checkpoint(checkpoint).windows(5, keys, 64, activities)
    difference = np.abs(numpy_windows - torch_windows)
    assert np.median(difference) < 1e-6
    assert difference.max() < 2e-3


@pytest.mark.parametrize(
    "checkpoint", [SHIPPED_CHECKPOINT, SMALL_CHECKPOINT], ids=["paper", "small"]
)
def test_a_window_is_the_same_in_any_batch_chunk_and_thread(checkpoint: Path) -> None:
    """What keeps runs identical on any number of workers and the env equal to the runner:
    a row's samples do not depend on its batch, its chunk or the threads."""
    keys, activities = _keys(90, 2), np.resize([1, 2, 3, 5, 6, 0], 90)
    reference = NumpyGenerator.from_checkpoint(checkpoint, workers=1).windows(
        7, keys, 16, activities
    )
    for chunk, workers in ((BLOCK_ROWS, 2), (33, 3), (512, 2), (40, 1), (BLOCK_ROWS, 1)):
        generator = NumpyGenerator.from_checkpoint(checkpoint, chunk=chunk, workers=workers)
        np.testing.assert_array_equal(generator.windows(7, keys, 16, activities), reference)
    generator = NumpyGenerator.from_checkpoint(checkpoint, workers=2)
    for rows in ([0], [89], [40, 3], list(range(5, 29)), list(range(0, 90, 4))):
        alone = generator.windows(7, keys[rows], 16, activities[rows])
        np.testing.assert_array_equal(alone, reference[rows])


def test_windows_are_draws_of_the_activity() -> None:
    generator = NumpyGenerator.from_checkpoint()
    keys = _keys(32, 3)
    out = generator.windows(0, keys, 128, np.repeat([1, 6], 16))  # walking, laying
    walking, laying = out[:16].std(axis=1).mean(), out[16:].std(axis=1).mean()
    # real HAPT validation users: walking about 0.2 g per axis, laying about 0.01 g
    assert walking > 0.08 and laying < 0.03, (walking, laying)
    assert not np.array_equal(generator.windows(1, keys[:1], 128, np.array([1])), out[:1])


def test_the_simulator_sensor_runs_without_torch() -> None:
    """``sensor: sensegen`` must not pay ``import torch`` (1.2 s, a third of the campus run)."""
    code = (
        "import sys, numpy as np\n"
        "from generators.sensors import load_sensor\n"
        "w = load_sensor('sensegen').windows(0, np.ones((2, 4), np.uint64), 8, np.array([1, 2]))\n"
        "assert w.shape == (2, 8, 3), w.shape\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_a_chunk_smaller_than_two_blocks_is_refused() -> None:
    with pytest.raises(InputError, match=f"chunk must be >= {BLOCK_ROWS} rows"):
        NumpyGenerator.from_checkpoint(SMALL_CHECKPOINT, chunk=BLOCK_ROWS - 1)


def test_threads_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert NumpyGenerator.from_checkpoint(SMALL_CHECKPOINT)._workers() == 3
    monkeypatch.setenv(THREADS_VARIABLE, "two")
    with pytest.raises(InputError, match=THREADS_VARIABLE):  # when loaded, before a run
        NumpyGenerator.from_checkpoint(SMALL_CHECKPOINT)


@pytest.mark.parametrize(
    ("keys", "steps", "activities", "reason"),
    [
        (np.arange(4), 5, None, "keys must be a 2-D integer array"),
        (-np.ones((2, 2), np.int64), 5, None, "keys must be non-negative"),
        (np.ones((2, 2), np.int64), -1, None, "steps must be a non-negative integer"),
        (np.ones((2, 2), np.int64), 5, np.array([1, 99]), "activity ids must lie in"),
        (np.ones((2, 2), np.int64), 5, np.array([1.0, 2.0]), "activities must be an integer"),
    ],
)
def test_bad_window_requests(
    keys: np.ndarray, steps: int, activities: np.ndarray | None, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        NumpyGenerator.from_checkpoint(SMALL_CHECKPOINT).windows(0, keys, steps, activities)


def test_bad_checkpoints_name_the_file_and_the_mismatch(
    tmp_path: Path, checkpoint_factory: Callable[..., Path]
) -> None:
    with pytest.raises(CheckpointError, match=r"missing; expected a SenseGen \.pt checkpoint"):
        NumpyGenerator.from_checkpoint(tmp_path / "absent.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(SHIPPED_CHECKPOINT.read_bytes()[:50_000])
    with pytest.raises(CheckpointError, match=r"truncated\.pt.*not a readable torch checkpoint"):
        NumpyGenerator.from_checkpoint(truncated)
    path = checkpoint_factory(tmp_path / "g.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["generator"]["fc.weight"] = torch.zeros(3, 3)
    torch.save(ckpt, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape.pt.*weight 'fc.weight' has shape \(3, 3\)"):
        NumpyGenerator.from_checkpoint(tmp_path / "shape.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["format"] = "mcsim-validator/1"
    torch.save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt.*expected a dict with format"):
        NumpyGenerator.from_checkpoint(tmp_path / "other.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["generator"]["head.bias"][0] = float("nan")
    torch.save(ckpt, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=r"generator.head\.bias holds NaN"):
        NumpyGenerator.from_checkpoint(tmp_path / "nan.pt")


def test_a_checkpoint_of_another_sample_rate_is_refused_by_both_loaders(
    tmp_path: Path, checkpoint_factory: Callable[..., Path]
) -> None:
    ckpt = torch.load(checkpoint_factory(tmp_path / "g.pt"), weights_only=True)
    ckpt["sample_rate_hz"] = 100.0
    torch.save(ckpt, tmp_path / "fast.pt")
    reason = r"fast\.pt.*trained on 100\.0 Hz windows; the simulator's readings are 50(\.0)? Hz"
    with pytest.raises(CheckpointError, match=reason):
        NumpyGenerator.from_checkpoint(tmp_path / "fast.pt")
    with pytest.raises(CheckpointError, match=reason):
        Sampler.from_checkpoint(tmp_path / "fast.pt")
    ckpt["sample_rate_hz"] = 50
    torch.save(ckpt, tmp_path / "fifty.pt")
    assert NumpyGenerator.from_checkpoint(tmp_path / "fifty.pt").config.n_axes == 3
