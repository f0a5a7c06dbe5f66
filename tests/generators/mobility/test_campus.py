"""Tests of generators/mobility/campus.py: generate_campus and SyntheticCampus.

What matters downstream: one seed gives one trace; a user's days do not depend on who else is
generated or in which range; the output is a valid Trace without re-validation; the paper's
presets have the paper's sizes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.mobility import CampusConfig, SyntheticCampus, generate_campus
from mcsim.data.traces import Trace
from mcsim.mining.cycles import cut_cycles

Plain = Callable[[pd.DataFrame], pd.DataFrame]


def test_same_seed_same_trace_and_different_seed_differs() -> None:
    a = generate_campus(CampusConfig(n_users=20, n_days=10), seed=1).trace.frame
    b = generate_campus(CampusConfig(n_users=20, n_days=10), seed=1).trace.frame
    c = generate_campus(CampusConfig(n_users=20, n_days=10), seed=2).trace.frame
    pd.testing.assert_frame_equal(a, b)
    assert len(a) != len(c) or not a.equals(c)


def test_user_days_do_not_depend_on_population_size_or_chunking(plain: Plain) -> None:
    small = generate_campus(CampusConfig(n_users=10, n_days=14), seed=3)
    large = generate_campus(CampusConfig(n_users=50, n_days=14), seed=3)
    first_ten = large.trace.frame[large.trace.frame["user"].cat.codes < 10]
    pd.testing.assert_frame_equal(plain(small.trace.frame), plain(first_ten))
    chunked = large.visits(chunk_users=7).frame
    pd.testing.assert_frame_equal(chunked, large.trace.frame)


def _cycles(trace: Trace, campus: SyntheticCampus) -> pd.DataFrame:
    frame = cut_cycles(trace, campus.cycle_options()).to_frame()
    return frame.drop(columns="start").reset_index(drop=True)


def test_lazy_days_have_the_cycles_of_a_longer_trace(campus: SyntheticCampus) -> None:
    full = _cycles(campus.trace, campus)
    first = full["cycle"].min()
    window = _cycles(campus.visits(range(10, 13), users=np.array([4, 20])), campus)
    expected = full[
        full["user"].isin(["u000005", "u000021"]) & full["cycle"].between(first + 10, first + 12)
    ]
    assert len(window) > 0
    pd.testing.assert_frame_equal(window, expected.reset_index(drop=True))
    for d in range(10, 13):
        visits = campus.day("u000005", d)
        own = expected[(expected["user"] == "u000005") & (expected["cycle"] == first + d)]
        if len(visits) == 0:  # a silent day
            assert len(own) == 0
            continue
        pd.testing.assert_frame_equal(_cycles(Trace(visits), campus), own.reset_index(drop=True))
    # Windows join into the longer trace: the only difference is a night split at the edge.
    joined = pd.concat([campus.visits(range(12)).frame, campus.visits(range(12, 30)).frame])
    joined = joined.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    assert len(joined) - len(campus.trace) <= campus.config.n_users
    pd.testing.assert_frame_equal(_cycles(Trace(joined), campus), full)
    assert (
        cut_cycles(campus.trace, campus.cycle_options()).n_cycles() <= campus.config.n_days
    ).all()
    assert len(campus.visits(range(30, 40), users=np.array([4]))) > 0  # held-out days exist


def _check_trace_invariants(frame: pd.DataFrame) -> None:
    """What Trace.from_frame would enforce, plus non-overlapping visits per user."""
    assert isinstance(frame["user"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["location"].dtype, pd.CategoricalDtype)
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert (frame["end"] >= frame["time"]).all()
    assert np.isfinite(frame[["latitude", "longitude"]].to_numpy()).all()
    user = frame["user"].cat.codes.to_numpy()
    same = user[1:] == user[:-1]
    assert (np.diff(user) >= 0).all()
    # Visits of one user never overlap: each starts at or after the previous one's end.
    assert (frame["time"].to_numpy()[1:][same] >= frame["end"].to_numpy()[:-1][same]).all()
    if len(frame):
        validated = Trace.from_frame(frame).frame
        as_str = {"user": str, "location": str}
        pd.testing.assert_frame_equal(
            validated.astype(as_str).reset_index(drop=True),
            frame.astype(as_str).reset_index(drop=True),
            check_dtype=False,
        )


def test_trace_is_valid_by_construction(campus: SyntheticCampus) -> None:
    _check_trace_invariants(campus.trace.frame)


@settings(max_examples=20, deadline=None)
@given(
    n_users=st.integers(1, 12),
    n_days=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    first=st.integers(-3, 40),
    day_start_h=st.floats(4.0, 6.0),
    timezone=st.sampled_from(
        [
            "UTC",
            "America/Los_Angeles",
            "Asia/Shanghai",
            "Europe/Berlin",
            "Europe/Helsinki",
            "Australia/Sydney",
        ]
    ),
    start=st.sampled_from(["2002-09-30", "2002-10-25", "2021-03-26", "2022-09-30"]),
)
def test_any_window_of_any_campus_is_a_valid_trace(
    n_users: int,
    n_days: int,
    seed: int,
    first: int,
    day_start_h: float,
    timezone: str,
    start: str,
) -> None:
    """Including windows across daylight-saving changes and fractional day starts."""
    config = CampusConfig(
        n_users=n_users,
        n_days=n_days,
        n_aps=40,
        timezone=timezone,
        start_date=start,
        day_start_h=day_start_h,
    )
    campus = generate_campus(config, seed)
    window = campus.visits(range(first, first + n_days))
    _check_trace_invariants(window.frame)
    assert len(window.users) == n_users and len(window.locations) == 40
    if len(window):
        cycles = cut_cycles(window, campus.cycle_options())
        assert np.ptp(cycles.cycle) < n_days  # nothing spills out of the window's days


def test_a_campus_without_some_kinds_of_building() -> None:
    config = CampusConfig(
        n_users=15,
        n_days=7,
        n_aps=30,
        building_mix=(("residence", 0.5), ("dining", 0.2), ("social", 0.3)),
    )
    campus = generate_campus(config, seed=3)
    assert set(campus.layout.aps["kind"]) == {"residence", "dining", "social"}
    frame = campus.trace.frame
    _check_trace_invariants(frame)
    kinds = campus.layout.aps.set_index("location")["kind"]
    assert set(kinds[frame["location"].astype(str)]) == {"residence", "dining", "social"}
    with pytest.raises(ValueError, match="residences"):
        CampusConfig(building_mix=(("lecture", 1.0),))


@pytest.mark.parametrize(("name", "users", "aps"), [("wtd", 68, 124), ("wtd-extended", 168, 284)])
def test_paper_presets(name: str, users: int, aps: int) -> None:
    campus = generate_campus(name, seed=0)
    assert len(campus.trace.users) == users
    assert len(campus.trace.locations) == aps
    assert campus.layout.aps["kind"].nunique() == 7
    assert campus.trace.frame["location"].nunique() > 0.8 * aps
    assert CampusConfig.paper() == CampusConfig.preset("wtd")
    with pytest.raises(ValueError, match="unknown campus preset"):
        CampusConfig.preset("nowhere")


def test_bad_user_and_day_arguments_are_refused(campus: SyntheticCampus) -> None:
    with pytest.raises(ValueError, match="step 1"):
        campus.visits(range(0, 10, 2))
    with pytest.raises(ValueError, match="no users"):
        campus.visits(users=np.array([], dtype=int))
    with pytest.raises(ValueError, match="user indices"):
        campus.visits(users=np.array([campus.config.n_users]))
    assert campus.day("u000003", 4).equals(campus.day(2, 4))
