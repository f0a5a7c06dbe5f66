"""What an agent sees of a task location (mcsim.envs.features): CandidateFeatures.view and
.window on a tiny hand-made Knowledge whose patterns, p(loc | u), distances and visit windows
are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mcsim.envs.features
from mcsim.envs.features import CANDIDATE_FEATURES, TASK_FEATURES, CandidateFeatures
from mcsim.mining.cycles import CycleOptions, CycleTable
from mcsim.mining.locations import LocationModel, Locations
from mcsim.mining.patterns import mine_patterns
from mcsim.mining.windows import VisitWindows
from mcsim.sim import Knowledge

KM_PER_CENTI_DEGREE = 6_371_008.8 * np.radians(0.01) / 1000.0  # [km] 0.01 deg on the equator


def training_cycles() -> CycleTable:
    """Users u0, u1, u2 over locations L0..L3 on days 0..3, every visit at 0 s.

    u0: cycles [0 1 2], [0 1 2], [0 1], [0 1] (days 0..3).
    u1: cycles [1], [2] (days 0, 1).
    u2: cycles [3], [3] (days 0, 1).
    """
    users = [[[0, 1, 2], [0, 1, 2], [0, 1], [0, 1]], [[1], [2]], [[3], [3]]]
    days = [day for cycles in users for day in cycles]
    location = np.array([x for day in days for x in day], dtype=np.int32)
    return CycleTable(
        users=pd.Index(["u0", "u1", "u2"]),
        locations=pd.Index(["L0", "L1", "L2", "L3"]),
        user=np.repeat(np.arange(3, dtype=np.int32), [len(c) for c in users]),
        cycle=np.concatenate([np.arange(len(c)) for c in users]).astype(np.int64),
        offsets=np.concatenate(([0], np.cumsum([len(d) for d in days]))).astype(np.int64),
        location=location,
        arrival=np.zeros(len(location), np.float32),
        departure=np.zeros(len(location), np.float32),
        options=CycleOptions(),
    )


def knowledge() -> Knowledge:
    """The platform's knowledge of :func:`training_cycles` (L3 without coordinates), minsup 0.5.

    u0: <0> <1> <0 1> support 1; <2> <0 2> <1 2> <0 1 2> support 0.5; p(1 | u0) = 1,
        p(2 | u0) = 0.5.
    u1: <1> and <2>, support 0.5; p(1 | u1) = 0.5.
    u2: <3>, support 1; p(1 | u2) = 0.
    """
    table = training_cycles()
    coordinates = Locations(table.locations, np.zeros(4), np.array([0.0, 0.01, 0.02, np.nan]))
    patterns = mine_patterns(table, 0.5, workers=1)
    return Knowledge(patterns, LocationModel.from_cycles(table), coordinates)


@pytest.fixture(scope="module")
def features() -> CandidateFeatures:
    return CandidateFeatures(knowledge(), g=4)


def tasks_at(*counts: int) -> np.ndarray:
    return np.array(counts, dtype=float)


def test_feature_names() -> None:
    assert TASK_FEATURES == ("time_of_day", "copies_left", "deadline_left", "queue_left")
    assert CANDIDATE_FEATURES == (
        "p_loc",
        "bundle",
        "bundle_support",
        "load",
        "distance_km",
        "p_window",
        "eta",
        "valid",
    )


def test_p_loc_is_the_share_of_training_cycles(features: CandidateFeatures) -> None:
    nowhere = np.full(3, -1)
    assert features.view(1, tasks_at(0, 1, 0, 0), nowhere).p.tolist() == [1.0, 0.5, 0.0]
    assert features.view(2, tasks_at(0, 0, 1, 0), nowhere).p.tolist() == [0.5, 0.5, 0.0]
    assert features.view(3, tasks_at(0, 0, 0, 1), nowhere).p.tolist() == [0.0, 0.0, 1.0]


def test_bundle_is_the_longest_match_over_g_then_the_highest_support(
    features: CandidateFeatures,
) -> None:
    nowhere = np.full(3, -1)
    # Tasks at L0 and L1: u0's <0 1> (support 1) and <0 1 2> (0.5) both match 2 tasks.
    view = features.view(1, tasks_at(1, 1, 0, 0), nowhere)
    assert view.bundle.tolist() == [0.5, 0.25, 0.0]  # 2 / g, 1 / g (u1's <1>), none
    assert view.support.tolist() == [1.0, 0.5, 0.0]  # the tie goes to the higher support
    # Tasks at L1 and L2: <1 2> and <0 1 2> match 2, both support 0.5.
    view = features.view(1, tasks_at(0, 1, 1, 0), nowhere)
    assert view.bundle.tolist() == [0.5, 0.25, 0.0]
    assert view.support.tolist() == [0.5, 0.5, 0.0]
    # Only the task's own location: every pattern with L1 matches 1, u0's best support is 1.
    view = features.view(1, tasks_at(0, 1, 0, 0), nowhere)
    assert view.bundle.tolist() == [0.25, 0.25, 0.0]
    assert view.support.tolist() == [1.0, 0.5, 0.0]


def test_bundle_counts_tasks_per_location_and_is_clipped(features: CandidateFeatures) -> None:
    view = features.view(1, tasks_at(3, 2, 0, 0), np.full(3, -1))
    assert view.bundle.tolist() == [1.0, 0.5, 0.0]  # u0: 5 / 4 clipped; u1: <1> has 2 tasks
    view = features.view(1, tasks_at(1, 1, 1, 0), np.full(3, -1))
    assert view.bundle.tolist() == [0.75, 0.25, 0.0]  # u0's <0 1 2> matches 3
    assert view.support.tolist() == [0.5, 0.5, 0.0]


def test_no_pattern_at_the_location(features: CandidateFeatures) -> None:
    view = features.view(3, tasks_at(1, 1, 1, 1), np.full(3, -1))
    assert view.bundle.tolist() == [0.0, 0.0, 0.25]
    assert view.support.tolist() == [0.0, 0.0, 1.0]


def test_distance_from_the_last_reported_location(features: CandidateFeatures) -> None:
    view = features.view(1, tasks_at(0, 1, 0, 0), np.array([0, 1, 2]))
    assert view.distance == pytest.approx([KM_PER_CENTI_DEGREE, 0.0, KM_PER_CENTI_DEGREE])
    assert view.distance[0] == pytest.approx(1.112, abs=1e-3)
    # Unknown: no report yet (-1) or a location without coordinates (L3).
    view = features.view(1, tasks_at(0, 1, 0, 0), np.array([-1, 3, 0]))
    assert view.distance[:2].tolist() == [np.inf, np.inf]
    assert view.distance[2] == pytest.approx(KM_PER_CENTI_DEGREE)
    # A task at L3 is at an unknown place: every distance is unknown.
    view = features.view(3, tasks_at(0, 0, 0, 1), np.array([0, 1, 3]))
    assert np.isinf(view.distance).all()


def test_sites_are_computed_once(features: CandidateFeatures) -> None:
    assert features.site(2) is features.site(2)
    assert features.n_users == 3


def test_window_features_are_the_visit_windows_kept_read_only() -> None:
    features = CandidateFeatures(knowledge(), g=4)
    windows = VisitWindows.from_cycles(training_cycles())
    p_window, eta = features.window(windows, 1, (0.0, 10.0), 0.0, 100.0)
    # At L1 inside [0, 10] s: u0 on its 4 days of 4, u1 on 1; sensed at 0 s, now; u2 never.
    assert p_window.tolist() == [1.0, 0.25, 0.0] and eta.tolist() == [0.0, 0.0, 1.0]
    again = features.window(windows, 1, (0.0, 10.0), 0.0, 100.0)
    assert again[0] is p_window and again[1] is eta  # kept, not recomputed
    with pytest.raises(ValueError, match="read-only"):
        p_window[0] = 0.5
    assert features.window(windows, 1, (20.0, 30.0), 0.0, 100.0)[0].tolist() == [0.0] * 3
    other = VisitWindows.from_cycles(training_cycles())  # another platform's knowledge
    assert features.window(other, 1, (0.0, 10.0), 0.0, 100.0)[0] is not p_window
    p_window, eta = features.window(None, 1, (0.0, 10.0), 0.0, 100.0)
    assert p_window.tolist() == [0.0] * 3 and eta.tolist() == [1.0] * 3


def test_window_features_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcsim.envs.features, "KEPT", 2)
    features = CandidateFeatures(knowledge(), g=4)
    windows = VisitWindows.from_cycles(training_cycles())
    first = features.window(windows, 1, (0.0, 10.0), 0.0, 100.0)[0]
    for loc in (2, 3):  # two more: the oldest is dropped
        features.window(windows, loc, (0.0, 10.0), 0.0, 100.0)
    assert features.window(windows, 1, (0.0, 10.0), 0.0, 100.0)[0] is not first


def test_matches_are_kept_per_tasks_at_the_patterns_places() -> None:
    features = CandidateFeatures(knowledge(), g=4)
    nowhere = np.full(3, -1)
    view = features.view(3, tasks_at(1, 1, 1, 1), nowhere)  # L3 is on u2's <3> only
    with pytest.raises(ValueError, match="read-only"):
        view.bundle[0] = 1.0
    same = features.view(3, tasks_at(5, 0, 2, 1), np.array([0, 1, 2]))  # L0..L2: no matter
    assert same.bundle is view.bundle and same.support is view.support
    more = features.view(3, tasks_at(1, 1, 1, 3), nowhere)
    assert more.bundle is not view.bundle and more.bundle.tolist() == [0.0, 0.0, 0.75]
