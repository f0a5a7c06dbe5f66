"""Error types (mcsim.errors): messages name the file, the row and the key or column; the
hierarchy lets the CLI catch every user error as MCSimError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcsim.errors import (
    CheckpointError,
    ConstraintViolation,
    InputError,
    MCSimError,
    PolicyError,
    ScenarioError,
    TraceError,
)


def test_input_error_names_file_line_and_column() -> None:
    error = TraceError("expected a timestamp", path=Path("data/gps.csv"), row=3, column="time")
    assert str(error) == "data/gps.csv, line 3, column 'time': expected a timestamp"
    assert (error.path, error.row, error.column) == ("data/gps.csv", 3, "time")
    assert error.reason == "expected a timestamp"
    assert isinstance(error.path, str)


def test_scenario_error_names_a_key() -> None:
    error = ScenarioError("expected an integer", path="s.yaml", row=9, column="tasks.copies")
    assert str(error) == "s.yaml, line 9, key 'tasks.copies': expected an integer"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "bad"),
        ({"path": "f.csv"}, "f.csv: bad"),
        ({"row": 0}, "line 0: bad"),  # row 0 is a place, not "no row"
        ({"column": "x"}, "column 'x': bad"),
        ({"path": "f.csv", "column": "x"}, "f.csv, column 'x': bad"),
    ],
)
def test_only_the_known_places_are_named(kwargs: dict[str, Any], message: str) -> None:
    error = InputError("bad", **kwargs)
    assert str(error) == message
    assert error.reason == "bad"


def test_hierarchy() -> None:
    kind: type[MCSimError]
    for kind in (TraceError, ScenarioError, CheckpointError):
        assert issubclass(kind, InputError)
    for kind in (InputError, PolicyError, ConstraintViolation):
        assert issubclass(kind, MCSimError)
    assert not issubclass(PolicyError, ValueError)


def test_constraint_violation_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="user 3 holds task 7 twice"):
        raise ConstraintViolation("user 3 holds task 7 twice")
    with pytest.raises(MCSimError):
        raise ConstraintViolation("over g")
