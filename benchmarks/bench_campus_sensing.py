"""The default campus run with SenseGen phones against the same run with ``sensor: none``.

Issue #13's target: ``mcsim run campus`` with SenseGen phones within 1.5x of its
``sensor: none`` time. Each run is the whole command as a user types it (``python -m mcsim run
campus --set sensor=S --quiet`` into a temporary folder: start-up, imports, the cached mining,
40 SimPy days, readings, tables and plots), in its own process; the sensors run interleaved,
``--repeats`` rounds, and each SenseGen run is divided by the ``none`` run of its own round
(the same load on the machine). Printed: per sensor the median wall and CPU seconds (the
child's user + system time), the median ratio to ``none`` in wall and CPU time, and the time
``import torch`` takes in a fresh process, which every SenseGen run pays and ``none`` does not.

Run: ``PYTHONPATH=. python benchmarks/bench_campus_sensing.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_RATIO = 1.5


def run(sensor: str, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``mcsim run campus`` with ``sensor``."""
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mcsim", "run", "campus", "--set", f"sensor={sensor}",
         "--out", str(out / sensor), "--overwrite", "--quiet"],
        check=True, cwd=REPO, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def torch_import_s() -> float:
    """Seconds ``import torch`` takes in a fresh interpreter (beyond its start-up)."""
    code = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sensors", default="sensegen,sensegen-small")
    args = parser.parse_args()
    sensors = ["none", *args.sensors.split(",")]
    runs: dict[str, list[tuple[float, float]]] = {s: [] for s in sensors}
    with tempfile.TemporaryDirectory() as tmp:
        run("none", Path(tmp))  # warm the mining cache and the file system
        for _ in range(args.repeats):
            for sensor, done in runs.items():
                done.append(run(sensor, Path(tmp)))
    print(f"mcsim run campus, {args.repeats} interleaved rounds (median)")
    print(f"{'sensor':<20} {'wall s':>7} {'CPU s':>7} {'wall x':>7} {'CPU x':>7}")
    refs = runs["none"]
    for sensor, done in runs.items():
        wall = statistics.median(r[0] / n[0] for r, n in zip(done, refs, strict=True))
        cpu = statistics.median(r[1] / n[1] for r, n in zip(done, refs, strict=True))
        verdict = "" if sensor == "none" else (
            f"  (target <= {BUDGET_RATIO}x: {'met' if wall <= BUDGET_RATIO else 'NOT met'})"
        )  # fmt: skip
        print(
            f"{sensor:<20} {statistics.median(r[0] for r in done):7.2f} "
            f"{statistics.median(r[1] for r in done):7.2f} {wall:7.2f} {cpu:7.2f}{verdict}"
        )
    print(f"import torch in a fresh process: {torch_import_s():.2f} s (paid by SenseGen runs only)")


if __name__ == "__main__":
    main()
