"""Scenario files: the bad-scenario corpus, the shipped scenarios, sweeps and overrides.

Every file in ``bad_scenarios/`` starts with comment lines naming what its error must say:
``# expect-key: <key path>``, ``# expect: <fragment>`` (any number) and optionally
``# expect-line: <n>``. The error must also name the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mcsim.app.scenario import Scenario, key_path, load_scenario
from mcsim.app.scenario.safe_yaml import MAX_BYTES
from mcsim.errors import ScenarioError

HERE = Path(__file__).resolve().parent
BAD = sorted((HERE / "bad_scenarios").glob("*.yaml"))
SCENARIOS = HERE.parents[2] / "scenarios"
GOOD = """\
seed: 1
trace:
  synthetic: {preset: wtd, days: 10}
split: {train_cycles: 7}
tasks: {count: 5, copies: 10}
policies: [MDP, IU1]
"""


def expectations(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"expect": [], "expect-key": [], "expect-line": []}
    for line in path.read_text().splitlines():
        match = re.match(r"# (expect(?:-key|-line)?): (.*)$", line)
        if match:
            found[match.group(1)].append(match.group(2))
    return found


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_scenario_names_file_key_and_reason(path: Path) -> None:
    expected = expectations(path)
    assert expected["expect"], f"{path.name} states no expected message"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in expected["expect"]:
        assert fragment in message
    for key in expected["expect-key"]:
        assert info.value.column == key
    for line in expected["expect-line"]:
        assert info.value.row == int(line)


def test_oversized_file_is_rejected_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(GOOD + "#" * MAX_BYTES)
    with pytest.raises(ScenarioError, match=r"huge\.yaml.*expected at most 1,000,000"):
        load_scenario(path)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "absent.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"seed: 1\nname: caf\xe9\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ScenarioError, match="file is empty"):
        load_scenario(empty)


@pytest.mark.parametrize("name", ["campus", "paper_table3", "scale_100k"])
def test_shipped_scenarios_validate(name: str) -> None:
    file = load_scenario(SCENARIOS / f"{name}.yaml")
    assert file.scenario.name == name
    assert all(v.scenario.sweep == {} for v in file.variants)


def test_geolife_scenario_validates_or_names_the_missing_data() -> None:
    path = SCENARIOS / "geolife.yaml"
    data = SCENARIOS.parents[1] / "shared" / "data" / "geolife"
    if data.is_dir():
        assert load_scenario(path).scenario.trace.file.path == data.resolve()
    else:
        with pytest.raises(ScenarioError, match=r"trace\.file\.path.*no such file or folder"):
            load_scenario(path)


def test_paper_sweep_is_a_grid_in_file_order() -> None:
    file = load_scenario(SCENARIOS / "paper_table3.yaml")
    assert len(file.variants) == 8
    first, last = file.variants[0], file.variants[-1]
    assert first.settings == {
        "trace.synthetic.preset": "wtd",
        "tasks.count": 20,
        "tasks.copies": 44,
    }
    assert last.settings["trace.synthetic.preset"] == "wtd-extended"
    assert (
        last.scenario.tasks.count,
        last.scenario.tasks.copies,
        last.scenario.tasks.max_copies,
    ) == (65, 200, 4)
    # A swept mapping is merged: the file's other task keys survive.
    assert last.scenario.tasks.locations == first.scenario.tasks.locations == "frequent"


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "trace.csv").write_text("user,location,time\na,x,0\n")
    sub = tmp_path / "scenarios"
    sub.mkdir()
    path = sub / "s.yaml"
    path.write_text(
        GOOD.replace("synthetic: {preset: wtd, days: 10}", "file: {path: ../data/trace.csv}")
        + "output: ../runs/s\n"
    )
    scenario = load_scenario(path).scenario
    assert scenario.trace.file is not None
    assert scenario.trace.file.path == (tmp_path / "data" / "trace.csv").resolve()
    assert scenario.output == (tmp_path / "runs" / "s").resolve()


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    file = load_scenario(path, {"repetitions": 3, "tasks.count": 4})
    assert (file.scenario.repetitions, file.scenario.tasks.count) == (3, 4)
    assert file.scenario.tasks.copies == 10  # an override replaces only its key
    with pytest.raises(ScenarioError, match=r"tasks\.copies"):
        load_scenario(path, {"tasks.copies": 99})


def test_policies_accept_names_and_mappings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        GOOD.replace(
            "policies: [MDP, IU1]",
            "policies:\n  - MDP\n  - name: IU1\n    params: {delta: 0.8}\n    label: IU1-0.8\n",
        )
    )
    policies = load_scenario(path).scenario.policies
    assert [p.display for p in policies] == ["MDP", "IU1-0.8"]
    assert policies[1].params == {"delta": 0.8}


def test_models_are_frozen(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path).scenario
    with pytest.raises(ValidationError):
        scenario.g = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        scenario.tasks.count = 1  # type: ignore[misc]
    assert isinstance(scenario, Scenario)


def test_key_path_formatting() -> None:
    assert key_path(("policies", 2, "name")) == "policies[2].name"
    assert key_path(("tasks", "copies")) == "tasks.copies"
