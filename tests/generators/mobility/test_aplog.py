"""Tests of generators/mobility/aplog.py: the AP-log form of a visit trace."""

from __future__ import annotations

import pytest

from generators.mobility import CampusConfig, generate_campus, to_ap_log
from mcsim.data.traces import Trace
from mcsim.mining.cycles import cut_cycles


def test_ap_log_has_one_sighting_per_interval() -> None:
    visits = generate_campus(CampusConfig(n_users=5, n_days=3), seed=4).trace
    log = to_ap_log(visits, interval_s=20)
    frame = visits.frame
    connected = ((frame["end"] - frame["time"]).dt.total_seconds()).sum()
    assert abs(len(log) - connected / 20) <= len(frame)
    assert "end" not in log.frame.columns
    Trace.from_frame(log.frame)  # sorted and valid
    cycles_visits = cut_cycles(visits)
    cycles_log = cut_cycles(log)
    assert [list(s) for s in cycles_visits.sequences()] == [list(s) for s in cycles_log.sequences()]
    with pytest.raises(ValueError, match="max_rows"):
        to_ap_log(visits, interval_s=20, max_rows=1000)
