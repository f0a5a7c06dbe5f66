"""Training: a tiny run end to end, checkpoint contents, exact resume after Ctrl-C, the CLI."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from generators.sensegen.data import window_log_std
from generators.sensegen.model import GeneratorConfig
from generators.sensegen.sample import Sampler
from generators.sensegen.train import TrainConfig, Trainer, energy_gap, train
from mcsim.errors import CheckpointError, InputError

MODEL = GeneratorConfig(hidden_size=16, num_layers=2, fc_size=8, n_components=3)
CONFIG = TrainConfig(
    val_users=(2,),
    rounds=4,
    g_steps=2,
    d_steps=2,
    lanes=4,
    chunk=20,
    d_batch=4,
    window=40,
    burn_in=5,
    eval_every=2,
    eval_windows=4,
    checkpoint_every=2,
)
# Every update also carries the amplitude loss, on short windows.
AMPLITUDE = replace(
    CONFIG, amplitude_weight=1.0, amplitude_every=1, amplitude_lanes=4, amplitude_window=30
)
# The same, matching the real windows' distribution of loudness, not only its mean.
DISTRIBUTION = replace(AMPLITUDE, amplitude_target="distribution")
# The distribution for the moving activities, the mean at rest.
MOVING = replace(AMPLITUDE, amplitude_target="distribution-moving")
# G's learning rate warms up over 7 updates: rounds 1-4 of 2 updates, across an interruption.
WARMUP = replace(CONFIG, lr_warmup=7)
ALLOWED = (torch.Tensor, dict, list, str, int, float, bool, type(None))


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str | int) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, ALLOWED)


def _interrupted_run(config: TrainConfig, out: Path, data: Path, after_round: int) -> None:
    """Train into ``out`` until Ctrl-C during round ``after_round + 1`` (which keeps round
    ``after_round`` on disk)."""

    def interrupt(trainer: Trainer) -> None:
        if trainer.round == after_round:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, MODEL, out, data_dir=data, progress=False, on_round=interrupt)


def test_tiny_run_writes_everything(synthetic_hapt: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    snap = train(CONFIG, MODEL, out, data_dir=synthetic_hapt, progress=False)
    assert snap["round"] == 4
    for name in ("checkpoint.pt", "model.pt", "history.csv", "nll.png", "d_accuracy.png"):
        assert (out / name).is_file(), name
    slim = torch.load(out / "model.pt", weights_only=True)
    assert _plain(slim) and "optimizer_g" not in slim
    assert slim["metadata"]["rounds"] == 4 and slim["metadata"]["val_users"] == [2]
    assert slim["sample_rate_hz"] == 50.0  # refused by the loaders if it is another rate
    assert all(v.dtype == torch.float32 for v in slim["generator"].values())
    with (out / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and float(rows[-1]["val_nll"]) == pytest.approx(
        slim["metadata"]["final_eval_val_nll"]
    )
    sampler = Sampler.from_checkpoint(out / "model.pt")
    sampler.reset(2, seed=0)
    assert sampler.sample(None, 10).shape == (2, 10, 3)


def test_styles_give_each_training_user_its_own_conditions(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "styled"
    train(CONFIG, MODEL, out, data_dir=synthetic_hapt, progress=False, styles=True)
    slim = torch.load(out / "model.pt", weights_only=True)
    assert slim["config"]["n_styles"] == 1 and slim["styles"] == ["user01"]  # user 2 validates
    assert slim["generator"]["initial_state"].shape[2] == 13 * 2
    sampler = Sampler.from_checkpoint(out / "model.pt")
    sampler.reset(3, seed=0)
    walking = sampler.sample(None, 10, np.array([1, 1, 0]))
    assert walking.shape == (3, 10, 3) and np.isfinite(walking).all()
    with pytest.raises(InputError, match="styles need activity conditions"):
        Trainer(CONFIG, replace(MODEL, n_conditions=0), tmp_path / "x", synthetic_hapt, styles=True)


@pytest.mark.parametrize(
    "config",
    [CONFIG, AMPLITUDE, DISTRIBUTION, WARMUP],
    ids=["nll", "amplitude", "distribution", "warmup"],
)
def test_resume_after_interrupt_is_exact(
    config: TrainConfig, synthetic_hapt: Path, tmp_path: Path
) -> None:
    straight = train(config, MODEL, tmp_path / "a", data_dir=synthetic_hapt, progress=False)

    _interrupted_run(config, tmp_path / "b", synthetic_hapt, after_round=3)
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["round"] == 3
    resumed = train(
        config, MODEL, tmp_path / "b", data_dir=synthetic_hapt, resume=True, progress=False
    )
    for key, value in straight["generator"].items():
        assert torch.equal(value, resumed["generator"][key]), key
    for key, value in straight["discriminator"].items():
        assert torch.equal(value, resumed["discriminator"][key]), key
    assert straight["history"]["train_nll"] == resumed["history"]["train_nll"]
    assert straight["history"]["amplitude_loss"] == pytest.approx(
        resumed["history"]["amplitude_loss"], nan_ok=True
    )


def test_resume_with_other_settings_is_refused(synthetic_hapt: Path, tmp_path: Path) -> None:
    train(CONFIG, MODEL, tmp_path / "a", data_dir=synthetic_hapt, progress=False)
    other = TrainConfig(**{**CONFIG.__dict__, "lanes": 5})
    with pytest.raises(CheckpointError, match="differ"):
        train(other, MODEL, tmp_path / "a", data_dir=synthetic_hapt, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="missing"):
        train(
            CONFIG, MODEL, tmp_path / "empty", data_dir=synthetic_hapt, resume=True, progress=False
        )


def test_sampled_inputs_replace_steps_with_model_draws(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    every = TrainConfig(**{**CONFIG.__dict__, "sampled_inputs": 1.0, "rounds": 1})
    trainer = Trainer(every, MODEL, tmp_path / "run", synthetic_hapt)
    x, _, cond, _ = trainer.streams.next_chunk()
    mixed = trainer.mix_in_samples(x, cond, None)
    assert torch.equal(mixed[:, 0], x[:, 0])  # the carried-over first step stays real
    assert not torch.isclose(mixed[:, 1:], x[:, 1:]).any()  # all later steps are draws
    snap = train(every, MODEL, tmp_path / "full", data_dir=synthetic_hapt, progress=False)
    assert math.isfinite(snap["history"]["train_nll"][-1])


def test_input_noise_reaches_inputs_not_targets(
    synthetic_hapt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noisy = TrainConfig(**{**CONFIG.__dict__, "input_noise": 0.5})
    trainer = Trainer(noisy, MODEL, tmp_path / "run", synthetic_hapt)
    lanes, rng = trainer.streams.state_dict(), trainer.data_rng.get_state()
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    nll = trainer.gen.nll

    def recording_nll(x: torch.Tensor, target: torch.Tensor, *rest: Any) -> Any:
        seen.append((x, target))
        return nll(x, target, *rest)

    monkeypatch.setattr(trainer.gen, "nll", recording_nll)
    trainer.generator_phase()
    trainer.streams.load_state_dict(lanes)
    trainer.data_rng.set_state(rng)
    x, target, *_ = trainer.streams.next_chunk()  # the same chunk, without the noise
    assert torch.equal(seen[0][1], target)  # scored on the clean next values
    gap = seen[0][0] - x
    assert 0.4 < float(gap.std()) < 0.6  # read through N(0, 0.5^2) noise


def test_relative_input_noise_keeps_a_quiet_lane_legible(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    capped = TrainConfig(**{**CONFIG.__dict__, "input_noise": 0.5, "input_noise_relative": 0.25})
    trainer = Trainer(capped, MODEL, tmp_path / "run", synthetic_hapt)
    quiet, loud = torch.full((1, 20, 3), 0.01), torch.full((1, 20, 3), 4.0)
    quiet[0, ::2], loud[0, ::2] = -0.01, -4.0  # lane std 0.01 and 4.0 on every axis
    std = trainer.input_noise_std(torch.cat([quiet, loud]))
    assert isinstance(std, torch.Tensor) and std.shape == (2, 1, 3)
    assert torch.allclose(std[0], torch.tensor(0.25 * 0.01026), rtol=1e-3)  # a quarter
    assert torch.equal(std[1], torch.full((1, 3), 0.5))  # never above input_noise
    assert Trainer(CONFIG, MODEL, tmp_path / "plain", synthetic_hapt).input_noise_std(quiet) == (
        CONFIG.input_noise
    )


@pytest.mark.parametrize(
    "config", [AMPLITUDE, DISTRIBUTION, MOVING], ids=["mean", "distribution", "moving"]
)
def test_amplitude_loss_pulls_generated_windows_to_real_loudness(
    config: TrainConfig, synthetic_hapt: Path, tmp_path: Path
) -> None:
    trainer = Trainer(config, MODEL, tmp_path / "run", synthetic_hapt)
    amplitudes = trainer.amplitudes
    assert amplitudes is not None
    draws = (trainer.data_rng.get_state(), trainer.sample_rng.get_state())

    def loss() -> torch.Tensor:  # the same draws every time: only the model changes
        trainer.data_rng.set_state(draws[0])
        trainer.sample_rng.set_state(draws[1])
        return trainer.amplitude_loss(amplitudes)

    before = loss()
    before.backward()
    assert trainer.gen.head.weight.grad is not None and trainer.gen.head.weight.grad.any()
    recurrent = trainer.gen.lstm.get_parameter("weight_hh_l0")
    assert recurrent.grad is not None and recurrent.grad.any()  # through the fed-back samples
    opt = torch.optim.Adam(trainer.gen.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert float(loss().detach()) < 0.2 * float(before.detach())
    snap = train(config, MODEL, tmp_path / "full", data_dir=synthetic_hapt, progress=False)
    assert all(math.isfinite(v) for v in snap["history"]["amplitude_loss"])
    plain = train(CONFIG, MODEL, tmp_path / "plain", data_dir=synthetic_hapt, progress=False)
    assert all(math.isnan(v) for v in plain["history"]["amplitude_loss"])


def test_distribution_moving_spreads_moving_lanes_and_pulls_resting_ones_to_the_mean(
    synthetic_hapt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = replace(MOVING, amplitude_lanes=24)
    trainer = Trainer(config, MODEL, tmp_path / "run", synthetic_hapt)
    amplitudes = trainer.amplitudes
    assert amplitudes is not None
    draws = (trainer.data_rng.get_state(), trainer.sample_rng.get_state())
    seen: dict[str, Any] = {}

    def keep(name: str, function: Any) -> Any:
        def kept(*args: Any) -> Any:
            seen[name] = function(*args)
            return seen[name]

        return kept

    monkeypatch.setattr(amplitudes, "draw_groups", keep("groups", amplitudes.draw_groups))
    monkeypatch.setattr(amplitudes, "real", keep("real", amplitudes.real))
    monkeypatch.setattr(
        "generators.sensegen.train.window_log_std",
        keep("logs", window_log_std),
    )

    def loss(target: str) -> torch.Tensor:  # the same draws for every target
        trainer.config = replace(config, amplitude_target=target)
        trainer.data_rng.set_state(draws[0])
        trainer.sample_rng.set_state(draws[1])
        return trainer.amplitude_loss(amplitudes).detach()

    mixed = loss("distribution-moving")
    drawn, run = seen["groups"]
    logs = seen["logs"].detach()
    moving = torch.isin(drawn, torch.tensor([1, 2, 3]))  # without styles an id is an activity
    assert moving.any() and not moving.all()  # walking and sitting lanes both drawn
    assert seen["real"].shape[0] == int(moving.sum())  # real draws for the moving lanes only
    spread = energy_gap(logs[moving], run[moving], seen["real"])
    squared = (logs[~moving] - amplitudes.target[drawn[~moving]]).pow(2).mean()
    share = float(moving.float().mean())
    assert torch.allclose(mixed, share * spread + (1 - share) * squared, atol=1e-6)
    # Where every lane moves, it is the distribution target, bit for bit.
    monkeypatch.setattr(amplitudes, "activities", torch.ones_like)
    assert torch.equal(loss("distribution-moving"), loss("distribution"))


def test_amplitude_loss_needs_conditions_and_sane_settings(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    unconditioned = replace(MODEL, n_conditions=0)
    with pytest.raises(InputError, match="needs activity conditions"):
        Trainer(AMPLITUDE, unconditioned, tmp_path / "a", synthetic_hapt)
    with pytest.raises(InputError, match="amplitude_every and amplitude_lanes must be >= 1"):
        Trainer(replace(AMPLITUDE, amplitude_every=0), MODEL, tmp_path / "b", synthetic_hapt)
    with pytest.raises(InputError, match=r"amplitude_target must be one of \['mean', 'dist"):
        Trainer(
            replace(AMPLITUDE, amplitude_target="median"), MODEL, tmp_path / "c", synthetic_hapt
        )
    for target, folder in ((DISTRIBUTION, "d"), (MOVING, "e")):
        with pytest.raises(InputError, match="compares spreads: amplitude_lanes must be >= 2"):
            Trainer(replace(target, amplitude_lanes=1), MODEL, tmp_path / folder, synthetic_hapt)


def _folded_normal_mean(mean: float, std: float) -> float:
    """E|Z| for Z ~ N(mean, std^2)."""
    return std * math.sqrt(2 / math.pi) * math.exp(-(mean**2) / (2 * std**2)) + mean * (
        1 - math.erfc(mean / (std * math.sqrt(2)))
    )


@pytest.mark.parametrize(("std", "shift"), [(1.0, 0.0), (0.5, 0.0), (1.0, 0.5)])
def test_energy_gap_estimates_the_energy_distance(std: float, shift: float) -> None:
    # Oracle: between N(shift, std^2) and N(0, 1) the energy distance is
    # 2 E|X - Y| - E|X - X'| - E|Y - Y'|, each a folded normal's mean.
    exact = (
        2 * _folded_normal_mean(shift, math.hypot(std, 1.0))
        - _folded_normal_mean(0.0, math.sqrt(2) * std)
        - _folded_normal_mean(0.0, math.sqrt(2))
    )
    rng = torch.Generator().manual_seed(0)
    n, k, repeats = 2000, 16, 40
    run = torch.arange(n // 4).repeat_interleave(4)
    estimates = torch.tensor(
        [
            float(
                energy_gap(
                    shift + std * torch.randn(n, 1, generator=rng),
                    run,
                    torch.randn(n, k, 1, generator=rng),
                )
            )
            for _ in range(repeats)
        ]
    )
    standard_error = float(estimates.std()) / math.sqrt(repeats)  # about 0.002
    assert abs(float(estimates.mean()) - exact) < 4 * standard_error


def test_energy_gap_keeps_the_spread_that_the_squared_gap_to_the_mean_loses() -> None:
    # A two-parameter "generator" of window log stds, N(mu, sigma^2), fitted to real values
    # from N(0, 0.3^2): the squared gap to the real mean shrinks sigma towards 0, the energy
    # distance finds 0.3.
    rng = torch.Generator().manual_seed(0)
    run = torch.arange(8).repeat_interleave(4)
    fitted = {}
    for name in ("mean", "distribution"):
        mu, log_sigma = nn.Parameter(torch.tensor(1.0)), nn.Parameter(torch.tensor(0.0))
        opt = torch.optim.Adam([mu, log_sigma], lr=0.02)
        for _ in range(1000):
            generated = mu + log_sigma.exp() * torch.randn(32, 1, generator=rng)
            real = 0.3 * torch.randn(32, 16, 1, generator=rng)
            # (the real values' mean is 0)
            mean_gap = generated.pow(2).mean()
            loss = mean_gap if name == "mean" else energy_gap(generated, run, real)
            opt.zero_grad()
            loss.backward()
            opt.step()
        fitted[name] = (mu.item(), log_sigma.exp().item())
    assert abs(fitted["distribution"][0]) < 0.05
    assert fitted["distribution"][1] == pytest.approx(0.3, rel=0.1)
    assert abs(fitted["mean"][0]) < 0.05 and fitted["mean"][1] < 0.1


def test_a_run_from_before_the_amplitude_column_resumes(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    _interrupted_run(CONFIG, tmp_path / "a", synthetic_hapt, after_round=2)
    ckpt = torch.load(tmp_path / "a/checkpoint.pt", weights_only=True)
    del ckpt["history"]["amplitude_loss"]
    torch.save(ckpt, tmp_path / "a/checkpoint.pt")
    snap = train(
        CONFIG, MODEL, tmp_path / "a", data_dir=synthetic_hapt, resume=True, progress=False
    )
    assert len(snap["history"]["amplitude_loss"]) == 4
    assert all(math.isnan(v) for v in snap["history"]["amplitude_loss"])


def test_init_starts_from_another_checkpoint(synthetic_hapt: Path, tmp_path: Path) -> None:
    short = TrainConfig(**{**CONFIG.__dict__, "rounds": 1})
    first = train(short, MODEL, tmp_path / "a", data_dir=synthetic_hapt, progress=False)
    trainer = Trainer(CONFIG, MODEL, tmp_path / "b", synthetic_hapt, init=tmp_path / "a/model.pt")
    for key, value in first["generator"].items():
        assert torch.equal(trainer.gen.state_dict()[key], value), key
    snap = train(
        short,
        MODEL,
        tmp_path / "b",
        data_dir=synthetic_hapt,
        progress=False,
        init=tmp_path / "a/model.pt",
    )
    assert snap["metadata"]["initialised_from"]["file"] == "model.pt"
    assert snap["metadata"]["initialised_from"]["rounds"] == 1
    wider = GeneratorConfig(**{**MODEL.__dict__, "hidden_size": 32})
    with pytest.raises(CheckpointError, match="model shape") as info:
        Trainer(CONFIG, wider, tmp_path / "c", synthetic_hapt, init=tmp_path / "a/model.pt")
    assert "model.pt" in str(info.value)
    older = torch.load(tmp_path / "a/model.pt", weights_only=True)
    del older["config"]["n_styles"]  # saved before styles existed
    torch.save(older, tmp_path / "older.pt")
    Trainer(CONFIG, MODEL, tmp_path / "d", synthetic_hapt, init=tmp_path / "older.pt")


def _first_step_size(trainer: Trainer) -> float:
    """L2 norm of the change of G's weights in one generator update."""
    before = [p.detach().clone() for p in trainer.gen.parameters()]
    trainer.generator_phase()
    with torch.no_grad():
        moved = sum(
            ((p - b) ** 2).sum() for p, b in zip(trainer.gen.parameters(), before, strict=True)
        )
    return float(torch.sqrt(torch.as_tensor(moved)))


