"""Cutting traces into cycles: boundaries, collapsing, dwell, validity and the split."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleOptions, cut_cycles, split_cycles
from mcsim.mining.locations import LocationModel


def ap_trace(rows: list[tuple[str, str, str]]) -> Trace:
    return Trace.from_frame(pd.DataFrame(rows, columns=["user", "location", "time"]))


def sequences_by_user(table) -> dict[str, list[list[str]]]:
    frame = table.to_frame()
    return {user: list(group["sequence"]) for user, group in frame.groupby("user")}


def test_ap_log_collapses_repeats_and_counts_valid_cycles() -> None:
    trace = ap_trace(
        [
            ("u", "home", "2024-03-01T06:00:00Z"),
            ("u", "home", "2024-03-01T06:00:20Z"),
            ("u", "lab", "2024-03-01T09:00:00Z"),
            ("u", "lab", "2024-03-01T09:00:20Z"),
            ("u", "home", "2024-03-01T20:00:00Z"),
            ("u", "home", "2024-03-03T07:00:00Z"),  # 2 March: the user is absent
            ("v", "lab", "2024-03-01T10:00:00Z"),
        ]
    )
    table = cut_cycles(trace, CycleOptions(origin_hour=4))
    assert sequences_by_user(table) == {"u": [["home", "lab", "home"], ["home"]], "v": [["lab"]]}
    assert list(table.n_cycles()) == [2, 1]
    frame = table.to_frame()
    assert {"user", "cycle", "sequence"} <= set(frame.columns)
    assert frame.loc[0, "start"] == pd.Timestamp("2024-03-01T04:00:00Z")
    # The run of two sightings at the lab is one visit from 05:00 to 05:00:20 after 04:00.
    assert cast(list[float], frame.loc[0, "arrival_s"])[1] == 5 * 3600
    assert cast(list[float], frame.loc[0, "departure_s"])[1] == 5 * 3600 + 20


def test_origin_hour_and_timezone_decide_the_day() -> None:
    # 03:00 in Beijing on 2 March is still 1 March's cycle when days start at 04:00.
    trace = ap_trace(
        [("u", "a", "2024-03-01T20:00:00+08:00"), ("u", "b", "2024-03-02T03:00:00+08:00")]
    )
    beijing = cut_cycles(trace, CycleOptions(origin_hour=4, timezone="Asia/Shanghai"))
    assert len(beijing) == 1
    midnight = cut_cycles(trace, CycleOptions(origin_hour=0, timezone="Asia/Shanghai"))
    assert len(midnight) == 2


def test_visit_spanning_the_boundary_is_split_and_clipped() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u", "u"],
            "location": ["home", "lab"],
            "time": ["2024-03-01T22:00:00Z", "2024-03-02T09:00:00Z"],
            "end": ["2024-03-02T08:00:00Z", "2024-03-02T17:00:00Z"],
        }
    )
    table = cut_cycles(Trace.from_frame(frame), CycleOptions(origin_hour=4))
    assert sequences_by_user(table) == {"u": [["home"], ["home", "lab"]]}
    assert table.arrival[0] == 18 * 3600 and table.departure[0] == 24 * 3600
    assert table.arrival[1] == 0 and table.departure[1] == 4 * 3600


def test_visit_ending_on_the_boundary_does_not_open_the_next_cycle() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u"],
            "location": ["a"],
            "time": ["2024-03-01T10:00:00Z"],
            "end": ["2024-03-02T04:00:00Z"],
        }
    )
    assert len(cut_cycles(Trace.from_frame(frame), CycleOptions(origin_hour=4))) == 1


def test_min_dwell_drops_short_visits_and_recollapses() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u"] * 3,
            "location": ["a", "b", "a"],
            "time": ["2024-03-01T08:00:00Z", "2024-03-01T09:00:00Z", "2024-03-01T09:02:00Z"],
            "end": ["2024-03-01T09:00:00Z", "2024-03-01T09:01:00Z", "2024-03-01T12:00:00Z"],
        }
    )
    trace = Trace.from_frame(frame)
    assert sequences_by_user(cut_cycles(trace))["u"] == [["a", "b", "a"]]
    kept = cut_cycles(trace, CycleOptions(min_dwell_s=300))
    assert sequences_by_user(kept)["u"] == [["a"]]
    assert kept.arrival[0] == 4 * 3600 and kept.departure[0] == 8 * 3600


def test_shorter_cycles() -> None:
    trace = ap_trace([("u", "a", "2024-03-01T05:00:00Z"), ("u", "b", "2024-03-01T17:00:00Z")])
    assert len(cut_cycles(trace, CycleOptions(length_h=12, origin_hour=4))) == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"length_h": 0}, {"origin_hour": 24}, {"min_dwell_s": -1}, {"timezone": "Mars/Olympus"}],
)
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CycleOptions(**kwargs)


def test_split_is_by_calendar_cycle() -> None:
    rows = [("u", "a", f"2024-03-{d:02d}T10:00:00Z") for d in range(1, 11)]
    rows += [("v", "b", f"2024-03-{d:02d}T10:00:00Z") for d in (2, 9)]
    table = cut_cycles(ap_trace(rows))
    train, test = split_cycles(table, train_cycles=7)
    assert list(train.n_cycles()) == [7, 1] and list(test.n_cycles()) == [3, 1]
    assert train.cycle.max() < test.cycle.min()
    train, test = split_cycles(table, train_fraction=0.5)
    assert list(train.n_cycles()) == [5, 1]
    with pytest.raises(ValueError):
        split_cycles(table)


def test_location_model_is_share_of_valid_cycles() -> None:
    rows = [
        ("u", "home", "2024-03-01T06:00:00Z"),
        ("u", "lab", "2024-03-01T09:00:00Z"),
        ("u", "home", "2024-03-01T19:00:00Z"),
        ("u", "home", "2024-03-02T06:00:00Z"),
        ("v", "lab", "2024-03-01T09:00:00Z"),
    ]
    table = cut_cycles(ap_trace(rows))
    model = LocationModel.from_cycles(table)
    home, lab = list(table.locations).index("home"), list(table.locations).index("lab")
    assert model.prob(0, home) == 1.0  # twice in cycle 1 still counts once
    assert model.prob(0, lab) == 0.5
    assert model.prob(1, home) == 0.0
    users, probs = model.users_at(lab, threshold=0.4)
    assert list(users) == [0, 1] and list(probs) == [0.5, 1.0]


visits = st.lists(
    st.tuples(
        st.sampled_from(["u", "v"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 5 * 86400),
        st.integers(0, 40 * 3600),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(visits)
def test_cycle_invariants(rows: list[tuple[str, str, int, int]]) -> None:
    start = pd.Timestamp("2024-03-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "user": [r[0] for r in rows],
            "location": [r[1] for r in rows],
            "time": [start + pd.Timedelta(seconds=r[2]) for r in rows],
            "end": [start + pd.Timedelta(seconds=r[2] + r[3]) for r in rows],
        }
    )
    table = cut_cycles(Trace.from_frame(frame))
    assert table.offsets[0] == 0 and table.offsets[-1] == len(table.location)
    assert (np.diff(table.offsets) > 0).all()  # valid cycles only
    for seq in table.sequences():
        assert (seq[1:] != seq[:-1]).all()  # no consecutive repeats
    order = np.lexsort((table.cycle, table.user))
    assert (order == np.arange(len(table))).all()
    assert (table.arrival <= table.departure).all()
    assert ((table.arrival >= 0) & (table.departure <= 86400)).all()
    # Every user with a row has at least one valid cycle.
    assert (table.n_cycles() > 0).sum() == frame["user"].nunique()
