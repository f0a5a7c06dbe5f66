"""Tests of generators/mobility/rng.py: the counter-based random numbers.

What matters downstream: a number depends only on (seed, user, day, variate index), never on
which other users or days are drawn in the same call; that is what lets the campus draw any
user's day on its own. The numbers must also look uniform and the inverse CDFs be right.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from generators.mobility.rng import (
    Slots,
    Variates,
    beta,
    routine_uniforms,
    seed_key,
    uniforms,
    user_keys,
    z,
)


def test_same_key_same_uniforms_whatever_is_drawn_with_it() -> None:
    keys = user_keys(seed_key(11, 1), np.arange(50))
    days = np.arange(-3, 12)
    full = uniforms(keys, days, 8)
    assert full.shape == (50, 15, 8)
    np.testing.assert_array_equal(uniforms(keys, days, 8), full)
    # A subset of users and days, in another order, with fewer variates: the same numbers.
    users, some_days = np.array([31, 2, 17]), np.array([9, -2])
    part = uniforms(keys[users], some_days, 5)
    np.testing.assert_array_equal(part, full[np.ix_(users, some_days + 3, np.arange(5))])
    # A user's key depends on its index only, not on the population it is drawn with.
    np.testing.assert_array_equal(user_keys(seed_key(11, 1), np.array([31])), keys[[31]])


def test_streams_differ_across_seeds_purposes_users_and_days() -> None:
    assert seed_key(1, 1) != seed_key(2, 1)
    assert seed_key(1, 0) != seed_key(1, 1)
    keys = user_keys(seed_key(3, 1), np.arange(200))
    assert len(np.unique(keys)) == 200
    values = uniforms(keys, np.arange(10), 4)
    assert len(np.unique(values)) == values.size
    # The routine counter is none of the real days'.
    routine = routine_uniforms(keys, 4)
    assert routine.shape == (200, 4)
    assert not np.isin(routine, uniforms(keys, np.arange(-400, 400), 4)).any()


def test_uniforms_are_uniform_in_the_open_unit_interval() -> None:
    keys = user_keys(seed_key(5, 1), np.arange(400))
    values = uniforms(keys, np.arange(25), 10).ravel()
    assert ((values > 0.0) & (values < 1.0)).all()
    assert stats.kstest(values, "uniform").pvalue > 1e-3
    # Neighbouring variates of one stream are uncorrelated.
    pairs = uniforms(keys, np.arange(25), 2).reshape(-1, 2)
    assert abs(np.corrcoef(pairs.T)[0, 1]) < 0.02


def test_slots_give_fixed_indices_and_variates_read_them_by_name() -> None:
    slots = Slots({"a": 1, "b": 3, "c": 2})
    assert slots.n == 6
    assert (slots["a"], slots["b"], slots["c"]) == (slice(0, 1), slice(1, 4), slice(4, 6))
    values = np.arange(2 * 3 * 6, dtype=float).reshape(2, 3, 6)
    u = Variates(values, slots)
    np.testing.assert_array_equal(u("a"), values[..., 0])  # one variate: no last axis
    np.testing.assert_array_equal(u("b"), values[..., 1:4])
    with pytest.raises(KeyError):
        u("d")


def test_inverse_cdfs() -> None:
    u = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    np.testing.assert_allclose(z(u), stats.norm.ppf(u))
    np.testing.assert_allclose(beta(2.0, 5.0, u), stats.beta.ppf(u, 2.0, 5.0))
    assert z(np.array([0.5]))[0] == 0.0
