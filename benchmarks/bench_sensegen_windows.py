"""Keyed SenseGen windows: the simulator's numpy roll against torch's, same run.

The simulator's float32 phones on the CPU draw their windows with
``generators.sensegen.runtime.NumpyGenerator`` (no torch); the reference is torch's
``Sampler.windows`` on the same checkpoint, keys and draws (float32, one torch thread, the
way the pipeline runs it). Both are measured on one thread (``--threads 1``: the figure per
core) or on ``--threads`` (the numpy roll's chunks; torch stays on one), for batches of the
campus's size (~24 rows a call) and of a city day's (hundreds), interleaved, best of
``--repeats``. Printed: phone-steps per second (window + 50 burn-in steps per row) and the ratio.

Run: ``PYTHONPATH=. python benchmarks/bench_sensegen_windows.py [--threads 1] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from generators.sensegen import SHIPPED_CHECKPOINT, SMALL_CHECKPOINT
from generators.sensegen.runtime import NumpyGenerator
from generators.sensegen.sample import Sampler

STEPS = 128  # [samples] a reading of 2.56 s at 50 Hz


def phone_steps_per_s(windows: Callable[..., np.ndarray], rows: int, burn_in: int) -> float:
    """Phone-steps per second of one call for ``rows`` walking windows."""
    keys = np.stack([np.arange(rows), np.full(rows, 7)], axis=1).astype(np.uint64)
    start = time.perf_counter()
    windows(1, keys, STEPS, np.ones(rows, dtype=np.int64))
    return rows * (STEPS + burn_in) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads of the numpy roll")
    parser.add_argument("--rows", default="24,512", help="batch sizes [windows per call]")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"numpy roll on {args.threads} thread(s), torch on 1; best of {args.repeats}")
    print(f"{'model':<6} {'rows':>5} {'numpy steps/s':>14} {'torch steps/s':>14} {'ratio':>6}")
    for name, path in (("paper", SHIPPED_CHECKPOINT), ("small", SMALL_CHECKPOINT)):
        ours = NumpyGenerator.from_checkpoint(path, workers=args.threads)
        ref = Sampler.from_checkpoint(path, workers=1)
        for rows in (int(r) for r in args.rows.split(",")):
            best_ours = best_ref = 0.0
            for _ in range(args.repeats):  # interleaved: both see the same machine
                best_ours = max(best_ours, phone_steps_per_s(ours.windows, rows, ours.burn_in))
                best_ref = max(best_ref, phone_steps_per_s(ref.windows, rows, ref.burn_in))
            print(
                f"{name:<6} {rows:>5} {best_ours:>14,.0f} {best_ref:>14,.0f} "
                f"{best_ours / best_ref:>5.2f}x"
            )


if __name__ == "__main__":
    main()
