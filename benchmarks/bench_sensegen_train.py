"""Training step time of the SenseGen generator vs a bare ``torch.nn.LSTM`` of the same shape.

Ours: one truncated-BPTT update (forward, mixture NLL, backward, clipping, RMSProp step) on a
(lanes, chunk) batch. Reference: forward and backward of a bare LSTM stack of the same size on
the same batch. The ratio (reference time / our time) shows the cost of the mixture head and
the optimiser on top of the LSTM.

Run: ``python benchmarks/bench_sensegen_train.py [--lanes 64] [--chunk 100] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from generators.sensegen.model import GeneratorConfig, SenseGenGenerator


def bench_ours(config: GeneratorConfig, lanes: int, chunk: int, repeats: int) -> float:
    """Seconds per training update of the generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SenseGenGenerator(config)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(lanes, chunk + 1, config.n_axes, generator=rng)
    cond = torch.randint(0, config.n_conditions, (lanes, chunk), generator=rng)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        opt.zero_grad()
        loss, _ = model.nll(x[:, :-1], x[:, 1:], cond)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def bench_reference(config: GeneratorConfig, lanes: int, chunk: int, repeats: int) -> float:
    """Seconds per forward+backward of a bare LSTM stack of the same shape."""
    lstm = torch.nn.LSTM(
        config.n_axes + config.condition_width,
        config.hidden_size,
        config.num_layers,
        batch_first=True,
    )
    x = torch.randn(
        lanes,
        chunk,
        config.n_axes + config.condition_width,
        generator=torch.Generator().manual_seed(0),
    )
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        lstm.zero_grad()
        out, _ = lstm(x)
        out.square().mean().backward()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = GeneratorConfig()
    ours = bench_ours(config, args.lanes, args.chunk, args.repeats)
    ref = bench_reference(config, args.lanes, args.chunk, args.repeats)
    print(
        f"torch threads {torch.get_num_threads()}, batch {args.lanes} x {args.chunk} steps, "
        f"best of {args.repeats}"
    )
    print(
        f"training: {1e3 * ours:.0f} ms/step (reference {1e3 * ref:.0f} ms/step, "
        f"ratio {ref / ours:.2f}x)"
    )


if __name__ == "__main__":
    main()
