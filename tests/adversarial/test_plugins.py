"""Plug-in policies that misbehave: each is named in one line, and nobody else is harmed.

A plug-in is a module written into the run's folder and named ``module:Class`` in the
scenario, as a researcher would. Whatever it does (raise, exit, recurse, break a rule, return
junk, write into the shared knowledge), ``mcsim run`` exits 1 with one line naming the policy
and what was wrong, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pandas as pd
import pytest

from tests.adversarial.helpers import SMALL, Outcome, leftovers

HEADER = """
import numpy as np
from policies import AllocationPolicy
from policies.base import build_assignment, publish_order
from mcsim.platform.allocation import Assignment


def nothing(tasks):
    order = publish_order(tasks)
    return build_assignment(tasks, order, [], [], [], tasks.copies[order], 0)


def everything_to(user, tasks, coverage=0.5):
    order = publish_order(tasks)
    n = len(tasks)
    return build_assignment(
        tasks, order, [user] * n, list(range(n)), [coverage] * n, tasks.copies[order] - 1, n
    )
"""

# (case id, the body of _allocate(self, tasks, state), what the one line must say)
MISBEHAVIOURS: list[tuple[str, str, str]] = [
    ("raises", "raise RuntimeError('boom')", "failed: RuntimeError: boom"),
    ("key error", "return {}['missing']", "failed: KeyError"),
    ("exits 0", "raise SystemExit(0)", "called exit(0)"),
    ("exits 3", "import sys; sys.exit(3)", "called exit(3)"),
    ("recurses", "return self._allocate(tasks, state)", "RecursionError"),
    ("writes the load", "state.load[0] = 99; return nothing(tasks)", "read-only"),
    ("writes p(loc|u)", "state.location_model.probability.data[:] = 0; return nothing(tasks)",
     "read-only"),
    ("writes supports", "state.patterns.support[:] = 1; return nothing(tasks)", "read-only"),
    ("writes items", "state.patterns.items[:] = 0; return nothing(tasks)", "read-only"),
    ("writes coordinates", "state.locations.latitude[:] = 0; return nothing(tasks)", "read-only"),
    ("writes the tasks", "tasks.copies[:] = 0; return nothing(tasks)", "read-only"),
    ("returns None", "return None", "returned NoneType, expected an Assignment"),
    ("returns a dict", "return {'user': []}", "returned dict, expected an Assignment"),
    ("breaks g", "return everything_to(0, tasks)", "g = 4"),
    ("assigns a task twice", ("a = everything_to(0, tasks); "
     "return Assignment(np.r_[a.user, a.user[:1]], np.r_[a.task, a.task[:1]], "
     "np.r_[a.coverage, a.coverage[:1]], a.iterations, a.unassigned)"), "twice"),
    ("lists", "a = nothing(tasks); return Assignment([], [], [], 0, a.unassigned)",
     "assignment.user must be a 1-d integer array, got list"),
    ("float user codes", ("a = everything_to(1, tasks); "
     "return Assignment(a.user.astype(float), a.task, a.coverage, a.iterations, a.unassigned)"),
     "assignment.user must be a 1-d integer array"),
    ("coverage 7.5", "return everything_to(1, tasks, 7.5)", "7.5 is not a probability"),
    ("NaN coverage", "return everything_to(1, tasks, float('nan'))", "nan is not a probability"),
    ("negative iterations", ("a = nothing(tasks); "
     "return Assignment(a.user, a.task, a.coverage, -1, a.unassigned)"), "iterations must be >= 0"),
    ("misreports unassigned", ("a = nothing(tasks); "
     "return Assignment(a.user, a.task, a.coverage, 0, {})"), "unassigned"),
    ("unknown user", "return everything_to(10**6, tasks)", "outside the population"),
    ("unknown task", ("a = everything_to(1, tasks); "
     "return Assignment(a.user, a.task + 10**6, a.coverage, a.iterations, a.unassigned)"),
     "not in the batch"),
]  # fmt: skip
BROKEN_MODULES: list[tuple[str, str, str]] = [
    ("raises on import", "raise ValueError('no config file')", "ValueError: no config file"),
    ("syntax error", "def broken(:\n    pass", "SyntaxError"),
    ("exits on import", "raise SystemExit(0)", "called exit(0)"),
    ("imports what is missing", "import not_a_package_xyz", "ModuleNotFoundError"),
]
BAD_CLASSES: list[tuple[str, str, str]] = [
    ("constructor raises", ("class P(AllocationPolicy):\n    def __init__(self):\n"
     "        raise OSError('no GPU')\n    def _allocate(self, tasks, state):\n"
     "        return nothing(tasks)"), "constructor failed (OSError: no GPU)"),
    ("not a policy", "class P:\n    pass", "is not an AllocationPolicy subclass"),
    ("abstract", "class P(AllocationPolicy):\n    pass", "constructor failed"),
    ("no such class", ("class Q(AllocationPolicy):\n    def _allocate(self, t, s):\n"
     "        return nothing(t)"), "has no attribute 'P'"),
]  # fmt: skip


def _scenario(tmp_path: Path, module: str) -> Path:
    path = tmp_path / "plugin.yaml"
    path.write_text(SMALL.replace("policies: [MDP]", f"policies: [MDP, '{module}:P']"))
    return path


def _assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("case", "body", "says"), MISBEHAVIOURS, ids=[c[0] for c in MISBEHAVIOURS])
def test_a_misbehaving_policy_is_named_in_one_line(
    case: str, body: str, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    module = "plugin_" + "".join(ch if ch.isalnum() else "_" for ch in case)
    (tmp_path / f"{module}.py").write_text(
        HEADER + f"\n\nclass P(AllocationPolicy):\n    def _allocate(self, tasks, state):\n"
        f"        {body}\n"
    )
    path = _scenario(tmp_path, module)
    result = mcsim("run", path, "--out", tmp_path / "out", "--quiet")
    result.one_line_error("policy P", says)
    _assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("case", "source", "says"), BROKEN_MODULES, ids=[c[0] for c in BROKEN_MODULES]
)
def test_a_broken_plugin_module_is_named(
    case: str, source: str, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    module = "broken_" + "".join(ch if ch.isalnum() else "_" for ch in case)
    (tmp_path / f"{module}.py").write_text(source + "\n")
    path = _scenario(tmp_path, module)
    for command in ("validate", "run"):
        mcsim(command, path).one_line_error(str(path), f"cannot import module '{module}'", says)
    _assert_nothing_written(tmp_path)


@pytest.mark.parametrize(("case", "source", "says"), BAD_CLASSES, ids=[c[0] for c in BAD_CLASSES])
def test_a_bad_plugin_class_is_named(
    case: str, source: str, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    module = "class_" + "".join(ch if ch.isalnum() else "_" for ch in case)
    (tmp_path / f"{module}.py").write_text(HEADER + "\n\n" + source + "\n")
    path = _scenario(tmp_path, module)
    mcsim("validate", path).one_line_error(str(path), f"{module}:P", says)


def test_a_policy_writing_shared_knowledge_cannot_corrupt_the_next_one(
    tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    """Knowledge is frozen where it is built: the write fails at once, inside the culprit."""
    (tmp_path / "vandal.py").write_text(
        HEADER + "\n\nclass P(AllocationPolicy):\n    def _allocate(self, tasks, state):\n"
        "        try:\n            state.location_model.probability.data[:] = 0\n"
        "        except ValueError:\n            pass\n        return nothing(tasks)\n"
    )
    path = tmp_path / "two.yaml"
    path.write_text(SMALL.replace("policies: [MDP]", "policies: ['vandal:P', MDP]"))
    alone = tmp_path / "alone.yaml"
    alone.write_text(SMALL)
    assert mcsim("run", path, "--out", tmp_path / "a", "--quiet").code == 0
    assert mcsim("run", alone, "--out", tmp_path / "b", "--quiet").code == 0
    a, b = (
        pd.read_csv(
            tmp_path / out / "metrics.csv", keep_default_na=False, na_values=[""]
        ).set_index("policy")
        for out in "ab"
    )
    mdp_a, mdp_b = (
        cast(pd.Series, t.loc["MDP"]).drop(["variant", "alloc_seconds"]) for t in (a, b)
    )
    pd.testing.assert_series_equal(mdp_a, mdp_b)  # MDP's day is the same with the vandal first


def test_an_unseeded_plugin_is_flagged_as_not_reproducible(
    tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    (tmp_path / "dice.py").write_text(
        HEADER + "\n\nclass P(AllocationPolicy):\n    def _allocate(self, tasks, state):\n"
        "        rng = np.random.default_rng()  # unseeded\n"
        "        ids = set(tasks.id.tolist())\n"  # a valid answer: a user free to take them all
        "        holders = {user for user, task in state.held if task in ids}\n"
        "        users = [u for u in np.flatnonzero(state.capacity >= len(ids)) if u not in holders]\n"
        "        if not users:\n"
        "            return nothing(tasks)\n"
        # A drawn coverage too: two draws of one user among 68 would agree 1.5 % of the time.
        "        return everything_to(int(rng.choice(users)), tasks, coverage=rng.random())\n"
    )
    path = _scenario(tmp_path, "dice")
    path.write_text(path.read_text().replace("g: 4", "g: 40"))
    result = mcsim("run", path, "--out", tmp_path / "out", "--quiet")
    assert result.code == 0, result.err
    assert "mcsim: warning: policy P answered the same decision twice differently" in result.err
