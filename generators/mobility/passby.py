"""Pass-by sightings: the APs a device is seen by while walking between two buildings.

Why a module of its own: it is the one step that turns stays into what a WiFi AP log records
(``passby_radius_m > 0``, the "-ap" presets); it is geometric, not random, and works on the
flat :class:`~generators.mobility.days.Visits` of a block after its days are drawn.
"""

from __future__ import annotations

import numpy as np

from generators.mobility.config import MINUTE, CampusConfig
from generators.mobility.days import Visits
from generators.mobility.layout import CampusLayout


def add_passby(layout: CampusLayout, config: CampusConfig, stays: Visits) -> Visits:
    """Add the APs a device is sighted by while walking between two buildings.

    Why: a WiFi log like WTD probes every 20 s, so a walk of several minutes across campus is
    seen by the APs along the way; routine trips take the same way every day, which is what
    makes AP-level daily sequences long and repetitive (the paper's exponential growth of
    patterns as minsup falls). Model: the route is the straight line from the origin AP to the
    destination AP (campus paths are short and direct at this scale), walked at ``speed_mps``
    after half of the trip's one-minute overhead (leaving the building). Every AP of a third
    building within ``passby_radius_m`` of the route is in range over a chord of the route;
    it is sighted from entering to leaving that chord, in route order. Overlapping ranges hand
    over to the next AP (a device associates with one AP at a time), and sightings shorter
    than ``passby_min_s`` (one probe period) are dropped. With 50 m and 1.3 m/s a sighting
    lasts at most 100 m / 1.3 m/s = 77 s. Nothing is random: the same trip gives the same
    sightings on every day, and a trip depends only on two consecutive stays of one user,
    which lie in the same day, so determinism and window/chunk independence carry over.
    """
    a = layout.arrays
    x, y, building = a["x"].astype(float), a["y"].astype(float), a["building"]
    user, loc = stays.user, stays.location
    trip = np.flatnonzero((user[1:] == user[:-1]) & (building[loc[1:]] != building[loc[:-1]]))
    if trip.size == 0:
        return stays
    origin, target = loc[trip], loc[trip + 1]
    ox, oy = x[origin], y[origin]
    dx, dy = x[target] - ox, y[target] - oy
    length = np.hypot(dx, dy)
    ux, uy = dx / length, dy / length
    px, py = x[None, :] - ox[:, None], y[None, :] - oy[:, None]  # (trips, APs)
    along = px * ux[:, None] + py * uy[:, None]
    across = px * uy[:, None] - py * ux[:, None]
    half = np.sqrt(np.maximum(config.passby_radius_m**2 - across**2, 0.0))
    enter = np.clip(along - half, 0.0, length[:, None])
    leave = np.clip(along + half, 0.0, length[:, None])
    near = (
        (leave > enter)
        & (building[None, :] != building[origin][:, None])
        & (building[None, :] != building[target][:, None])
    )
    t_idx, ap = np.nonzero(near)
    order = np.lexsort((ap, enter[t_idx, ap], t_idx))  # route order within each trip
    t_idx, ap = t_idx[order], ap[order]
    depart = stays.end[trip][t_idx] + 0.5 * MINUTE
    t0 = np.ceil(depart + enter[t_idx, ap] / config.speed_mps)
    t1 = np.floor(depart + leave[t_idx, ap] / config.speed_mps)
    same_trip = np.append(t_idx[1:] == t_idx[:-1], False)
    t1[:-1] = np.where(same_trip[:-1], np.minimum(t1[:-1], t0[1:]), t1[:-1])
    t1 = np.minimum(t1, stays.start[trip + 1][t_idx])  # never into the destination stay
    keep = (t1 - t0) >= config.passby_min_s
    merged = Visits(
        user=np.concatenate([user, user[trip][t_idx][keep]]),
        location=np.concatenate([loc, ap[keep].astype(np.int32)]),
        start=np.concatenate([stays.start, t0[keep].astype(np.int64)]),
        end=np.concatenate([stays.end, t1[keep].astype(np.int64)]),
    )
    order = np.lexsort((merged.start, merged.user))
    return Visits(*(getattr(merged, f)[order] for f in ("user", "location", "start", "end")))
