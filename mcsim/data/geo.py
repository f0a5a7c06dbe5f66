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
    """Index ranges [i, j) of the stays in one user's time-ordered fixes.

    The inner search compares the anchor fix with a block of following fixes at once (numpy),
    which keeps the classic O(n * stay length) algorithm fast on 1-5 s GPS logs.
    """
    n = len(t)
    stays: list[tuple[int, int]] = []
    i = 0
    block = 256
    while i < n - 1:
        j = i + 1
        while j < n:
            stop = min(n, j + block)
            far = haversine_m(lat[i], lon[i], lat[j:stop], lon[j:stop]) > options.max_distance_m
            if far.any():
                j += int(np.argmax(far))
                break
            j = stop
        if t[j - 1] - t[i] >= options.min_duration_s:
            stays.append((i, j))
            i = j
        else:
            i += 1
    return stays


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
