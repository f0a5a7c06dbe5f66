"""Counter-based randomness: every random number is a hash of (seed, user, day, variate index).

Why: a user's routine and each of their days must be the same whatever the population size, the
chunking or the order of generation, so that held-out days of one user can be drawn lazily
without anyone else. A SplitMix64 hash of the counters gives that, vectorised over
users x days x variates (which is what makes 100,000 users x 30 days take seconds). The
:class:`Slots` tables give every random decision a fixed variate index; :class:`Variates` looks a
block's uniforms up by those names; :func:`z` and :func:`beta` turn uniforms into normal and Beta
draws by inverse CDF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64 increment (golden ratio)
_GAMMA_DAY = np.uint64(0xD1B54A32D192ED03)  # a second odd constant for the day level
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ROUTINE_DAY = 1 << 40  # the "day" counter of the routine draws (far from any real day)
_DAY_OFFSET = 1 << 32  # keeps negative day indices distinct from the routine counter


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014), in place on a fresh uint64 array."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def user_keys(seed_key: np.uint64, users: np.ndarray) -> np.ndarray:
    """One 64-bit key per user index: element ``u`` of the SplitMix64 stream of the seed."""
    return mix64(np.uint64(seed_key) + (users.astype(np.uint64) + np.uint64(1)) * _GAMMA)


def uniforms(keys: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Uniforms in (0, 1) of shape (users, days, n): variate j of (user key, day).

    Each (user, day) pair seeds its own SplitMix64 stream, so the numbers do not depend on which
    other users or days are drawn in the same call.
    """
    day_keys = mix64((days.astype(np.int64) + _DAY_OFFSET).astype(np.uint64) * _GAMMA_DAY)
    base = mix64(keys[:, None] ^ day_keys[None, :])
    h = base[:, :, None] + np.arange(1, n + 1, dtype=np.uint64) * _GAMMA
    h = mix64(h)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def routine_uniforms(keys: np.ndarray, n: int) -> np.ndarray:
    """Uniforms of shape (users, n) for the users' routines: a counter no real day reaches."""
    return uniforms(keys, np.array([_ROUTINE_DAY - _DAY_OFFSET]), n)[:, 0, :]


def seed_key(seed: int, purpose: int) -> np.uint64:
    """A 64-bit key for one purpose (layout, users), derived with SeedSequence spawning."""
    sequence = np.random.SeedSequence(seed, spawn_key=(purpose,))
    return np.uint64(sequence.generate_state(1, np.uint64)[0])


class Slots:
    """Names of the per-(user, day) variates: a fixed index for every random decision.

    Fixed indices are what keep a user's day independent of everything else drawn with it.
    """

    def __init__(self, sizes: dict[str, int]) -> None:
        self.index: dict[str, slice] = {}
        start = 0
        for name, size in sizes.items():
            self.index[name] = slice(start, start + size)
            start += size
        self.n = start

    def __getitem__(self, name: str) -> slice:
        return self.index[name]


@dataclass(frozen=True, eq=False)
class Variates:
    """A block of uniforms (last axis: variate index) read by slot name."""

    values: np.ndarray
    slots: Slots

    def __call__(self, name: str) -> np.ndarray:
        """The slot's uniforms; a one-variate slot loses its last axis."""
        values = self.values[..., self.slots[name]]
        return values[..., 0] if values.shape[-1] == 1 else values


def z(u: np.ndarray) -> np.ndarray:
    """Standard normal quantile of a uniform (vectorised inverse CDF)."""
    return special.ndtri(u)


def beta(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Beta(a, b) quantile of a uniform (vectorised inverse CDF)."""
    return special.betaincinv(a, b, u)