def test_warmup_shrinks_a_fine_tunes_first_steps(synthetic_hapt: Path, tmp_path: Path) -> None:
    train(replace(CONFIG, rounds=2), MODEL, tmp_path / "a", data_dir=synthetic_hapt, progress=False)
    init = tmp_path / "a/model.pt"
    one_update = replace(CONFIG, g_steps=1)
    plain = Trainer(one_update, MODEL, tmp_path / "b", synthetic_hapt, init=init)
    warm = Trainer(
        replace(one_update, lr_warmup=100), MODEL, tmp_path / "c", synthetic_hapt, init=init
    )
    # RMSProp's first step is ~10 learning rates whatever the gradient; warmed up, 1 / 100 of it.
    assert _first_step_size(warm) == pytest.approx(_first_step_size(plain) / 100, rel=0.05)
    assert warm.generator_lr(99) == plain.generator_lr(0)  # then the schedule as before
    with pytest.raises(InputError, match="lr_warmup must be >= 0"):
        Trainer(replace(CONFIG, lr_warmup=-1), MODEL, tmp_path / "d", synthetic_hapt)


def test_bad_data_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="RawData"):
        train(CONFIG, MODEL, tmp_path / "run", data_dir=tmp_path / "nothing", progress=False)


@pytest.mark.slow
def test_short_run_on_real_hapt_learns(hapt_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig(
        rounds=40,
        g_steps=10,
        d_steps=2,
        lanes=16,
        chunk=50,
        d_batch=8,
        window=100,
        burn_in=10,
        lr_g=3e-3,
        eval_every=10,
        eval_windows=16,
    )
    snap = train(config, MODEL, tmp_path / "run", data_dir=hapt_dir, progress=False)
    val = [v for v in snap["history"]["val_nll"] if not math.isnan(v)]
    assert val[-1] < val[0] - 0.5, val


def test_training_refuses_to_replace_a_run_without_resume_or_overwrite(
    synthetic_hapt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"an 80-round run")
    with pytest.raises(InputError, match=r"already holds a training run.*--resume.*--overwrite"):
        train(CONFIG, MODEL, out, data_dir=synthetic_hapt, progress=False)
    assert (out / "checkpoint.pt").read_bytes() == b"an 80-round run"
