"""Pattern-mining throughput: our miner against the ``prefixspan`` package, and the 10k-user scale.

(a) per user: :func:`mcsim.mining.patterns.mine_user` and ``PrefixSpan(...).frequent`` on the same
routine-based users in the same run, outputs asserted identical, throughput and ratio printed;
(b) :func:`mcsim.mining.patterns.mine_patterns` over 10,000 users x 30 cycles at minsup 0.5 with every
core, against the 60 s target. Timings are printed, never asserted (the machine is shared).

The users come from a small routine generator kept here (independent of ``generators.mobility``):
a home, a workplace and a few favourite places, each visited on a day with its own probability
at its own hour. Uniform random visits would have almost no patterns and measure nothing.

    python benchmarks/bench_mining.py [--users 10000] [--per-user 300]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from prefixspan import PrefixSpan

from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.patterns import min_count, mine_patterns, mine_user


def routine_users(
    rng: np.random.Generator, n_users: int, n_cycles: int = 30, n_locations: int = 300
) -> list[list[np.ndarray]]:
    """Daily location sequences of users with routines (home, work, favourites).

    Location codes: the first 10% are workplaces, the next 20% public places chosen with
    Zipf-like popularity (so users share them), the rest homes.
    """
    n_work = max(n_locations // 10, 1)
    n_public = max(n_locations // 5, 1)
    popularity = 1.0 / np.arange(1, n_public + 1)
    popularity /= popularity.sum()
    users = []
    for _ in range(n_users):
        home = rng.integers(n_work + n_public, n_locations)
        work = rng.integers(0, n_work)
        n_fav = rng.integers(3, 6)
        favourites = n_work + rng.choice(n_public, size=n_fav, replace=False, p=popularity)
        fav_prob = rng.uniform(0.15, 0.8, n_fav)
        fav_hour = rng.uniform(7, 22, n_fav)
        days = []
        for day in range(n_cycles):
            weekday = day % 7 < 5
            hours = [0.0]
            places = [home]
            if rng.random() < (0.85 if weekday else 0.1):
                hours += [9 + rng.normal(0, 1), 14 + rng.normal(0, 1)]
                places += [work, work]
            visit = rng.random(n_fav) < fav_prob
            hours += (fav_hour[visit] + rng.normal(0, 1, visit.sum())).tolist()
            places += favourites[visit].tolist()
            if rng.random() < 0.9:
                hours.append(23.5)
                places.append(home)
            sequence = np.asarray(places)[np.argsort(hours, kind="stable")]
            keep = np.ones(len(sequence), dtype=bool)
            keep[1:] = sequence[1:] != sequence[:-1]
            days.append(sequence[keep].astype(np.int32))
        users.append(days)
    return users


def cycle_table(users: list[list[np.ndarray]], n_locations: int = 300) -> CycleTable:
    """A :class:`CycleTable` holding the given users' days (times are not needed to mine)."""
    lengths = [len(day) for days in users for day in days]
    location = np.concatenate([day for days in users for day in days])
    return CycleTable(
        users=pd.Index([f"u{i:05d}" for i in range(len(users))]),
        locations=pd.Index([f"L{i:03d}" for i in range(n_locations)]),
        user=np.repeat(np.arange(len(users), dtype=np.int32), [len(d) for d in users]),
        cycle=np.concatenate([np.arange(len(d), dtype=np.int64) for d in users]),
        offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        location=location.astype(np.int32),
        arrival=np.zeros(len(location), dtype=np.float32),
        departure=np.zeros(len(location), dtype=np.float32),
        options=CycleOptions(),
    )


def prefixspan_user(
    sequences: list[np.ndarray], minsup: float
) -> list[tuple[tuple[int, ...], int]]:
    """The reference: the ``prefixspan`` package, in :func:`mine_user`'s order."""
    found = PrefixSpan([s.tolist() for s in sequences]).frequent(min_count(minsup, len(sequences)))
    return sorted(((tuple(p), c) for c, p in found), key=lambda pc: (len(pc[0]), pc[0]))


def bench_per_user(users: list[list[np.ndarray]], minsup: float, repeats: int = 3) -> None:
    """Best of ``repeats`` interleaved runs each, so a busy shared machine hurts both alike."""
    t_ours = t_ref = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ours = [mine_user(days, minsup) for days in users]
        t_ours = min(t_ours, time.perf_counter() - start)
        start = time.perf_counter()
        reference = [prefixspan_user(days, minsup) for days in users]
        t_ref = min(t_ref, time.perf_counter() - start)
    assert ours == reference, "mine_user differs from prefixspan"
    n_patterns = sum(map(len, ours))
    print(
        f"mining per user (minsup {minsup}, {len(users)} users, {n_patterns} patterns): "
        f"{len(users) / t_ours:.0f} users/s (prefixspan {len(users) / t_ref:.0f} users/s, "
        f"ratio {t_ref / t_ours:.1f}x)"
    )


def bench_scale(n_users: int, seed: int) -> None:
    users = routine_users(np.random.default_rng(seed), n_users)
    table = cycle_table(users)
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    base = mine_patterns(table, 0.5, workers=workers)
    seconds = time.perf_counter() - start
    summary = base.summary()
    print(
        f"mining {n_users} users x 30 cycles at minsup 0.5 with {workers} workers: "
        f"{seconds:.1f} s ({seconds / 60:.2f} of the 60 s target; {len(base)} patterns, "
        f"intra-closed {summary['intra_closed']}, inter-closed {summary['inter_closed']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users of the scale run")
    parser.add_argument(
        "--per-user", type=int, default=300, help="users of the per-user comparison with prefixspan"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    users = routine_users(np.random.default_rng(args.seed), args.per_user)
    for minsup in (0.5, 0.3):
        bench_per_user(users, minsup)
    bench_scale(args.users, args.seed + 1)


if __name__ == "__main__":
    main()
