"""Tests of generators/mobility/virtual.py: extend_trace (virtual users from real ones).

What matters downstream: virtual users get fresh ids and leave the real ones untouched, clone
locations are all visited, and the result keeps the input's form (visits or AP log).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from generators.mobility import CampusConfig, extend_trace, generate_campus, to_ap_log
from mcsim.data.traces import Trace
from mcsim.mining.cycles import cut_cycles


def test_extend_trace_adds_fresh_users_and_keeps_originals(
    plain: Callable[[pd.DataFrame], pd.DataFrame],
) -> None:
    real = generate_campus(CampusConfig(n_users=12, n_days=14), seed=5).trace
    extended = extend_trace(real, 8, seed=9, new_locations=10)
    assert len(extended.users) == 20
    virtual = sorted(set(extended.users) - set(real.users))
    assert len(virtual) == 8
    assert len(extended.locations) == len(real.locations) + 10
    originals = extended.frame[extended.frame["user"].isin(list(real.users))]
    pd.testing.assert_frame_equal(plain(originals), plain(real.frame))
    Trace.from_frame(extended.frame)
    again = extend_trace(real, 8, seed=9, new_locations=10)
    pd.testing.assert_frame_equal(extended.frame, again.frame)
    cycles = cut_cycles(extended)
    assert (cycles.n_cycles() > 0).sum() >= 18


def test_extend_trace_id_clashes_and_ap_log_form() -> None:
    real = generate_campus(CampusConfig(n_users=4, n_days=5), seed=6).trace
    frame = real.frame.copy()
    frame["user"] = frame["user"].cat.rename_categories(["v0001", "v0002", "a", "b"])
    clashing = Trace(frame, "clash")
    extended = extend_trace(clashing, 2, seed=1)
    assert set(extended.users) == {"v0001", "v0002", "a", "b", "vv0001", "vv0002"}
    log = to_ap_log(generate_campus(CampusConfig(n_users=3, n_days=4), seed=2).trace)
    extended_log = extend_trace(log, 2, seed=1, new_locations=2)
    assert "end" not in extended_log.frame.columns
    assert len(extended_log.users) == 5
