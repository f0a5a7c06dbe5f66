"""Throughput of the reading validator against producing the readings it judges (SenseGen).

A reading is one window of 50 Hz 3-axis body acceleration (default 128 samples = 2.56 s).
Both sides are measured in the same run, in readings per second, for one batch of phones:

* validator: ``HaptValidator.judge`` of ``--batch`` windows (the shipped checkpoint);
* SenseGen: ``NumpyGenerator.windows`` of ``--batch`` fresh walking windows, as the simulator
  makes its readings with ``sensor: sensegen`` (each a fresh stream with a 50-step burn-in, on
  every usable core).

The ratio says how much judging adds to making a reading: the validator should not be what
limits a simulation. Interleaved rounds, best of each: fairer on a shared machine.

Run: ``python benchmarks/bench_validator.py [--batch 1000] [--steps 128] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from generators.sensegen.runtime import NumpyGenerator
from generators.validators.validator import HaptValidator


def bench_validator(validator: HaptValidator, windows: np.ndarray) -> float:
    """Readings (windows) judged per second."""
    start = time.perf_counter()
    validator.judge(windows)
    return len(windows) / (time.perf_counter() - start)


def bench_sensegen(generator: NumpyGenerator, batch: int, steps: int, seed: int) -> float:
    """Readings (windows of ``steps``) generated per second, fresh streams with burn-in."""
    walking = np.ones(batch, dtype=np.int64)
    keys = np.arange(batch, dtype=np.uint64)[:, None]
    start = time.perf_counter()
    generator.windows(seed, keys, steps, walking)
    return batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000, help="windows (phones) per call")
    parser.add_argument("--steps", type=int, default=128, help="window [samples]")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (the validator)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    validator = HaptValidator.from_checkpoint(steps=args.steps)
    generator = NumpyGenerator.from_checkpoint()
    keys = np.arange(args.batch, dtype=np.uint64)[:, None]
    windows = generator.windows(0, keys, args.steps, np.ones(args.batch, dtype=np.int64))
    validator.judge(windows[:8])  # warm-up
    ours, ref = 0.0, 0.0
    for r in range(args.repeats):
        ours = max(ours, bench_validator(validator, windows))
        ref = max(ref, bench_sensegen(generator, args.batch, args.steps, seed=r + 1))
    print(
        f"torch threads {torch.get_num_threads()}, batch {args.batch} x {args.steps} steps "
        f"({args.steps / 50:.2f} s windows), best of {args.repeats}"
    )
    print(
        f"validator: {ours:.0f} readings/s ({ours * args.steps:.3g} samples/s); "
        f"SenseGen sampling incl. {generator.burn_in}-step burn-in: {ref:.0f} readings/s; "
        f"ratio {ours / ref:.1f}x"
    )


if __name__ == "__main__":
    main()
