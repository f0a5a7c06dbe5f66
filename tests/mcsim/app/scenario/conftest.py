"""Shared by the scenario tests (test_safe_yaml, test_schema, test_loading): a valid scenario's
text and the check of the bad-scenario corpus.

Every file in ``bad_scenarios/<module>/`` (one folder per module whose rule it breaks) starts
with comment lines naming what its error must say: ``# expect-key: <key path>``,
``# expect: <fragment>`` (any number) and optionally ``# expect-line: <n>``. The error must
also name the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mcsim.errors import ScenarioError

GOOD = """\
seed: 1
trace:
  synthetic: {preset: wtd, days: 10}
split: {train_cycles: 7}
tasks: {count: 5, copies: 10}
policies: [MDP, IU1]
"""


def expectations(path: Path) -> dict[str, list[str]]:
    """The ``# expect...`` lines of a corpus file."""
    found: dict[str, list[str]] = {"expect": [], "expect-key": [], "expect-line": []}
    for line in path.read_text().splitlines():
        match = re.match(r"# (expect(?:-key|-line)?): (.*)$", line)
        if match:
            found[match.group(1)].append(match.group(2))
    return found


def check_expected(path: Path, error: ScenarioError) -> None:
    """Assert that ``error`` (raised for corpus file ``path``) says what the file expects."""
    expected = expectations(path)
    assert expected["expect"], f"{path.name} states no expected message"
    message = str(error)
    assert str(path) in message
    for fragment in expected["expect"]:
        assert fragment in message
    for key in expected["expect-key"]:
        assert error.column == key
    for line in expected["expect-line"]:
        assert error.row == int(line)


@pytest.fixture(scope="session")
def good() -> str:
    """The text of a small valid scenario."""
    return GOOD


@pytest.fixture(scope="session")
def check_corpus_error() -> Callable[[Path, ScenarioError], None]:
    """:func:`check_expected`."""
    return check_expected
