"""Loading scenarios (mcsim.app.scenario.loading): shipped scenarios, sweeps, overrides and
relative paths; the corpus ``bad_scenarios/loading/`` holds what only expansion can catch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mcsim.app.scenario import load_scenario, shipped_scenario, shipped_scenarios
from mcsim.errors import ScenarioError

HERE = Path(__file__).resolve().parent
BAD = sorted((HERE / "bad_scenarios" / "loading").glob("*.yaml"))
SCENARIOS = HERE.parents[3] / "scenarios"


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_sweep_names_file_line_and_variant(
    path: Path, check_corpus_error: Callable[[Path, ScenarioError], None]
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    check_corpus_error(path, info.value)


def test_corpus_is_not_empty() -> None:
    assert len(BAD) >= 1


@pytest.mark.parametrize("name", ["campus", "paper_table3", "scale_100k"])
def test_shipped_scenarios_validate(name: str) -> None:
    file = load_scenario(SCENARIOS / f"{name}.yaml")
    assert file.scenario.name == name
    assert all(v.scenario.sweep == {} for v in file.variants)


def test_shipped_scenarios_are_package_data() -> None:
    names = shipped_scenarios()
    assert {"campus", "geolife", "paper_figs5_8", "paper_table3", "scale_100k"} <= set(names)
    assert names == sorted(names)
    assert shipped_scenario("campus").read_text() == (SCENARIOS / "campus.yaml").read_text()
    with pytest.raises(ScenarioError, match="no shipped scenario 'nope'; expected one of"):
        shipped_scenario("nope")


def test_paper_sweep_is_a_grid_in_file_order() -> None:
    file = load_scenario(SCENARIOS / "paper_table3.yaml")
    assert len(file.variants) == 8
    assert [v.index for v in file.variants] == list(range(8))
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


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path: Path, good: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "trace.csv").write_text("user,location,time\na,x,0\n")
    sub = tmp_path / "scenarios"
    sub.mkdir()
    path = sub / "s.yaml"
    path.write_text(
        good.replace("synthetic: {preset: wtd, days: 10}", "file: {path: ../data/trace.csv}")
        + "output: ../runs/s\n"
    )
    scenario = load_scenario(path).scenario
    assert scenario.trace.file is not None
    assert scenario.trace.file.path == (tmp_path / "data" / "trace.csv").resolve()
    assert scenario.output == (tmp_path / "runs" / "s").resolve()


def test_overrides_are_validated_like_the_file(tmp_path: Path, good: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(good)
    file = load_scenario(path, {"repetitions": 3, "tasks.count": 4})
    assert (file.scenario.repetitions, file.scenario.tasks.count) == (3, 4)
    assert file.scenario.tasks.copies == 10  # an override replaces only its key
    with pytest.raises(ScenarioError, match=r"tasks\.copies"):
        load_scenario(path, {"tasks.copies": 99})
    with pytest.raises(ScenarioError, match=r"cannot override 'seed\.x'"):
        load_scenario(path, {"seed.x": 1})


def test_x_keys_hold_anchors_and_are_not_settings(tmp_path: Path, good: str) -> None:
    path = tmp_path / "anchors.yaml"
    text = good.replace("tasks: {count: 5, copies: 10}", "tasks: {<<: *pool, count: 5}")
    path.write_text("x-pool: &pool {copies: 12, max_copies: 4}\n" + text)
    tasks = load_scenario(path).scenario.tasks
    assert (tasks.count, tasks.copies, tasks.max_copies) == (5, 12, 4)
