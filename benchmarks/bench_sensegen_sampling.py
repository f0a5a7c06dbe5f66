"""Sampling throughput of SenseGen's batched streaming vs a bare ``torch.nn.LSTM`` stack.

Both are stepped the same way, one 50 Hz step at a time for the same batch of phones, so the
ratio shows what the mixture head, the sampling and the per-phone state bookkeeping cost on
top of the LSTM arithmetic that no implementation can avoid. Target: ratio >= 0.8x.

Run: ``python benchmarks/bench_sensegen_sampling.py [--phones 1000] [--steps 400] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from generators.sensegen import SHIPPED_CHECKPOINT
from generators.sensegen.data import Normalizer
from generators.sensegen.model import GeneratorConfig, SenseGenGenerator
from generators.sensegen.sample import Sampler


def _sampler(device: str) -> Sampler:
    if SHIPPED_CHECKPOINT.is_file():
        return Sampler.from_checkpoint(device=device, burn_in=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SenseGenGenerator(GeneratorConfig())
    return Sampler(model, Normalizer((0.0,) * 3, (1.0,) * 3), ["NONE"] * 13, device, burn_in=0)


def bench_sampler(sampler: Sampler, phones: int, steps: int) -> float:
    """Phone-steps per second of ``Sampler.sample`` over all phones."""
    walking = np.ones(phones, dtype=np.int64)
    sampler.reset(phones, seed=0)
    sampler.sample(None, 5, walking)  # warm-up; starts every stream
    start = time.perf_counter()
    sampler.sample(None, steps, walking)
    return phones * steps / (time.perf_counter() - start)


def bench_reference(config: GeneratorConfig, phones: int, steps: int, device: str) -> float:
    """Phone-steps per second of a bare LSTM stack of the same size, stepped one by one."""
    lstm = (
        torch.nn.LSTM(
            config.n_axes + config.condition_width,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
        )
        .to(device)
        .eval()
    )
    x = torch.zeros(phones, 1, config.n_axes + config.condition_width, device=device)
    with torch.inference_mode():
        state = None
        for _ in range(5):  # warm-up
            _, state = lstm(x, state)
        start = time.perf_counter()
        for _ in range(steps):
            _, state = lstm(x, state)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return phones * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sampler = _sampler(args.device)
    ours, ref = 0.0, 0.0
    for _ in range(args.repeats):  # interleaved, best of each: fairer on a shared machine
        ours = max(ours, bench_sampler(sampler, args.phones, args.steps))
        ref = max(ref, bench_reference(sampler.model.config, args.phones, args.steps, args.device))
    print(
        f"device {args.device}, torch threads {torch.get_num_threads()}, "
        f"{args.phones} phones x {args.steps} steps, best of {args.repeats}"
    )
    print(f"sampling: {ours:.0f} steps/s (reference {ref:.0f} steps/s, ratio {ours / ref:.2f}x)")


if __name__ == "__main__":
    main()
