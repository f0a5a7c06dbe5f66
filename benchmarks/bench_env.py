"""Gym env throughput: steps/s with resets, against references measured in the same run.

Prints (timings are printed, never asserted), after the machine's load average (wall-clock
figures on a shared machine are only comparable at a similar load):

* single env on the campus (68 users) and with 1,000 virtual users: steps/s over whole
  episodes, resets included, and the share of the time spent in ``reset`` (targets: 10,000
  and 5,000 steps/s; reset at most 10 %);
* the env's overhead over calling the policy directly: MDP through the env
  (:class:`~mcsim.envs.agents.PolicyAgent`, K = every user) against MDP in the closed loop
  (:func:`mcsim.sim.simulate`) on the same test days, time per day;
* a 2-env async vector env (``gymnasium.make_vec``) against one env, steps/s.

The campus's training-day pool is drawn first (1,000 generator days in 0.3 s), as after the
first seconds of a training run. For 1,000 users the pool is pattern-model days, drawn user by
user (~45 ms a day): reported both fresh and once drawn (a pool as large as the episodes).

    python benchmarks/bench_env.py [--episodes 300]
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium
import numpy as np

import mcsim  # noqa: F401  (registers the env)
from mcsim.envs.agents import PolicyAgent
from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.sim import simulate
from policies import make_policy

THOUSAND = {"mobility.source": "patterns", "mobility.users": 1000}


def first_slot(info: dict) -> int:
    """A cheap valid action: the best-ranked candidate (or skip)."""
    return 0 if info["action_mask"][0] else len(info["action_mask"]) - 1


def throughput(env: CrowdsensingEnv, episodes: int, *, warm: bool = True) -> tuple[float, float]:
    """(steps/s, reset share) over ``episodes`` episodes of the first-slot agent; ``warm``:
    every day of the pool is drawn first (as after the first minutes of a training run)."""
    for day in range(env.n_days if warm else 0):
        env.reset(options={"day": day})
    steps, in_reset = 0, 0.0
    started = time.perf_counter()
    for seed in range(episodes):
        t = time.perf_counter()
        _, info = env.reset(seed=seed)
        in_reset += time.perf_counter() - t
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(first_slot(info))
            steps += 1
    elapsed = time.perf_counter() - started
    return steps / elapsed, in_reset / elapsed


def overhead(days: int) -> tuple[float, float]:
    """Seconds per day of MDP in the closed loop and through the env, same test days."""
    env = CrowdsensingEnv(days="test", n_days=days, n_candidates=68)
    policy = make_policy("MDP")
    started = time.perf_counter()
    for day in range(days):
        simulate(env.pipeline.world(day), policy)
    direct = (time.perf_counter() - started) / days
    agent = PolicyAgent(policy)
    started = time.perf_counter()
    for day in range(days):
        env.reset(options={"day": day})
        while not env.step(agent.act(env))[2]:
            pass
    return direct, (time.perf_counter() - started) / days


def vector(num_envs: int, steps: int) -> float:
    envs = gymnasium.make_vec("mcsim/Crowdsensing-v0", num_envs=num_envs,
                              vectorization_mode="async" if num_envs > 1 else "sync")  # fmt: skip
    try:
        envs.reset(seed=0)
        actions = np.zeros(num_envs, dtype=np.int64)
        for _ in range(200):
            envs.step(actions)
        started = time.perf_counter()
        for _ in range(steps):
            envs.step(actions)
        return steps * num_envs / (time.perf_counter() - started)
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=300)
    args = parser.parse_args()
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rate, share = throughput(CrowdsensingEnv(), args.episodes)
    print(f"campus (68 users): {rate:,.0f} steps/s, resets included; reset {share:.1%} of the "
          "time (targets 10,000 steps/s, reset <= 10 %)")  # fmt: skip
    episodes = max(args.episodes // 10, 20)
    rate, share = throughput(CrowdsensingEnv(overrides=THOUSAND), episodes, warm=False)
    print(f"1,000 users, fresh pool of 1,000 days: {rate:,.0f} steps/s, resets included; reset "
          f"{share:.1%} of the time (each new pattern-model day is drawn user by user)")  # fmt: skip
    rate, share = throughput(CrowdsensingEnv(overrides=THOUSAND, n_days=episodes), episodes)
    print(f"1,000 users, days drawn: {rate:,.0f} steps/s, resets included; reset {share:.1%} of "
          "the time (target 5,000 steps/s)")  # fmt: skip
    direct, through = overhead(5)
    print(f"MDP per day: closed loop {direct * 1000:.1f} ms, through the env {through * 1000:.1f} "
          f"ms: the env costs {through / direct:.2f}x calling the policy directly")  # fmt: skip
    one, two = vector(1, 2000), vector(2, 2000)
    print(f"vector env: 1 env {one:,.0f} steps/s, 2 async envs {two:,.0f} steps/s: "
          f"{two / one:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
