"""SenseGen networks: the mixture likelihood against scipy, constraints, learning, shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax
from scipy.stats import norm

from generators.sensegen.config import ConfigError
from generators.sensegen.model import (
    DiscriminatorConfig,
    GeneratorConfig,
    MixtureParams,
    SenseGenDiscriminator,
    SenseGenGenerator,
    load_checkpoint,
)
from mcsim.errors import CheckpointError

TINY = GeneratorConfig(hidden_size=16, num_layers=2, fc_size=8, n_components=3)


def _model(config: GeneratorConfig = TINY, seed: int = 0) -> SenseGenGenerator:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SenseGenGenerator(config)


def test_log_likelihood_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    b, k, d = 7, 5, 3
    logits, mu = rng.normal(size=(b, k)), rng.normal(size=(b, k, d))
    sigma, x = rng.uniform(0.1, 2.0, size=(b, k, d)), rng.normal(size=(b, d))
    params = MixtureParams(torch.tensor(logits), torch.tensor(mu), torch.tensor(sigma))
    ours = SenseGenGenerator.distribution(params).log_prob(torch.tensor(x)).numpy()
    comp = norm.logpdf(x[:, None, :], mu, sigma).sum(-1)  # diagonal Gaussian per component
    ref = logsumexp(np.log(softmax(logits, axis=-1)) + comp, axis=-1)
    assert np.allclose(ours, ref)


def test_nll_is_mean_negative_log_prob() -> None:
    model = _model()
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(0))
    loss, _ = model.nll(x[:, :-1], x[:, 1:])
    params, _ = model(x[:, :-1])
    ref = -model.distribution(params).log_prob(x[:, 1:]).mean()
    assert torch.allclose(loss, ref)


def test_scales_stay_within_floor_and_ceiling() -> None:
    model = _model()
    with torch.no_grad():
        for value in (-1e4, 1e4):
            model.head.bias.fill_(value)
            params = model.mixture(torch.zeros(4, TINY.hidden_size))
            assert params.sigma.min() >= TINY.sigma_min - 1e-7
            assert params.sigma.max() <= TINY.sigma_max
            logp = model.distribution(params).log_prob(torch.zeros(4, 3))
            assert torch.isfinite(logp).all()


def test_tiny_model_overfits_a_sine_snippet() -> None:
    t = torch.arange(201, dtype=torch.float32) / 50.0
    phases = torch.tensor([0.0, 1.0, 2.0])
    series = torch.sin(2 * torch.pi * 1.5 * t[:, None] + phases)[None]  # (1, 201, 3)
    model = _model(GeneratorConfig(hidden_size=32, num_layers=1, fc_size=16, n_components=3))
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss, _ = model.nll(series[:, :-1], series[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 3.0, losses[::25]


def test_generate_is_seeded_and_continues_state() -> None:
    model = _model().eval()
    x0 = torch.zeros(4, 3)
    with torch.inference_mode():
        a, _, _ = model.generate(x0, 20, torch.Generator().manual_seed(3))
        b, _, _ = model.generate(x0, 20, torch.Generator().manual_seed(3))
        rng = torch.Generator().manual_seed(3)
        first, last, state = model.generate(x0, 8, rng)
        second, _, _ = model.generate(last, 12, rng, None, state)
    assert a.shape == (4, 20, 3)
    assert torch.equal(a, b)
    assert torch.equal(torch.cat([first, second], 1), a)


def test_condition_changes_the_prediction() -> None:
    model = _model()
    x = torch.zeros(1, 5, 3)
    none, _ = model(x)
    walking, _ = model(x, torch.tensor([1]))
    assert not torch.allclose(none.mu, walking.mu)
    unconditioned = _model(
        GeneratorConfig(hidden_size=8, num_layers=1, fc_size=4, n_components=2, n_conditions=0)
    )
    assert unconditioned.lstm.input_size == 3


def test_each_condition_learns_its_own_start_state() -> None:
    model = _model()
    x = torch.zeros(2, 4, 3)
    zero = (torch.zeros(2, 2, 16), torch.zeros(2, 2, 16))
    fresh, _ = model(x, torch.tensor([1, 4]))
    explicit, _ = model(x, torch.tensor([1, 4]), zero)
    assert torch.equal(fresh.mu, explicit.mu)  # the start state is zero until trained
    model.nll(x, torch.ones(2, 4, 3), torch.tensor([1, 4]))[0].backward()
    grad = model.initial_state.grad
    assert grad is not None
    assert grad[:, :, [1, 4]].abs().sum() > 0  # the conditions used get a gradient
    assert not grad[:, :, [0, 2, 3, 5]].any()  # the others do not
    h, c = model.start_state(torch.tensor([4, 4, 0]), 3)
    assert h.shape == c.shape == (2, 3, 16)
    unconditioned = _model(GeneratorConfig(hidden_size=8, num_layers=1, fc_size=4, n_conditions=0))
    assert unconditioned.start_state(None, 5)[0].shape == (1, 5, 8)


def test_discriminator_outputs_a_probability_per_window() -> None:
    disc = SenseGenDiscriminator(DiscriminatorConfig())
    p = disc.prob(torch.randn(5, 40, 3, generator=torch.Generator().manual_seed(0)))
    assert p.shape == (5,)
    assert ((p > 0) & (p < 1)).all()


def test_config_round_trip_and_unknown_keys() -> None:
    assert GeneratorConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ConfigError, match=r"GeneratorConfig: unknown keys \['typo'\]"):
        GeneratorConfig.from_dict({**TINY.to_dict(), "typo": 1})
    assert DiscriminatorConfig.from_dict(DiscriminatorConfig().to_dict()) == DiscriminatorConfig()


def test_a_checkpoint_with_nan_weights_is_refused_at_load(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    state = ckpt["generator"]
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("nan")
    bad = tmp_path / "nan.pt"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match=rf"nan\.pt: tensor generator\.{name}.*NaN"):
        load_checkpoint(bad)
