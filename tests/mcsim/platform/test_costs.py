"""Costs (mcsim/platform/costs.py): the survey's prices (Wang et al. 2018, Tables 1-2), the
interpolation past three tasks, the special-trip factor, special trips read off mined
patterns, and the phone energy of a reading from published measurements."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcsim.mining.patterns.base import make_base
from mcsim.platform.costs import (
    ENERGY,
    PRICES,
    SPECIAL_TRIP_FACTOR,
    EnergyModel,
    PriceModel,
    special_trips,
)
from mcsim.sim.sensing import SAMPLE_RATE_HZ


def test_bundle_prices_are_the_surveys() -> None:
    price = PRICES.bundle_price(np.arange(4))
    # One task: the mean of the three kinds (11.10, 10.70, 10.34 USD); bundles of 2 and 3.
    assert price.tolist() == pytest.approx([0.0, 32.14 / 3, 16.625, 21.67])
    # The "about a third" bundle discount the paper reports: 3 tasks 32.6 % below 3 singles.
    assert 1 - price[3] / (3 * price[1]) == pytest.approx(0.326, abs=5e-4)
    assert SPECIAL_TRIP_FACTOR == 1.885


def test_past_three_tasks_the_third_tasks_marginal_price_is_held() -> None:
    third = 21.67 - 16.625  # 5.045 USD
    assert PRICES.last_marginal_usd == pytest.approx(third)
    assert PRICES.bundle_price(4) == pytest.approx(21.67 + third)
    assert PRICES.bundle_price(8) == pytest.approx(21.67 + 5 * third)
    with pytest.raises(ValueError, match=">= 0"):
        PRICES.bundle_price(-1)


def test_user_incentives_split_the_bundle_and_pay_special_trips_the_factor() -> None:
    # User 3: two copies on its route -> 16.625. User 1: three copies, one a special trip
    # -> 21.67 / 3 * (2 + 1.885). User 7: one special trip -> 10.713 * 1.885.
    user = np.array([3, 1, 1, 3, 7, 1])
    special = np.array([False, False, True, False, True, False])
    users, paid = PRICES.user_incentives(user, special)
    assert users.tolist() == [1, 3, 7]
    single = 32.14 / 3
    assert paid.tolist() == pytest.approx([21.67 / 3 * 3.885, 16.625, single * 1.885])
    assert PRICES.incentive(user, special) == pytest.approx(paid.sum())
    assert PRICES.incentive(np.zeros(0, int), np.zeros(0, bool)) == 0.0


def test_price_models_are_checked() -> None:
    with pytest.raises(ValueError, match="increasing"):
        PriceModel(bundle_usd=(10.0, 9.0))
    with pytest.raises(ValueError, match=">= 1"):
        PriceModel(special_trip_factor=0.5)
    assert PriceModel(bundle_usd=(2.0,)).bundle_price(3) == pytest.approx(6.0)


@given(st.integers(0, 40))
def test_bundles_cost_more_but_less_per_task_as_they_grow(n: int) -> None:
    price = PRICES.bundle_price(np.array([n, n + 1]))
    assert price[1] > price[0]
    if n >= 1:  # bundling never makes a task dearer
        assert price[1] / (n + 1) <= price[0] / n + 1e-12


@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=30), st.data())
def test_a_special_trip_never_lowers_the_incentive(
    copies: list[tuple[int, bool]], data: st.DataObject
) -> None:
    user = np.array([u for u, _ in copies])
    special = np.array([s for _, s in copies])
    flip = data.draw(st.integers(0, len(copies) - 1))
    more = special.copy()
    more[flip] = True
    assert PRICES.incentive(user, more) >= PRICES.incentive(user, special) - 1e-9
    synchronous = PRICES.incentive(user, np.zeros_like(special))
    assert (
        synchronous <= PRICES.incentive(user, special) <= SPECIAL_TRIP_FACTOR * synchronous + 1e-9
    )


def test_special_trips_are_copies_off_all_of_the_users_patterns() -> None:
    # User 0 holds 1 and 0 -> 2; user 1 holds 2; user 2 holds nothing.
    patterns = make_base(
        pd.Index(["a", "b", "c"]),
        pd.Index(["w", "x", "y", "z"]),
        holder=np.array([0, 0, 1]),
        lengths=np.array([1, 2, 1]),
        items=np.array([1, 0, 2, 2]),
        count=np.array([3, 3, 2]),
        n_cycles=np.array([4, 4, 4]),
        minsup=0.5,
        max_length=None,
    )
    user = np.array([0, 0, 0, 0, 1, 1, 2, 0])
    location = np.array([0, 1, 2, 3, 2, 0, 2, 9])  # location 9 is outside the base
    assert special_trips(patterns, user, location).tolist() == [
        False, False, False, True, False, True, True, True,
    ]  # fmt: skip


def test_a_reading_costs_its_sampling_and_a_3g_upload() -> None:
    # 2.56 s at 70 mW (SenseLess: 96 - 26 mW); 1.5 KB at 0.025 J/KB + 3.5 J ramp + 12.5 s x
    # 0.62 W tail (Balasubramanian et al. 2009).
    assert ENERGY.sampling_j(128) == pytest.approx(0.070 * 2.56)
    assert ENERGY.upload_j(128) == pytest.approx(3.5 + 0.025 * 1.5 + 7.75)
    assert ENERGY.reading_j(128) == pytest.approx(0.1792 + 11.2875)
    wifi_free = EnergyModel(upload_ramp_j=0.0, upload_j_per_kb=0.0, tail_w=0.0)
    assert wifi_free.reading_j(50) == pytest.approx(0.070)
    with pytest.raises(ValueError, match="tail_s"):
        EnergyModel(tail_s=-1.0)


def test_the_energy_model_samples_at_the_phones_rate() -> None:
    assert ENERGY.sample_rate_hz == SAMPLE_RATE_HZ


@given(st.integers(1, 10_000))
def test_longer_windows_cost_more_energy(steps: int) -> None:
    assert ENERGY.reading_j(steps + 1) > ENERGY.reading_j(steps) > 0
