"""Geometry for GPS input: distances, stay-point detection and the global location grid.

Raw GPS fixes are not locations: a user standing still produces a cloud of fixes, and a user
walking produces fixes that are nowhere in particular. Stay-point detection (Li et al., 2008)
keeps the places where a user stayed, and a *fixed global* grid turns each stay into a cell id,
so that one cell id is one place for every user (clustering per user would not give that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius [m]
METERS_PER_DEGREE_LAT = 111_320.0  # [m / degree], good to 1 % at all latitudes


def haversine_m(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in metres between WGS 84 points (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class StayPointOptions:
    """Thresholds of stay-point detection (defaults from Li et al. 2008 / Zheng's GeoLife work).

    A stay is a maximal run of fixes that all lie within ``max_distance_m`` of its first fix and
    that spans at least ``min_duration_s``.
    """

    max_distance_m: float = 200.0  # [m] radius of a stay
    min_duration_s: float = 20 * 60.0  # [s] shortest stay kept

    def __post_init__(self) -> None:
        if not self.max_distance_m > 0 or not self.min_duration_s > 0:
            raise ValueError("stay-point thresholds must be positive")


@dataclass(frozen=True)
class GridSpec:
    """A fixed global grid of roughly square cells, ``cell_m`` metres on a side.

    Rows are latitude bands of equal height; within a band the longitude step is chosen at the
    band's centre latitude, so cells stay near square from the equator to the poles while every
    (lat, lon) maps to exactly one id, the same for every user and every file.
    """

    cell_m: float = 200.0  # [m] cell side; 100-300 m resolves buildings on a campus

    def __post_init__(self) -> None:
        if not self.cell_m > 0:
            raise ValueError("grid cell size must be positive")

    @property
    def _dlat(self) -> float:
        return self.cell_m / METERS_PER_DEGREE_LAT

    def _dlon(self, rows: np.ndarray) -> np.ndarray:
        centre = (rows + 0.5) * self._dlat
        return self.cell_m / (METERS_PER_DEGREE_LAT * np.maximum(np.cos(np.radians(centre)), 1e-6))

    def cells(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer (row, column) of each point."""
        rows = np.floor(np.asarray(lat, dtype=float) / self._dlat).astype(np.int64)
        cols = np.floor(np.asarray(lon, dtype=float) / self._dlon(rows)).astype(np.int64)
        return rows, cols

    def cell_ids(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """String ids ``c<size>:<row>:<col>``; the size is part of the id so grids never mix."""
        rows, cols = self.cells(lat, lon)
        size = f"{self.cell_m:g}"
        return np.array([f"c{size}:{r}:{c}" for r, c in zip(rows, cols, strict=True)], dtype=object)

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """Latitude and longitude of a cell's centre."""
        lat = (row + 0.5) * self._dlat
        dlon = float(self._dlon(np.array([row]))[0])
        return lat, (col + 0.5) * dlon


def unix_seconds(times: pd.Series) -> np.ndarray:
    """Float unix seconds of tz-aware timestamps, whatever pandas' storage resolution."""
    return ((times - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


_EPOCH = pd.Timestamp(0, tz="UTC")


def _stays_of_user(
    t: np.ndarray, lat: np.ndarray, lon: np.ndarray, options: StayPointOptions
) -> list[tuple[int, int]]:
    """Index ranges [i, j) of the stays in one user's time-ordered fixes (Li et al. 2008).

    A stay starts at anchor i when every fix up to the first one ``min_duration_s`` later (k)
    lies within ``max_distance_m`` of fix i; it then runs to the first farther fix. So each
    anchor looks only at the fixes of its time window (found by binary search), and a stay's
    extension is paid once: O(n log n + n w) for n fixes and w fixes per window, instead of
    the classic O(n^2) on dense logs (10^5 fixes within 10 minutes take milliseconds: no
    window closes, so no anchor is examined).
    """
    n = len(t)
    window_end = np.searchsorted(t, t + options.min_duration_s, side="left")
    stays: list[tuple[int, int]] = []
    i = 0
    while i < n - 1:
        k = int(window_end[i])
        if k >= n:  # no fix min_duration_s after i, nor after any later anchor
            break
        if _first_far(lat, lon, i, i + 1, k + 1, options.max_distance_m) <= k:
            i += 1
            continue
        j = _first_far(lat, lon, i, k + 1, n, options.max_distance_m)
        stays.append((i, j))
        i = j
    return stays


def _first_far(
    lat: np.ndarray,
    lon: np.ndarray,
    anchor: int,
    start: int,
    stop: int,
    radius_m: float,
) -> int:
    """First index in [start, stop) farther than ``radius_m`` from the anchor fix, else stop.

    Blocks of fixes are compared with the anchor at once (numpy), growing geometrically, so a
    long stay costs a few vector operations.
    """
    block = 64
    j = start
    while j < stop:
        end = min(stop, j + block)
        far = haversine_m(lat[anchor], lon[anchor], lat[j:end], lon[j:end]) > radius_m
        if far.any():
            return j + int(np.argmax(far))
        j = end
        block = min(block * 2, 65_536)
    return stop


def detect_stay_points(fixes: pd.DataFrame, options: StayPointOptions) -> pd.DataFrame:
    """Stay points of every user: columns user, time (arrival), end (departure), lat, lon.

    Args:
        fixes: columns ``user``, ``time`` (tz-aware), ``latitude``, ``longitude``.
        options: distance and duration thresholds.
    """
    fixes = fixes.sort_values(["user", "time"], kind="stable")
    rows: list[tuple[str, pd.Timestamp, pd.Timestamp, float, float]] = []
    for user, group in fixes.groupby("user", sort=True, observed=True):
        times = group["time"]
        seconds = unix_seconds(times)
        lat = group["latitude"].to_numpy(dtype=float)
        lon = group["longitude"].to_numpy(dtype=float)
        for i, j in _stays_of_user(seconds, lat, lon, options):
            rows.append(
                (
                    str(user),
                    times.iloc[i],
                    times.iloc[j - 1],
                    float(lat[i:j].mean()),
                    float(lon[i:j].mean()),
                )
            )
    return pd.DataFrame(rows, columns=["user", "time", "end", "latitude", "longitude"])


def radius_of_gyration_m(
    lat: np.ndarray, lon: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Radius of gyration (m) of a set of visited points, optionally weighted (e.g. by dwell)."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat.size == 0:
        return math.nan
    w = np.ones_like(lat) if weights is None else np.asarray(weights, dtype=float)
    clat = np.average(lat, weights=w)
    clon = np.average(lon, weights=w)
    d = haversine_m(lat, lon, clat, clon)
    return float(np.sqrt(np.average(d**2, weights=w)))
