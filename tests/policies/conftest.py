"""Builders for hand-written allocation instances (tests/policies), served as fixtures.

Reference tests spell an instance out as patterns, probabilities, coordinates and tasks; the
``tasks_of`` and ``state_of`` fixtures turn that into the :class:`TaskBatch` and
:class:`PlatformState` the policies take, so each test reads like the paper's definitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import PatternBase
from mcsim.platform.allocation import PlatformState
from mcsim.platform.tasks import Task, TaskBatch


def make_tasks(*rows: tuple[int, int, float, int]) -> TaskBatch:
    """Tasks from (id, location, publish_s, copies) rows."""
    return TaskBatch.from_tasks(Task(i, loc, t, c) for i, loc, t, c in rows)


def make_state(
    *,
    n_users: int,
    n_locations: int,
    g: int,
    patterns: Sequence[tuple[int, Sequence[int], float]] = (),
    prob: Mapping[tuple[int, int], float] | None = None,
    coords: Sequence[tuple[float, float]] | None = None,
    load: Sequence[int] | None = None,
    last_location: Sequence[int] | None = None,
    held: frozenset[tuple[int, int]] = frozenset(),
) -> PlatformState:
    """A state from (holder, locations, support) patterns (in holder order), p(loc | u) entries
    {(user, location): p}, (lat, lon) per location, loads, last locations and held pairs."""
    holder = np.array([h for h, _, _ in patterns], dtype=np.int32)
    lengths = [len(locs) for _, locs, _ in patterns]
    support = np.array([s for _, _, s in patterns], dtype=np.float64)
    n_cycles = np.full(len(patterns), 10, dtype=np.int32)
    base = PatternBase(
        users=pd.Index([f"u{u}" for u in range(n_users)]),
        locations=pd.Index([f"l{loc}" for loc in range(n_locations)]),
        holder=holder,
        offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        items=np.array([x for _, locs, _ in patterns for x in locs], dtype=np.int32),
        support=support,
        count=np.round(support * n_cycles).astype(np.int32),
        n_cycles=n_cycles,
        minsup=0.5,
        max_length=None,
    )
    dense = np.zeros((n_users, n_locations))
    for (user, location), p in (prob or {}).items():
        dense[user, location] = p
    xy = np.array(coords if coords is not None else [(np.nan, np.nan)] * n_locations, float)
    return PlatformState(
        patterns=base,
        location_model=LocationModel(sparse.csr_matrix(dense)),
        locations=Locations(base.locations, xy[:, 0], xy[:, 1]),
        g=g,
        load=np.array(load if load is not None else [0] * n_users, dtype=np.int32),
        last_location=np.array(
            last_location if last_location is not None else [-1] * n_users, dtype=np.int32
        ),
        held=held,
    )


@pytest.fixture(scope="session")
def tasks_of():
    """:func:`make_tasks`."""
    return make_tasks


@pytest.fixture(scope="session")
def state_of():
    """:func:`make_state`."""
    return make_state
