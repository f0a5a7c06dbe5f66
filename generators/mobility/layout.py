"""Where things are: buildings, their access points (APs) and the lecture rooms' timetable.

Why a module of its own: the layout depends on the seed and the layout fields of the config
only, never on the population, so it is built once per campus and then read by everything that
draws routines and days (through :attr:`CampusLayout.arrays` and :meth:`CampusLayout.pick`).
:func:`build_layout` places buildings on a jittered grid zoned by kind, spreads the APs over
them and gives every lecture AP its weekly courses; it is the only user of the sequential
(non-counter-based) generator, whose draw order therefore must not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from generators.mobility.config import HOUR, KINDS, MINUTE, TIMETABLE_SLOTS, CampusConfig
from mcsim.data.geo import METERS_PER_DEGREE_LAT


@dataclass(frozen=True, eq=False)
class CampusLayout:
    """Buildings and APs of a campus, plus the weekly course timetable of its lecture APs.

    Attributes:
        buildings: one row per building: ``building`` id, ``kind``, ``latitude``, ``longitude``.
        aps: one row per AP, in location-code order: ``location`` id, ``building``, ``kind``,
            ``latitude``, ``longitude``, ``x_m``/``y_m`` (metres east/north of the centre) and
            ``popularity`` (relative attraction for unscheduled visits).
        courses: one row per timetable entry: ``location`` code, ``days`` (weekday bit mask,
            bit 0 = Monday), ``start_s`` (seconds after local midnight), ``length_s``.

    :attr:`arrays` holds the same as flat numpy arrays (coordinates, pick CDFs per kind, the
    timetable by building), which is what routines and days are drawn from.
    """

    buildings: pd.DataFrame
    aps: pd.DataFrame
    courses: pd.DataFrame

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """Flat per-AP, per-kind and per-course arrays, keyed by name (built once)."""
        aps = self.aps
        kind = aps["kind"].to_numpy()
        out: dict[str, np.ndarray] = {
            "x": aps["x_m"].to_numpy(np.float32),
            "y": aps["y_m"].to_numpy(np.float32),
            "lat": aps["latitude"].to_numpy(np.float32),
            "lon": aps["longitude"].to_numpy(np.float32),
            "building": aps["building_code"].to_numpy(np.int32),
        }
        popularity = aps["popularity"].to_numpy(float)
        for k in KINDS:
            codes = np.flatnonzero(kind == k).astype(np.int32)
            out[f"{k}_codes"] = codes
            out[f"{k}_cdf"] = np.cumsum(popularity[codes])
            out[f"{k}_flat"] = np.arange(1, len(codes) + 1, dtype=float)
        explore = popularity * aps["kind"].map(_EXPLORE_WEIGHT).to_numpy(float)
        out["all_codes"] = np.arange(len(aps), dtype=np.int32)
        out["all_cdf"] = np.cumsum(explore)
        courses = self.courses
        building_of_course = out["building"][courses["location"].to_numpy(np.int32)]
        n_buildings = len(self.buildings)
        out["course_first"] = np.searchsorted(building_of_course, np.arange(n_buildings))
        out["course_count"] = np.bincount(building_of_course, minlength=n_buildings)
        # A last, never-held entry (no AP, no weekday) that "no course" (-1) indexes.
        out["course_ap"] = np.append(courses["location"].to_numpy(np.int32), -1)
        out["course_days"] = np.append(courses["days"].to_numpy(np.uint8), np.uint8(0))
        out["course_start"] = np.append(courses["start_s"].to_numpy(float), 0.0)
        out["course_len"] = np.append(courses["length_s"].to_numpy(float), 0.0)
        return out

    def pick(self, pool: str, u: np.ndarray, *, weighted: bool = True) -> np.ndarray:
        """AP codes of kind ``pool`` (or ``"all"``) chosen by inverse CDF from uniforms ``u``.

        Weighted picks follow AP popularity (heavy-tailed, so visits follow a Zipf-like rank
        curve); unweighted ones are uniform (homes: every residence AP houses alike).
        """
        a = self.arrays
        codes = a[f"{pool}_codes"]
        cdf = a[f"{pool}_cdf"] if weighted else a[f"{pool}_flat"]
        if len(codes) == 0:
            return np.full(np.shape(u), -1, dtype=np.int32)
        i = np.searchsorted(cdf, u * cdf[-1], side="right")
        return codes[np.minimum(i, len(codes) - 1)]

    def travel_s(self, a: np.ndarray, b: np.ndarray, speed_mps: float) -> np.ndarray:
        """Travel time between AP codes: straight-line distance at ``speed_mps`` plus a minute,
        capped at an hour (a day's plan never waits longer on a trip)."""
        x, y = self.arrays["x"], self.arrays["y"]
        distance = np.hypot(x[a] - x[b], y[a] - y[b])
        return np.minimum(distance / speed_mps + MINUTE, HOUR)


_CENTRALITY = {
    "library": 0.0,
    "lecture": 0.25,
    "office": 0.35,
    "dining": 0.5,
    "social": 0.55,
    "residence": 0.8,
    "sports": 0.9,
}  # zoning: 0 = campus core, 1 = edge
_EXPLORE_WEIGHT = {
    "social": 3.0,
    "dining": 2.0,
    "library": 2.0,
    "lecture": 1.0,
    "sports": 1.0,
    "office": 0.5,
    "residence": 0.5,
}  # attraction of a kind for unplanned visits


def _largest_remainder(total: int, shares: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``shares``, at least ``minimum``."""
    counts = minimum.copy()
    rest = total - counts.sum()
    exact = shares / shares.sum() * rest
    counts += np.floor(exact).astype(int)
    remainder = exact - np.floor(exact)
    counts[np.argsort(-remainder, kind="stable")[: total - counts.sum()]] += 1
    return counts


def build_layout(config: CampusConfig, seed: int) -> CampusLayout:
    """Place buildings on a jittered grid, zone them by kind and give them APs and courses."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    mix = dict(config.building_mix)
    aps_mean = dict(config.aps_per_building)
    kinds = [k for k in KINDS if mix.get(k, 0.0) > 0]
    shares = np.array([mix[k] for k in kinds])
    means = np.array([aps_mean[k] for k in kinds])
    n_buildings = int(
        np.clip(
            round(config.n_aps / float(shares @ means / shares.sum())), len(kinds), config.n_aps
        )
    )
    kind_of = _zoned_kinds(kinds, shares, n_buildings, rng)
    bx, by = _building_sites(config, n_buildings, rng)
    building_of, x, y, popularity = _place_aps(config, means[kind_of], bx, by, rng)

    lat, lon = _to_degrees(config, x, y)
    blat, blon = _to_degrees(config, bx, by)
    bwidth = max(3, len(str(n_buildings)))
    awidth = max(4, len(str(config.n_aps)))
    building_ids = np.array([f"B{i + 1:0{bwidth}d}" for i in range(n_buildings)], dtype=object)
    kind_names = np.array(kinds, dtype=object)
    buildings = pd.DataFrame(
        {"building": building_ids, "kind": kind_names[kind_of], "latitude": blat, "longitude": blon}
    )
    aps = pd.DataFrame(
        {
            "location": [f"AP{i + 1:0{awidth}d}" for i in range(config.n_aps)],
            "building": building_ids[building_of],
            "building_code": building_of.astype(np.int32),
            "kind": kind_names[kind_of][building_of],
            "latitude": lat,
            "longitude": lon,
            "x_m": x,
            "y_m": y,
            "popularity": popularity,
        }
    )
    return CampusLayout(buildings, aps, _timetable(config, aps, rng))


def _zoned_kinds(
    kinds: list[str], shares: np.ndarray, n_buildings: int, rng: np.random.Generator
) -> np.ndarray:
    """Kind index of each building, in order of distance from the centre (building code order).

    Zoning: cores hold the library and lecture halls, edges the residences and sports.
    """
    per_kind = _largest_remainder(n_buildings, shares, np.ones(len(kinds), dtype=int))
    kind_of = np.repeat(np.arange(len(kinds)), per_kind)
    centrality = np.array([_CENTRALITY[k] for k in kinds])[kind_of] + rng.normal(
        0, 0.15, n_buildings
    )
    return kind_of[np.argsort(centrality, kind="stable")]


def _building_sites(
    config: CampusConfig, n_buildings: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Building centres [m east/north]: the grid cells nearest the centre, jittered."""
    spacing = config.radius_m * np.sqrt(np.pi / n_buildings)
    half = int(np.ceil(config.radius_m / spacing)) + 2
    gx, gy = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1))
    gx, gy = gx.ravel() * spacing, gy.ravel() * spacing
    order = np.argsort(np.hypot(gx, gy) + rng.uniform(0, spacing * 0.5, gx.size), kind="stable")
    cells = order[:n_buildings]
    bx = gx[cells] + rng.uniform(-0.3, 0.3, n_buildings) * spacing
    by = gy[cells] + rng.uniform(-0.3, 0.3, n_buildings) * spacing
    return bx, by


def _place_aps(
    config: CampusConfig,
    mean_aps: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(building, x, y, popularity) of every AP, grouped by building.

    Every building has one AP, the rest go where the kind's mean (``mean_aps``, per building)
    and a building's size say; APs lie within the building's footprint.
    """
    n_buildings = len(bx)
    weight = (mean_aps - 1.0 + 1e-9) * rng.lognormal(0.0, 0.4, n_buildings)
    n_aps = 1 + rng.multinomial(config.n_aps - n_buildings, weight / weight.sum())
    building_of = np.repeat(np.arange(n_buildings), n_aps)
    footprint = 15.0 + 5.0 * np.sqrt(n_aps[building_of])  # [m] half-width of a building
    x = bx[building_of] + rng.uniform(-1, 1, building_of.size) * footprint
    y = by[building_of] + rng.uniform(-1, 1, building_of.size) * footprint
    popularity = (
        rng.lognormal(0.0, 1.0, n_buildings)[building_of]
        * rng.lognormal(0.0, 0.3, building_of.size)
        / n_aps[building_of]
    )
    return building_of, x, y, popularity


def _to_degrees(config: CampusConfig, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Metres east/north of the centre -> WGS 84 degrees (equirectangular; fine at campus scale)."""
    lat = config.centre_lat + y / METERS_PER_DEGREE_LAT
    lon = config.centre_lon + x / (METERS_PER_DEGREE_LAT * np.cos(np.radians(config.centre_lat)))
    return lat, lon


def _timetable(config: CampusConfig, aps: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each lecture AP (a room) hosts ``courses_per_room`` distinct weekly slots."""
    rooms = np.flatnonzero(aps["kind"].to_numpy() == "lecture")
    slots = np.array(TIMETABLE_SLOTS, dtype=float)
    chosen = np.argsort(rng.random((rooms.size, len(slots))), axis=1)[:, : config.courses_per_room]
    chosen.sort(axis=1)
    picked = slots[chosen.ravel()]
    return pd.DataFrame(
        {
            "location": np.repeat(rooms, config.courses_per_room).astype(np.int32),
            "days": picked[:, 0].astype(np.uint8),
            "start_s": picked[:, 1] * HOUR,
            "length_s": picked[:, 2] * MINUTE,
        }
    )
