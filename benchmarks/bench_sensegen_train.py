"""Training step time of the SenseGen generator vs a bare ``torch.nn.LSTM`` of the same shape.

Ours: one truncated-BPTT update (forward, mixture NLL, backward, clipping, RMSProp step) on a
(lanes, chunk) batch. Reference: forward and backward of a bare LSTM stack of the same size on
the same batch. The ratio (reference time / our time) shows the cost of the mixture head and
the optimiser on top of the LSTM. Also printed: training samples per second (lanes x chunk
per update), the figure to set a GPU against the CPU (``--device cuda`` on a machine with one).

Run: ``python benchmarks/bench_sensegen_train.py [--lanes 64] [--chunk 100] [--repeats 5]
[--device cpu]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from generators.sensegen.model import GeneratorConfig, SenseGenGenerator


def best_time(step: Callable[[], None], repeats: int, device: str) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``step`` after one warm-up call (a GPU
    runs asynchronously: its queue is drained before each clock read)."""

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    times = []
    for _ in range(repeats + 1):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def bench_ours(config: GeneratorConfig, lanes: int, chunk: int, repeats: int, device: str) -> float:
    """Seconds per training update of the generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SenseGenGenerator(config).to(device)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(lanes, chunk + 1, config.n_axes, generator=rng).to(device)
    cond = torch.randint(0, config.n_conditions, (lanes, chunk), generator=rng).to(device)

    def update() -> None:
        opt.zero_grad()
        loss, _ = model.nll(x[:, :-1], x[:, 1:], cond)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return best_time(update, repeats, device)


def bench_reference(
    config: GeneratorConfig, lanes: int, chunk: int, repeats: int, device: str
) -> float:
    """Seconds per forward+backward of a bare LSTM stack of the same shape."""
    lstm = torch.nn.LSTM(
        config.n_axes + config.condition_width,
        config.hidden_size,
        config.num_layers,
        batch_first=True,
    ).to(device)
    x = torch.randn(
        lanes,
        chunk,
        config.n_axes + config.condition_width,
        generator=torch.Generator().manual_seed(0),
    ).to(device)

    def forward_backward() -> None:
        lstm.zero_grad()
        out, _ = lstm(x)
        out.square().mean().backward()

    return best_time(forward_backward, repeats, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = parser.parse_args()
    config = GeneratorConfig()
    sizes = (args.lanes, args.chunk, args.repeats, args.device)
    ours = bench_ours(config, *sizes)
    ref = bench_reference(config, *sizes)
    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(
        f"{where}, torch threads {torch.get_num_threads()}, batch {args.lanes} x {args.chunk} "
        f"steps, best of {args.repeats}"
    )
    print(
        f"training: {1e3 * ours:.0f} ms/step, {args.lanes * args.chunk / ours:,.0f} samples/s "
        f"(reference {1e3 * ref:.0f} ms/step, ratio {ref / ours:.2f}x)"
    )


if __name__ == "__main__":
    main()
