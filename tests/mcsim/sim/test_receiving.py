"""The platform's inbox (mcsim.sim.receiving) and its check (mcsim.platform.validation):
dishonest users claim what they do not sense, at the deadline, with the forgery of their
kind; a task's context sets the phone's activity; the verdicts follow the rule; counting
accepted copies changes ``completed`` and nothing else.

A :class:`Judge` stands in for a trained validator: it calls a window real unless it is
white noise (lag-1 autocorrelation near 0) and reads the activity off the first sample (the
:class:`Echo` phones write the HAPT id they were asked for), so every verdict can be read
off the rule.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from mcsim.platform.tasks import Task, TaskBatch
from mcsim.platform.validation import (
    ACCEPTED,
    NOT_REAL,
    REPLAYED,
    STILL,
    WALKING,
    Judgement,
    ReadingValidator,
)
from mcsim.sim import World, WorldOptions, simulate
from mcsim.sim.receiving import NOISE, REPLAY, RESTING
from mcsim.sim.sensing import HAPT_LAYING, HAPT_STANDING, HAPT_WALKING, N_AXES
from tests.mcsim.sim.test_world import HOME, SHOP, Scripted, day, knowledge


class Echo:
    """A phone whose samples are the HAPT id it was asked for, plus a slow ramp (so that a
    window is never white noise and two windows are never byte-equal)."""

    conditions_on_activity = True

    def windows(
        self, seed: int, keys: np.ndarray, steps: int, activities: np.ndarray | None = None
    ) -> np.ndarray:
        assert activities is not None
        ramp = np.linspace(0.0, 0.01, steps, dtype=np.float32)[None, :, None]
        row = np.arange(len(keys), dtype=np.float32)[:, None, None]
        base = activities.astype(np.float32)[:, None, None] + 0.001 * row
        return np.broadcast_to(base + ramp, (len(keys), steps, N_AXES)).copy()


class Judge:
    """Real unless white noise; the activity is the window's first sample, rounded."""

    sample_rate_hz = 50.0
    min_steps = 8

    def judge(self, windows: np.ndarray) -> Judgement:
        x = windows[:, :, 0].astype(np.float64)
        x = x - x.mean(axis=1, keepdims=True)
        lag1 = (x[:, 1:] * x[:, :-1]).sum(axis=1) / np.maximum((x * x).sum(axis=1), 1e-12)
        activity = np.clip(np.rint(windows[:, 0, 0]), 1, 6).astype(np.int64)
        return Judgement(activity=activity, p_real=np.where(lag1 > 0.5, 0.9, 0.1))


def test_the_stand_in_judge_is_a_validator() -> None:
    assert isinstance(Judge(), ReadingValidator)


def _world(
    conduct: list[int],
    *,
    count: Literal["received", "accepted"] = "received",
    contexts: tuple[int, ...] = (0, 0),
):
    """User 0 passes SHOP at 150 s; user 1 never does. Task 0 and 1 at SHOP, 100-200 s."""
    plan = day((0, HOME, 0.0, 40.0), (0, SHOP, 150.0, 160.0), (1, HOME, 0.0, 500.0))
    tasks = TaskBatch.from_tasks(
        [Task(i, SHOP, 100.0, 2, 200.0, context=c) for i, c in enumerate(contexts)]
    )
    options = WorldOptions(reading_s=0.5, count=count)
    return World(
        plan, tasks, knowledge(), options, sensor=Echo(), conduct=np.array(conduct, np.int8),
        validator=Judge(),
    )  # fmt: skip


ALL_FOUR = [(0, 0), (1, 0), (0, 1), (1, 1)]


def test_honest_users_claim_nothing() -> None:
    result = simulate(_world([0, 0]), Scripted(ALL_FOUR))
    assert result.pairs["completed"].tolist() == [True, False, True, False]
    assert not result.pairs["fabricated"].any()
    assert result.reading_checks is not None
    assert result.reading_checks["verdict"].tolist() == [ACCEPTED, ACCEPTED]


@pytest.mark.parametrize(
    ("kind", "verdict", "activity"),
    [(NOISE, NOT_REAL, 0), (RESTING, ACCEPTED, HAPT_LAYING), (REPLAY, REPLAYED, 0)],
)
def test_a_dishonest_user_claims_at_the_deadline_with_its_forgery(
    kind: int, verdict: int, activity: int
) -> None:
    result = simulate(_world([0, kind]), Scripted(ALL_FOUR))
    pairs = result.pairs
    assert pairs["received"].all() and pairs["completed"].all()  # the platform's naive view
    assert pairs["fabricated"].tolist() == [False, True, False, True]
    assert pairs.loc[pairs["fabricated"], "sensed_s"].tolist() == [200.0, 200.0]
    checks = result.reading_checks
    assert checks is not None and len(checks) == len(result.readings) == 4
    forged = checks[checks["conduct"] == kind]
    assert forged["activity"].tolist() == [activity, activity]
    assert forged["verdict"].tolist() == [verdict, verdict]
    assert (checks.loc[checks["conduct"] == 0, "verdict"] == ACCEPTED).all()
    accepted = pairs["accepted"].to_numpy()
    assert accepted.tolist() == [True, verdict == ACCEPTED, True, verdict == ACCEPTED]


def test_a_replay_copies_the_window_received_before_it() -> None:
    result = simulate(_world([0, REPLAY]), Scripted(ALL_FOUR))
    order = result.reading_pair.tolist()
    assert order[:2] == [0, 2]  # user 0's genuine readings at 150 s, then the claims
    np.testing.assert_array_equal(result.readings[2], result.readings[1])
    np.testing.assert_array_equal(result.readings[3], result.readings[2])


def test_counting_accepted_copies_changes_completed_only() -> None:
    received = simulate(_world([0, NOISE]), Scripted(ALL_FOUR))
    accepted = simulate(_world([0, NOISE], count="accepted"), Scripted(ALL_FOUR))
    assert received.pairs["completed"].tolist() == [True, True, True, True]
    assert accepted.pairs["completed"].tolist() == [True, False, True, False]
    same = ["received", "fabricated", "accepted", "sensed_s"]
    assert received.pairs[same].equals(accepted.pairs[same])


def test_the_context_sets_the_genuine_phone_activity_and_is_checked() -> None:
    # User 0's visit lasts 10 s (walking by dwell); task 1 needs a still phone.
    result = simulate(_world([0, 0], contexts=(WALKING, STILL)), Scripted([(0, 0), (0, 1)]))
    checks = result.reading_checks
    assert checks is not None
    assert checks["activity"].tolist() == [HAPT_WALKING, HAPT_STANDING]
    assert checks["context"].tolist() == [WALKING, STILL]
    assert checks["verdict"].tolist() == [ACCEPTED, ACCEPTED]


def test_a_validator_needs_phones_and_fitting_windows() -> None:
    plan = day((0, HOME, 0.0, 40.0))
    tasks = TaskBatch.from_tasks([Task(0, SHOP, 100.0, 1, 200.0)])
    with pytest.raises(ValueError, match="needs the phones"):
        World(plan, tasks, knowledge(), validator=Judge())
    short = WorldOptions(reading_s=0.1)  # 5 samples < min_steps 8
    with pytest.raises(ValueError, match="shorter than the validator"):
        World(plan, tasks, knowledge(), short, sensor=Echo(), validator=Judge())
