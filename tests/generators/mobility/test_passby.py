"""Tests of generators/mobility/passby.py: the APs sighted on the way between buildings.

What matters downstream: a routine trip is seen by the same APs along its route every day (the
long, repetitive AP-level sequences of an AP log), sightings are short and only added to the
stays, and determinism and chunk independence carry over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from typing import cast

import numpy as np
import pandas as pd

from generators.mobility import CampusConfig, SyntheticCampus, generate_campus

Plain = Callable[[pd.DataFrame], pd.DataFrame]


def _route_aps(campus: SyntheticCampus, a: str, b: str) -> list[str]:
    """APs of third buildings within passby_radius_m of the straight route a -> b, by distance
    along the route of their entry into range (the order a walker meets them)."""
    aps = campus.layout.aps.set_index("location")
    p, q = aps.loc[a, ["x_m", "y_m"]].to_numpy(float), aps.loc[b, ["x_m", "y_m"]].to_numpy(float)
    u = (q - p) / np.hypot(*(q - p))
    rel = aps[["x_m", "y_m"]].to_numpy(float) - p
    along, across = rel @ u, np.abs(rel @ np.array([u[1], -u[0]]))
    r = campus.config.passby_radius_m
    enter = np.clip(along - np.sqrt(np.maximum(r**2 - across**2, 0.0)), 0.0, None)
    other = ~aps["building"].isin([aps.at[a, "building"], aps.at[b, "building"]]).to_numpy()
    near = other & (across < r) & (along + r > 0) & (along - r < np.hypot(*(q - p)))
    return list(aps.index[near][np.argsort(enter[near], kind="stable")])


def _trips(campus: SyntheticCampus) -> pd.DataFrame:
    """(user, origin, target, day, via) of every trip between two stays of the trace."""
    f = campus.trace.frame
    long = ((f["end"] - f["time"]).dt.total_seconds() >= campus.config.min_visit_s).to_numpy()
    rows = []
    for user, g in f.assign(long=long).groupby("user", observed=True):
        idx = np.flatnonzero(g["long"].to_numpy())
        for i, j in pairwise(idx.tolist()):
            rows.append(
                (
                    user,
                    str(g["location"].iat[i]),
                    str(g["location"].iat[j]),
                    cast(pd.Timestamp, g["time"].iat[j]).floor("D"),
                    tuple(str(x) for x in g["location"].iloc[i + 1 : j]),
                )
            )
    return pd.DataFrame(rows, columns=["user", "origin", "target", "day", "via"])


def test_routine_trip_is_seen_by_its_route_aps_in_order_every_day(
    ap_campus: SyntheticCampus,
) -> None:
    campus = ap_campus
    trips = _trips(campus)
    repeated = trips[trips["via"].str.len() > 0].groupby(["user", "origin", "target"])
    key, group = max(repeated, key=lambda kv: len(kv[1]))
    _, origin, target = cast(tuple[str, str, str], key)
    assert len(group) >= 3  # a routine trip, taken on several days
    assert group["via"].nunique() == 1  # the same sightings on every day
    seen = list(cast(tuple[str, ...], group["via"].iat[0]))
    expected = _route_aps(campus, origin, target)
    assert seen == [x for x in expected if x in seen]  # route order (handover may skip one)
    assert len(seen) >= 0.5 * len(expected)


def test_passby_sightings_are_short_and_disabled_config_has_none(
    ap_campus: SyntheticCampus, plain: Plain
) -> None:
    campus = ap_campus
    f = campus.trace.frame
    dwell = (f["end"] - f["time"]).dt.total_seconds()
    short = dwell < campus.config.min_visit_s
    assert short.any()
    speed, r = campus.config.speed_mps, campus.config.passby_radius_m
    assert dwell[short].between(campus.config.passby_min_s, 2 * r / speed + 1).all()
    off = generate_campus(replace(campus.config, passby_radius_m=0.0), seed=campus.seed)
    g = off.trace.frame
    assert ((g["end"] - g["time"]).dt.total_seconds() > 2 * r / speed + 1).all()
    # Pass-by sightings are only added: the stays are those of the disabled config.
    pd.testing.assert_frame_equal(plain(f[~short.to_numpy()]), plain(g))
    assert CampusConfig.preset("city").passby_radius_m == 0.0
    assert CampusConfig.preset("wtd").passby_radius_m == 0.0
    assert CampusConfig.preset("wtd-extended-ap").passby_radius_m > 0.0


def test_passby_keeps_determinism_and_chunk_independence(plain: Plain) -> None:
    config = CampusConfig(n_users=30, n_days=10, passby_radius_m=60.0)
    a, b = generate_campus(config, seed=5), generate_campus(config, seed=5)
    pd.testing.assert_frame_equal(a.trace.frame, b.trace.frame)
    pd.testing.assert_frame_equal(a.visits(chunk_users=4).frame, a.trace.frame)
    dwell = (a.trace.frame["end"] - a.trace.frame["time"]).dt.total_seconds()
    assert (dwell < config.min_visit_s).sum() > 0
    small = generate_campus(replace(config, n_users=8), seed=5).trace.frame
    first_eight = a.trace.frame[a.trace.frame["user"].cat.codes < 8]
    pd.testing.assert_frame_equal(plain(small), plain(first_eight))
