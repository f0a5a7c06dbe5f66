"""The 100,000-user day with SenseGen phones against the same day with ``sensor: none``.

Issue #13's target: ``scenarios/scale_100k.yaml`` with SenseGen phones runs within 1.5x of its
``sensor: none`` time and within 8 GB. Each day runs in its own fresh process (so that its
peak RSS is its own), end to end with mining excluded as in ``bench_sim.py``: trace, cycles,
knowledge (patterns read from the mining cache, warmed first in a separate process), day, task
pool, world, allocation by one policy, SimPy day with sensing, metrics. The sensors (``none``,
then ``--sensors``: by default the four shipped SenseGen sensors, ``sensegen`` and
``sensegen-small``, each in float32 and bfloat16) run one after the other,
``--repeats`` rounds; each SenseGen day is compared with the ``none`` day of its own round
(the same load on the machine) and the median ratio is printed. The ``none`` sensor still
draws its noise windows, one per reading, so the difference is what SenseGen costs.

Printed per sensor (the median run): wall and CPU seconds of the day, of its simulate stage
and inside the generator, readings, generator calls, phone-steps rolled (windows x (steps +
50 burn-in steps), each reading a fresh stream), phone-steps per CPU-second of generation,
and peak RSS;
then per SenseGen variant the ratio to the ``none`` day (target <= 1.5x) in wall and in CPU
time, where the extra time goes, the ratio projected for a generator that has both cores to
itself (its CPU time halved), and the peak memory against the 8 GB budget. CPU time is the
figure to trust on a shared machine, where wall time follows the other processes (the last
line says how much of a core the ``none`` days got), and for ``mcsim run``, whose worker
processes keep every core busy anyway.

Run: ``PYTHONPATH=. python benchmarks/bench_scale_sensing.py [--policy MLP] [--repeats 1]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCALE = REPO / "scenarios" / "scale_100k.yaml"
BUDGET_RATIO = 1.5
BUDGET_GB = 8.0


def day(sensor: str, policy: str) -> dict[str, Any]:
    """Run one 100,000-user day with ``sensor`` (a scenario ``sensor`` value); its figures."""
    from mcsim.app.pipeline import Pipeline, default_cache_dir
    from mcsim.app.scenario import load_scenario
    from mcsim.platform.metrics import day_metrics
    from mcsim.sim import simulate
    from policies import make_policy

    start, cpu_start = time.perf_counter(), time.process_time()
    scenario = load_scenario(SCALE, {"sensor": sensor}).variants[0].scenario
    pipeline = Pipeline(scenario, cache_dir=default_cache_dir())
    setting = pipeline.prepared
    day_plan, tasks = pipeline.day(0), pipeline.tasks(0)
    spec = next((s for s in scenario.policies if s.name == policy), None)
    if spec is None:
        raise SystemExit(f"policy {policy!r} is not in {SCALE.name}")
    sensor_obj = pipeline.sensor()
    timer = _Timer(sensor_obj.windows)
    sensor_obj.windows = timer  # type: ignore[method-assign]  # the world calls the instance's
    world = pipeline.world(0, day=day_plan, tasks=tasks)
    t0 = time.perf_counter()
    result = simulate(world, make_policy(spec.name, **spec.params))
    simulate_s = time.perf_counter() - t0
    metrics = day_metrics(result, setting.test_model)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    generator = getattr(sensor_obj, "generator", None)  # SenseGen's numpy or torch roller
    torch = sys.modules.get("torch")  # imported by the run only for a torch sensor

    return {
        "sensor": sensor,
        "policy": spec.display,
        "total_s": total,
        "simulate_s": simulate_s,
        "alloc_s": float(result.decisions["seconds"].sum()),
        "cpu_s": cpu,
        "generate_s": timer.seconds,
        "generate_cpu_s": timer.cpu_seconds,
        "readings": len(result.readings),
        "calls": int(result.sensor_calls),
        "phone_steps": None if generator is None else int(generator.phone_steps),
        "windows": timer.rows,
        "assigned": int(metrics["assigned"]),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "torch_threads": None if torch is None else torch.get_num_threads(),
    }


class _Timer:
    """Wraps a sensor's ``windows`` and sums the wall and CPU seconds (all of this process's
    threads) spent inside it, and the windows generated."""

    def __init__(self, windows: Callable[..., np.ndarray]) -> None:
        self.windows, self.seconds, self.cpu_seconds, self.rows = windows, 0.0, 0.0, 0

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            out = self.windows(*args, **kwargs)
            self.rows += len(out)
            return out
        finally:
            self.seconds += time.perf_counter() - t0
            self.cpu_seconds += time.process_time() - c0


def _child(sensor: str, policy: str) -> dict[str, Any]:
    """:func:`day` in a fresh process (its own peak RSS)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", sensor, "--policy", policy],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(r: dict[str, Any]) -> str:
    steps = r["phone_steps"]
    rate = f"{steps / r['generate_cpu_s']:10,.0f}" if steps else f"{'-':>10}"
    return (
        f"{r['sensor']:<19} {r['total_s']:8.1f} {r['cpu_s']:7.1f} {r['simulate_s']:7.1f} "
        f"{r['generate_s']:7.1f} {r['generate_cpu_s']:7.1f} {r['readings']:8,} {r['calls']:5} "
        f"{steps or 0:11,} {rate} {r['peak_gb']:7.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default="MLP", help="one policy of the scenario")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of days (median kept)")
    parser.add_argument(
        "--sensors",
        default="sensegen,sensegen-bf16,sensegen-small,sensegen-small-bf16",
        help="comma-separated sensor values compared with none",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(day(args.child, args.policy)))
        return
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_sim.py"), "--warm-cache"],
        check=True,
        cwd=REPO,
    )
    sensors = ["none", *filter(_loads_here, args.sensors.split(","))]
    runs: dict[str, list[dict[str, Any]]] = {sensor: [] for sensor in sensors}
    for _ in range(args.repeats):
        for sensor, done in runs.items():  # interleaved: all see the same machine
            done.append(_child(sensor, args.policy))
    typical = {k: _median_run(v) for k, v in runs.items()}
    threads = {k: r["torch_threads"] for k, r in typical.items() if r["torch_threads"]}
    print(
        f"100,000-user day ({args.policy}, mining excluded), median of {args.repeats}; "
        f"torch threads {threads or 'none (torch not imported)'}"
    )
    print(
        f"{'sensor':<19} {'wall s':>8} {'CPU s':>7} {'sim s':>7} {'gen s':>7} {'gen CPU':>7} "
        f"{'readings':>8} {'calls':>5} {'phone-steps':>11} {'steps/CPUs':>10} {'peak GB':>7}"
    )
    for r in typical.values():
        print(_row(r))
    refs = runs["none"]
    for name, done in runs.items():
        if name == "none":
            continue
        # Ratios of the days run back to back (the same load on the machine), then the median.
        wall = statistics.median(
            r["total_s"] / n["total_s"] for r, n in zip(done, refs, strict=True)
        )
        cpu = statistics.median(r["cpu_s"] / n["cpu_s"] for r, n in zip(done, refs, strict=True))
        sg, ref = typical[name], typical["none"]
        other = (sg["cpu_s"] - sg["generate_cpu_s"]) - (ref["cpu_s"] - ref["generate_cpu_s"])
        two_cores = (ref["cpu_s"] + other + sg["generate_cpu_s"] / 2) / ref["cpu_s"]
        peak = max(r["peak_gb"] for r in done)
        print(
            f"{name}: {wall:.2f}x the none day's wall time (target <= {BUDGET_RATIO}x: "
            f"{'met' if wall <= BUDGET_RATIO else 'NOT met'}), {cpu:.2f}x its CPU time; "
            f"generation {sg['generate_s']:.1f} s = {sg['generate_s'] / sg['total_s']:.0%} of "
            f"the day ({sg['generate_cpu_s']:.1f} CPU-s, "
            f"{sg['generate_cpu_s'] / max(sg['generate_s'], 1e-9):.2f} cores busy), "
            f"{other:.1f} CPU-s else (loading the model, torch if imported); with both cores free for the generator "
            f"threads (projected from CPU time) {two_cores:.2f}x; {sg['windows']:,} windows "
            f"generated; peak RSS {peak:.2f} GB (target <= "
            f"{BUDGET_GB:.0f} GB: {'met' if peak <= BUDGET_GB else 'NOT met'})"
        )
    print(
        "share of a core the none days got (CPU / wall): "
        + ", ".join(f"{n['cpu_s'] / n['total_s']:.2f}" for n in refs)
        + " (below 1: other processes were running)"
    )


def _loads_here(sensor: str) -> bool:
    """Whether this machine loads ``sensor``; where not (bfloat16 on a CPU without oneDNN's
    bfloat16 LSTM), the reason is printed and the sensor left out."""
    from generators.sensors import load_sensor
    from mcsim.errors import InputError

    try:
        load_sensor(sensor)
    except InputError as exc:
        print(f"left out {sensor}: {exc}")
        return False
    return True


def _median_run(done: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower middle one of an even count)."""
    ordered = sorted(done, key=lambda r: r["total_s"])
    return ordered[(len(ordered) - 1) // 2]


if __name__ == "__main__":
    main()
