"""The scenario schema (mcsim.app.scenario.schema): every rule a scenario must follow; the
corpus ``bad_scenarios/schema/`` holds one file per broken rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from mcsim.app.scenario import Scenario, load_scenario
from mcsim.errors import ScenarioError

HERE = Path(__file__).resolve().parent
BAD = sorted((HERE / "bad_scenarios" / "schema").glob("*.yaml"))
SCENARIOS = HERE.parents[3] / "scenarios"


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_scenario_names_file_key_and_reason(
    path: Path, check_corpus_error: Callable[[Path, ScenarioError], None]
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    check_corpus_error(path, info.value)


def test_corpus_is_not_empty() -> None:
    assert len(BAD) >= 16


def test_geolife_scenario_validates_or_names_the_missing_data() -> None:
    path = SCENARIOS / "geolife.yaml"
    data = SCENARIOS.parents[1] / "shared" / "data" / "geolife"
    if data.is_dir():
        trace_file = load_scenario(path).scenario.trace.file
        assert trace_file is not None
        assert trace_file.path == data.resolve()
    else:
        with pytest.raises(ScenarioError, match=r"trace\.file\.path.*no such file or folder"):
            load_scenario(path)


def test_policies_accept_names_and_mappings(tmp_path: Path, good: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        good.replace(
            "policies: [MDP, IU1]",
            "policies:\n  - MDP\n  - name: IU1\n    params: {delta: 0.8}\n    label: IU1-0.8\n",
        )
    )
    policies = load_scenario(path).scenario.policies
    assert [p.display for p in policies] == ["MDP", "IU1-0.8"]
    assert policies[1].params == {"delta": 0.8}


def test_models_are_frozen(tmp_path: Path, good: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(good)
    scenario = load_scenario(path).scenario
    with pytest.raises(ValidationError):
        scenario.g = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        scenario.tasks.count = 1  # type: ignore[misc]
    assert isinstance(scenario, Scenario)
