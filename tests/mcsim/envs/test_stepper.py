"""One decision answered copy by copy (mcsim.envs.stepper): the queue order, candidates that
respect g and "never twice", answers, and the assignment handed to the world."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.envs.stepper import DecisionSteps, ObservationLayout
from mcsim.platform.allocation import check_assignment


@pytest.fixture(scope="module")
def env() -> CrowdsensingEnv:
    return CrowdsensingEnv(days="test")


def steps_of(env: CrowdsensingEnv, k: int = 4) -> DecisionSteps:
    env.reset(seed=0, options={"day": 0})
    decision = env.decision
    assert decision is not None
    layout = ObservationLayout(k, 5.0, env.scenario.tasks.max_copies, 86_400.0)
    return DecisionSteps(decision.tasks, decision.state, decision.time_s, env._features_of, layout)


def test_layout_size_bounds_and_record() -> None:
    layout = ObservationLayout(3, 2.5, 3, 86_400.0)
    assert layout.size == 4 + 3 * 8 == len(layout.high())
    assert layout.high().max() == 2.5 and layout.high().dtype == np.float32
    assert layout.to_dict()["task_features"] == list(layout.task_features)


def test_items_are_queued_in_publish_order_with_copies_in_a_row(env: CrowdsensingEnv) -> None:
    steps = steps_of(env)
    tasks = steps.tasks
    publish = dict(zip(tasks.id.tolist(), tasks.publish_s.tolist(), strict=True))
    times = [publish[t] for t in steps.queue.tolist()]
    assert times == sorted(times) and len(steps.queue) == int(tasks.copies.sum())


def test_answers_respect_g_and_never_twice(env: CrowdsensingEnv) -> None:
    steps = steps_of(env, k=env._n_users)
    state = steps.state
    while steps.next_offer():
        offered = steps.candidates[steps.candidates >= 0]
        assert np.all(steps.load[offered] < state.g)
        assert steps.mask[-1] and steps.valid(len(steps.candidates))
        observation = steps.observation()
        assert observation.shape == (steps.layout.size,)
        user, p = steps.answer(0)  # always the top candidate
        assert user == offered[0] and 0.0 <= p <= 1.0
    assignment = steps.assignment()
    check_assignment(assignment, steps.tasks, state)  # g, copies, never twice
    assert assignment.iterations == steps.steps == len(assignment.user)


def test_a_masked_answer_is_a_skip(env: CrowdsensingEnv) -> None:
    steps = steps_of(env, k=steps_of(env).state.n_users + 5)
    assert steps.next_offer()
    padded = int(np.flatnonzero(~steps.mask)[0])
    assert steps.answer(padded) == (-1, 0.0)
    assert len(steps.assignment().user) == 0


def test_window_features_match_the_visit_windows(env: CrowdsensingEnv) -> None:
    steps = steps_of(env, k=env._n_users)
    assert steps.state.windows is not None
    while steps.next_offer():
        offered = steps.candidates[steps.candidates >= 0]
        prob, arrival = steps.state.windows.query(steps.location, *steps.window())
        rows = steps.observation()[4:].reshape(-1, 8)[: len(offered)]
        assert np.allclose(rows[:, 5], prob[offered])  # p_window
        never = np.isnan(arrival[offered])
        assert np.all(rows[never, 6] == 1.0) and np.all(rows[~never, 6] <= 1.0)  # eta
        assert np.all(np.diff(prob[offered]) <= 0)  # ranked by p_window first
        steps.answer(len(steps.candidates))  # skip


def test_layout_round_trips_through_its_record() -> None:
    layout = ObservationLayout(5, 3.0, 2, 43_200.0)
    assert ObservationLayout.from_dict(layout.to_dict()) == layout
    with pytest.raises(KeyError):
        ObservationLayout.from_dict({"n_candidates": 5})
