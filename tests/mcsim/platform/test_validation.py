"""The platform's acceptance rule (mcsim.platform.validation): the first failing check names
the verdict, a replay is a byte-equal earlier window, contexts are drawn with their shares."""

from __future__ import annotations

import numpy as np

from mcsim.platform.validation import (
    ACCEPTED,
    NOT_REAL,
    REPLAYED,
    STILL,
    WALKING,
    WRONG_ACTIVITY,
    Judgement,
    draw_contexts,
    replayed_windows,
    verdicts,
)


def test_verdicts_name_the_first_failing_check() -> None:
    judgement = Judgement(
        activity=np.array([1, 5, 5, 1, 1]), p_real=np.array([0.9, 0.9, 0.2, 0.2, 0.9])
    )
    contexts = np.array([WALKING, WALKING, WALKING, 0, STILL])
    replayed = np.array([False, False, False, True, False])
    codes = verdicts(judgement, contexts, replayed, min_p_real=0.5)
    assert codes.tolist() == [ACCEPTED, WRONG_ACTIVITY, NOT_REAL, REPLAYED, WRONG_ACTIVITY]


def test_a_replay_is_a_byte_equal_earlier_window() -> None:
    a, b = np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32)
    assert replayed_windows(np.stack([a, b, a, b, b])).tolist() == [0, 0, 1, 1, 1]


def test_contexts_are_drawn_with_their_shares() -> None:
    rng = np.random.default_rng(0)
    codes = draw_contexts(10_000, ["walking", "still"], [3.0, 1.0], rng)
    assert set(codes.tolist()) == {WALKING, STILL}
    assert abs((codes == WALKING).mean() - 0.75) < 0.02
