"""The safe YAML reader (mcsim.app.scenario.safe_yaml): untrusted text in, plain data and
line numbers out; the corpus ``bad_scenarios/safe_yaml/`` holds files it must refuse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mcsim.app.scenario import key_path, load_scenario, read_yaml
from mcsim.app.scenario.safe_yaml import MAX_BYTES
from mcsim.errors import ScenarioError

HERE = Path(__file__).resolve().parent
BAD = sorted((HERE / "bad_scenarios" / "safe_yaml").glob("*.yaml"))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_yaml_names_file_line_and_reason(
    path: Path, check_corpus_error: Callable[[Path, ScenarioError], None]
) -> None:
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    check_corpus_error(path, info.value)
    # The loader passes the reader's error on unchanged.
    with pytest.raises(ScenarioError) as loaded:
        load_scenario(path)
    assert str(loaded.value) == str(info.value)


def test_corpus_is_not_empty() -> None:
    assert len(BAD) >= 7


def test_data_and_the_line_of_every_key(tmp_path: Path, good: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(good)
    data, lines = read_yaml(path)
    assert data["tasks"] == {"count": 5, "copies": 10}
    assert data["policies"] == ["MDP", "IU1"]
    assert lines[("seed",)] == 1
    assert lines[("trace", "synthetic", "days")] == 3
    assert lines[("tasks", "copies")] == 5
    assert lines[("policies", 1)] == 6


def test_oversized_file_is_rejected_before_parsing(tmp_path: Path, good: str) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(good + "#" * MAX_BYTES)
    with pytest.raises(ScenarioError, match=r"huge\.yaml.*over the limit of 1,000,000"):
        read_yaml(path)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        read_yaml(tmp_path / "absent.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"seed: 1\nname: caf\xe9\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        read_yaml(path)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ScenarioError, match="file is empty"):
        read_yaml(empty)


def test_key_path_formatting() -> None:
    assert key_path(("policies", 2, "name")) == "policies[2].name"
    assert key_path(("tasks", "copies")) == "tasks.copies"
    assert key_path(()) == ""


def test_merge_keys_are_accepted_and_local_keys_win(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "x-pool: &pool {count: 30, copies: 65, max_copies: 3}\ntasks:\n  <<: *pool\n  copies: 60\n"
    )
    data, lines = read_yaml(path)
    assert data["tasks"] == {"count": 30, "copies": 60, "max_copies": 3}
    assert lines[("tasks", "copies")] == 4
    path.write_text("tasks:\n  <<: {count: 1}\n  copies: 2\n  copies: 3\n")
    with pytest.raises(ScenarioError, match=r"line 4, key 'tasks\.copies': duplicate key"):
        read_yaml(path)
