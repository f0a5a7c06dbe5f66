"""Seed streams: every random component draws from its own generator, derived from one seed.

A scenario has one seed. Each component that draws random numbers gets
``SeedSequence(seed, spawn_key=(stream, *key))``, where ``stream`` says what it is
(:class:`Stream`) and ``key`` what it depends on (a repetition, a variant), never a worker or
an execution order. Hence the same scenario and seed give identical results whatever the
number of workers or the backend, and changing one component (say the task pool) leaves the
others' draws untouched.

The numbers of :class:`Stream` are part of the results' contract: renumbering one would change
every run's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """What a seed stream drives; the value is the first element of its spawn key."""

    TRACE = 0  # the synthetic population: key ()
    DAY_ORDER = 1  # the order in which held-out days are replayed: key ()
    DAY = 2  # one simulated day: key (repetition,), paired across task-pool variants
    TASKS = 3  # one task pool: key (variant, repetition)
    SENSOR = 4  # the phones' streams: key (variant, repetition)
    POPULATION = 5  # a virtual population driven by the pattern model: key ()
    TRAIN_DAY = 6  # a training day of an RL agent drawn from the pattern model: key (index,)
    DISHONEST = 7  # which users are dishonest, and how: key ()


def rng_for(seed: int, stream: Stream, *key: int) -> np.random.Generator:
    """The generator of one component: ``SeedSequence(seed, spawn_key=(stream, *key))``.

    >>> a, b = rng_for(7, Stream.TASKS, 0, 1), rng_for(7, Stream.TASKS, 0, 1)
    >>> bool(a.integers(100) == b.integers(100))
    True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(stream), *key)))


def draw_by_share(
    rng: np.random.Generator, n: int, codes: Sequence[int], shares: Sequence[float]
) -> np.ndarray:
    """``n`` int8 codes drawn independently from one component's generator, ``codes[k]``
    with probability ``shares[k] / sum(shares)`` (a task's context, a user's conduct)."""
    weights = np.asarray(shares, dtype=np.float64)
    return rng.choice(np.asarray(codes, dtype=np.int8), size=n, p=weights / weights.sum())


def seed_for(seed: int, stream: Stream, *key: int) -> int:
    """A 32-bit integer seed for components that take an int (generators, phones)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(int(stream), *key))
    return int(sequence.generate_state(1)[0])
