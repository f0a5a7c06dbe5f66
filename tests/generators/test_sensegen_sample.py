"""Batched sampling: shapes, physical units, seeded determinism, state continuation, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, THREADS_VARIABLE
from generators.sensegen.model import CHECKPOINT_FORMAT
from generators.sensegen.sample import Sampler
from mcsim.errors import CheckpointError, InputError
from mcsim.processes import usable_cores


def test_shapes_and_dtype(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(5, seed=1)
    out = sampler.sample(np.array([0, 3]), 17)
    assert out.shape == (2, 17, 3) and out.dtype == np.float32
    assert sampler.sample(None, 4).shape == (5, 4, 3)
    assert sampler.sample(np.array([], dtype=np.int64), 4).shape == (0, 4, 3)


def test_output_is_in_physical_units(
    tmp_path: Path, checkpoint_factory: Callable[..., Path]
) -> None:
    path = checkpoint_factory(tmp_path / "c.pt", mean=(1.0, -2.0, 3.0), std=(0.5, 0.5, 0.5))
    ckpt = torch.load(path, weights_only=True)
    ckpt["generator"]["head.weight"].zero_()
    k = ckpt["config"]["n_components"]
    sigma_min = ckpt["config"]["sigma_min"]
    ckpt["generator"]["head.bias"].fill_(-30.0)  # means 0 and scales at the floor
    ckpt["generator"]["head.bias"][k : k + 3 * k] = 0.0
    torch.save(ckpt, path)
    sampler = Sampler.from_checkpoint(path)
    sampler.reset(3, seed=0)
    out = sampler.sample(None, 50)
    # normalised value 0 +- sigma_min -> physical mean +- 0.5 * sigma_min
    assert np.allclose(out.mean(axis=(0, 1)), [1.0, -2.0, 3.0], atol=0.01)
    assert out.std(axis=(0, 1)).max() < 0.5 * sigma_min * 1.5


def test_same_seed_same_array_and_different_seed_differs(tiny_checkpoint: Path) -> None:
    a, b = Sampler.from_checkpoint(tiny_checkpoint), Sampler.from_checkpoint(tiny_checkpoint)
    a.reset(4, seed=5)
    b.reset(4, seed=5)
    first = a.sample(None, 30)
    assert np.array_equal(first, b.sample(None, 30))
    b.reset(4, seed=6)
    assert not np.array_equal(first, b.sample(None, 30))


def test_two_halves_equal_one_stream(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(3, seed=2)
    whole = sampler.sample(None, 400)
    sampler.reset(3, seed=2)
    halves = np.concatenate([sampler.sample(None, 200), sampler.sample(None, 200)], axis=1)
    assert np.array_equal(whole, halves)


def test_each_phone_keeps_its_state(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(3, seed=2)
    sampler.sample(np.array([0, 1]), 100)
    untouched = sampler.state_of(1)
    assert untouched is not None
    sampler.sample(np.array([0, 2]), 10)
    after = sampler.state_of(1)
    assert after is not None
    assert torch.equal(after[0], untouched[0]) and torch.equal(after[1], untouched[1])


def test_activity_names_are_case_insensitive(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    assert sampler.activity_id("walking") == 1 and sampler.activity_id("LAYING") == 6
    with pytest.raises(InputError, match="valid: WALKING, WALKING_UPSTAIRS"):
        sampler.activity_id("jogging")
    sampler.reset(2, seed=0)
    conditioned = sampler.sample(None, 5, np.array([1, 6]))
    assert conditioned.shape == (2, 5, 3)


@pytest.mark.parametrize(
    ("phones", "activities", "reason"),
    [
        (np.array([[0, 1]]), None, "1-D integer"),
        (np.array([0.0, 1.0]), None, "1-D integer"),
        (np.array([0, 9]), None, r"in \[0, 3\)"),
        (np.array([1, 1]), None, "distinct"),
        (np.array([0, 1]), np.array([1]), "shape"),
        (np.array([0, 1]), np.array([1, 99]), "activity ids"),
    ],
)
def test_bad_arguments(
    tiny_checkpoint: Path, phones: np.ndarray, activities: np.ndarray | None, reason: str
) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(3, seed=0)
    with pytest.raises(InputError, match=reason):
        sampler.sample(phones, 5, activities)


def test_sample_before_reset_is_an_error(tiny_checkpoint: Path) -> None:
    with pytest.raises(InputError, match="reset"):
        Sampler.from_checkpoint(tiny_checkpoint).sample(None, 5)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing") as info:
        Sampler.from_checkpoint(tmp_path / "absent.pt")
    assert "absent.pt" in str(info.value)


def test_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint") as info:
        Sampler.from_checkpoint(path)
    assert "junk.pt" in str(info.value)


def test_wrong_format_and_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="format"):
        Sampler.from_checkpoint(path)
    torch.save({"format": CHECKPOINT_FORMAT, "config": {}}, path)
    with pytest.raises(CheckpointError, match="missing keys"):
        Sampler.from_checkpoint(path)


def test_mismatched_config(tmp_path: Path, checkpoint_factory: Callable[..., Path]) -> None:
    path = checkpoint_factory(tmp_path / "c.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["hidden_size"] = 32
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="do not match") as info:
        Sampler.from_checkpoint(path)
    assert "c.pt" in str(info.value)
    ckpt["config"]["hidden_size"] = 16
    ckpt["normalization"] = {"mean": [0.0], "std": [1.0]}
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="normalization"):
        Sampler.from_checkpoint(path)


@pytest.mark.skipif(not SHIPPED_CHECKPOINT.is_file(), reason="shipped checkpoint not built yet")
def test_shipped_checkpoint_loads_and_samples() -> None:
    torch.load(SHIPPED_CHECKPOINT, weights_only=True)
    sampler = Sampler.from_checkpoint()
    sampler.reset(4, seed=0)
    out = sampler.sample(None, 100, np.array([0, 1, 4, 6]))
    assert out.shape == (4, 100, 3) and np.isfinite(out).all()
    assert 0.001 < out.std() < 2.0  # body acceleration [g], not normalised units


def test_a_new_activity_starts_a_fresh_stream(tiny_checkpoint: Path) -> None:
    walk, sit = np.array([1]), np.array([4])
    a = Sampler.from_checkpoint(tiny_checkpoint)
    a.reset(2, seed=3)
    a.sample(np.array([0]), 10, walk)
    switched = a.sample(np.array([0]), 10, sit)
    b = Sampler.from_checkpoint(tiny_checkpoint)
    b.reset(2, seed=3)
    b.sample(np.array([1]), 10, walk)  # the same draws, spent on another phone
    fresh = b.sample(np.array([0]), 10, sit)
    assert np.array_equal(switched, fresh)  # phone 0's walking history is gone
    a.reset(2, seed=3)
    whole = a.sample(np.array([0]), 20, walk)
    a.reset(2, seed=3)
    halves = [a.sample(np.array([0]), 10, walk) for _ in range(2)]
    assert np.array_equal(whole, np.concatenate(halves, axis=1))  # same activity: continues


def test_streams_start_lazily(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(100_000, seed=0)  # no burn-in and no state for phones that never sense
    assert sampler.n_streaming == 0 and sampler.state_bytes == 0
    sampler.sample(np.array([7]), 5)
    state = sampler.state_of(7)
    assert sampler.state_of(8) is None and state is not None and state[0].any()
    assert sampler.n_streaming == 1


def test_state_memory_follows_the_streaming_phones(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    sampler.reset(100_000, seed=0)
    sampler.sample(np.arange(0, 100_000, 1000), 3)  # 100 phones
    per_phone = sampler.state_bytes / 100
    sampler.sample(np.arange(0, 100_000, 100), 3)  # 1,000 phones, 900 of them new
    assert sampler.n_streaming == 1000
    # geometric growth: at most twice the rows in use; never the population's 100,000
    assert sampler.state_bytes <= 2 * 1000 * per_phone
    sampler.reset(100_000, seed=0)
    assert sampler.n_streaming == 0 and sampler.state_bytes == 0


class DenseReference:
    """The sampler as it was before its state became a slot table: dense state for every
    phone, allocated at reset, and ``SenseGenGenerator.generate`` over the whole batch."""

    def __init__(self, sampler: Sampler) -> None:
        self.model, self.burn_in, self.normalizer = (
            sampler.model,
            sampler.burn_in,
            sampler.normalizer,
        )

    def reset(self, n_phones: int, seed: int) -> None:
        cfg = self.model.config
        self.rng = torch.Generator().manual_seed(seed)
        shape = (cfg.num_layers, n_phones, cfg.hidden_size)
        self.h, self.c = torch.zeros(shape), torch.zeros(shape)
        self.last = torch.zeros((n_phones, cfg.n_axes))
        self.cond = torch.full((n_phones,), -1, dtype=torch.long)

    def sample(self, phones: np.ndarray, steps: int, activities: np.ndarray) -> np.ndarray:
        model = self.model
        with torch.inference_mode():
            idx = torch.as_tensor(phones)
            cond = torch.as_tensor(activities)
            fresh = self.cond[idx] != cond
            if bool(fresh.any()):
                f_idx, f_cond = idx[fresh], cond[fresh]
                state = model.start_state(f_cond, len(f_idx))
                start = torch.zeros((len(f_idx), model.config.n_axes))
                _, start, state = model.generate(start, self.burn_in, self.rng, f_cond, state)
                self.h[:, f_idx], self.c[:, f_idx] = state
                self.last[f_idx], self.cond[f_idx] = start, f_cond
            state = (self.h[:, idx], self.c[:, idx])
            out, end, state = model.generate(self.last[idx], steps, self.rng, cond, state)
            self.h[:, idx], self.c[:, idx] = state
            self.last[idx] = end
        return self.normalizer.denormalize(out.numpy())


def test_identical_to_the_dense_sampler(tiny_checkpoint: Path) -> None:
    """Lazy slots and pre-drawn random numbers change no value: the same calls give the same
    arrays, bit for bit, as the dense sampler (phones in any order, restarts included)."""
    sampler = Sampler.from_checkpoint(tiny_checkpoint, burn_in=7)
    dense = DenseReference(sampler)
    sampler.reset(50, seed=11)
    dense.reset(50, seed=11)
    rng = np.random.default_rng(0)
    for _ in range(12):
        phones = rng.choice(50, size=int(rng.integers(1, 20)), replace=False)
        activities = rng.choice([1, 4], size=len(phones))  # switching restarts a stream
        steps = int(rng.integers(1, 30))
        assert np.array_equal(
            sampler.sample(phones, steps, activities), dense.sample(phones, steps, activities)
        )


def test_chunks_are_deterministic_and_close_to_one_batch(tiny_checkpoint: Path) -> None:
    """Chunks draw the same random numbers; only the GEMM kernel a chunk size selects may
    round differently (not at all on the shipped model with chunks of 512 or more)."""
    whole = Sampler.from_checkpoint(tiny_checkpoint, chunk=1024)
    chunked = [Sampler.from_checkpoint(tiny_checkpoint, chunk=3) for _ in range(2)]
    outs = []
    for sampler in [whole, *chunked]:
        sampler.reset(10, seed=4)
        acts = np.array([1, 4] * 5)
        outs.append(
            np.concatenate([sampler.sample(None, 10, acts), sampler.sample(None, 5, acts)], 1)
        )
    assert np.array_equal(outs[1], outs[2])
    assert np.allclose(outs[0], outs[1], atol=1e-4)


def test_parallel_chunks_give_the_same_arrays(tiny_checkpoint: Path) -> None:
    outs = []
    for workers in (1, 3):
        sampler = Sampler.from_checkpoint(tiny_checkpoint, chunk=4, workers=workers)
        sampler.reset(12, seed=8)
        acts = np.array([1, 4, 5] * 4)
        outs.append(np.concatenate([sampler.sample(None, 9, acts) for _ in range(2)], 1))
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.usefixtures("no_bfloat16_lstm")
def test_a_cpu_without_a_bfloat16_lstm_is_refused_before_sampling(tiny_checkpoint: Path) -> None:
    """What an AMD EPYC with AVX2 alone does (measured): oneDNN cannot build the LSTM."""
    with pytest.raises(
        InputError,
        match=r"'bf16' does not run on this cpu: .* \(could not create a primitive "
        r"descriptor for the LSTM forward propagation primitive\); .*sensegen-small\)$",
    ):
        Sampler.from_checkpoint(tiny_checkpoint, precision="bf16")
    assert Sampler.from_checkpoint(tiny_checkpoint).precision == "fp32"  # never probed


@pytest.mark.usefixtures("bfloat16_lstm")
def test_bf16_precision_samples_finite_streams(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint, precision="bf16")
    sampler.reset(4, seed=0)
    out = sampler.sample(None, 20, np.array([1, 1, 4, 4]))
    assert out.shape == (4, 20, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    with pytest.raises(InputError, match="precision"):
        Sampler.from_checkpoint(tiny_checkpoint, precision="fp8")  # type: ignore[arg-type]


@pytest.mark.skipif(not SHIPPED_CHECKPOINT.is_file(), reason="shipped checkpoint not built yet")
def test_shipped_checkpoint_follows_the_activity() -> None:
    sampler = Sampler.from_checkpoint()
    sampler.reset(32, seed=0)
    out = sampler.sample(None, 300, np.array([1] * 16 + [4] * 16))  # walking, sitting
    walking, sitting = out[:16].std(axis=1).mean(), out[16:].std(axis=1).mean()
    # real HAPT validation users: walking about 0.2 g per axis, sitting about 0.01 g
    assert walking > 0.08 and sitting < 0.03, (walking, sitting)


def test_threads_follow_the_environment_when_torch_runs_single_threaded(
    tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    assert sampler._workers() == usable_cores()
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert sampler._workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_VARIABLE, bad)
        with pytest.raises(InputError, match=f"{THREADS_VARIABLE} must be a positive integer"):
            sampler._workers()
        with pytest.raises(InputError, match=THREADS_VARIABLE):  # when loaded, before a run
            Sampler.from_checkpoint(tiny_checkpoint)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # torch's own threads: one roller
    assert sampler._workers() == 1


def test_fresh_windows_match_a_step_by_step_oracle(
    tiny_checkpoint: Path, window_oracle: Callable[..., np.ndarray]
) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint, burn_in=5, chunk=4, workers=2)
    keys = np.arange(30, dtype=np.uint64).reshape(10, 3)
    activities = np.array([1, 4, 5, 0, 1, 2, 3, 6, 1, 4])
    out = sampler.windows(3, keys, 12, activities)
    assert out.shape == (10, 12, 3) and out.dtype == np.float32
    for row in (0, 3, 9):
        expected = window_oracle(
            sampler.model, sampler.normalizer, 5, 3, keys[row], 12, int(activities[row])
        )
        np.testing.assert_allclose(out[row], expected, atol=1e-5)
    assert sampler.phone_steps == 10 * (5 + 12)
    assert sampler.n_streaming == 0  # fresh windows hold no stream state


def test_a_fresh_window_depends_on_its_key_only(tiny_checkpoint: Path) -> None:
    sampler = Sampler.from_checkpoint(tiny_checkpoint, burn_in=3)
    keys = np.random.default_rng(1).integers(0, 2**40, (25, 4)).astype(np.uint64)
    activities = np.resize([1, 4, 5], 25)
    batch = sampler.windows(9, keys, 8, activities)
    for rows in ([0], [24, 3], list(range(20))):
        np.testing.assert_array_equal(
            sampler.windows(9, keys[rows], 8, activities[rows]), batch[rows]
        )
    assert not np.array_equal(sampler.windows(10, keys[:1], 8, activities[:1]), batch[:1])


@pytest.mark.parametrize(
    ("keys", "steps", "activities", "reason"),
    [
        (np.arange(4), 5, None, "keys must be a 2-D integer array"),
        (np.ones((2, 2)), 5, None, "keys must be a 2-D integer array"),
        (-np.ones((2, 2), np.int64), 5, None, "keys must be non-negative"),
        (np.ones((2, 2), np.int64), -1, None, "steps must be a non-negative integer"),
        (np.ones((2, 2), np.int64), 5, np.array([1, 99]), "activity ids must lie in"),
    ],
)
def test_bad_window_requests(
    tiny_checkpoint: Path,
    keys: np.ndarray,
    steps: int,
    activities: np.ndarray | None,
    reason: str,
) -> None:
    with pytest.raises(InputError, match=reason):
        Sampler.from_checkpoint(tiny_checkpoint).windows(0, keys, steps, activities)
