"""Where locations are, and how likely each user is to visit each one.

* :class:`Locations`: coordinates of every location code (from the trace's GPS or the
  synthetic campus layout) and distances between them; NA uses them.
* :class:`LocationModel`: the Bayesian p(loc | u) of the paper's baselines (IGA, BGA), and the
  empirical coverage degree of an assignment.

Definition adopted for p(loc_j | u_k) (the paper writes p(loc_j, u_k) / p(u_k) without saying
over what events): the events are u_k's valid cycles, so

    p(loc_j | u_k) = #(valid cycles of u_k that visit loc_j) / N(u_k).

It is the probability that u_k passes loc_j on a day it is active, which is exactly what a
task at loc_j needs, and it equals the support of the 1-length pattern <loc_j> of u_k, so the
baselines and the pattern policies speak the same units.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from mcsim.data.geo import haversine_m
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleTable
from mcsim.readonly import freeze_fields


@dataclass(frozen=True, eq=False)
class Locations:
    """Coordinates (WGS 84 degrees, NaN where unknown) of every location code."""

    ids: pd.Index
    latitude: np.ndarray
    longitude: np.ndarray

    def __post_init__(self) -> None:
        freeze_fields(self, "latitude", "longitude")

    @classmethod
    def from_trace(cls, trace: Trace) -> Locations:
        coords = trace.location_coordinates()
        return cls(
            trace.locations,
            coords["latitude"].to_numpy(dtype=float),
            coords["longitude"].to_numpy(dtype=float),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def known(self) -> bool:
        """True when every location has coordinates."""
        return bool(np.isfinite(self.latitude).all() and np.isfinite(self.longitude).all())

    def distance_m(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Great-circle distance in metres between location codes (broadcasting)."""
        return haversine_m(self.latitude[a], self.longitude[a], self.latitude[b], self.longitude[b])


@dataclass(frozen=True, eq=False)
class LocationModel:
    """p(loc | u) over users' valid training cycles, as a sparse users x locations matrix."""

    probability: sparse.csr_matrix

    def __post_init__(self) -> None:
        freeze_fields(self, "probability")

    @classmethod
    def from_cycles(cls, cycles: CycleTable) -> LocationModel:
        """Count, per user, the valid cycles that visit each location at least once."""
        n_users, n_locations = len(cycles.users), len(cycles.locations)
        cycle_of_element = np.repeat(np.arange(len(cycles)), np.diff(cycles.offsets))
        # One count per (cycle, location), however often the cycle visits it.
        pairs = np.unique(cycle_of_element.astype(np.int64) * n_locations + cycles.location)
        users = cycles.user[pairs // n_locations]
        counts = sparse.coo_matrix(
            (np.ones(len(pairs)), (users, pairs % n_locations)), shape=(n_users, n_locations)
        ).tocsr()
        n_cycles = cycles.n_cycles().astype(float)
        scale = np.divide(1.0, n_cycles, out=np.zeros_like(n_cycles), where=n_cycles > 0)
        return cls(sparse.diags(scale) @ counts)

    @property
    def shape(self) -> tuple[int, int]:
        return self.probability.shape

    def prob(self, user: np.ndarray | int, location: np.ndarray | int) -> np.ndarray:
        """p(location | user), element-wise over broadcast code arrays."""
        user, location = np.broadcast_arrays(np.asarray(user), np.asarray(location))
        return np.asarray(self.probability[user.ravel(), location.ravel()]).reshape(user.shape)

    def users_at(self, location: int, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Users with p(location | user) > threshold, and those probabilities."""
        column = self._by_location[:, location]
        keep = column.data > threshold
        return column.indices[keep], column.data[keep]

    @cached_property
    def _by_location(self) -> sparse.csc_matrix:
        by_location = self.probability.tocsc()
        by_location.sort_indices()
        return by_location
