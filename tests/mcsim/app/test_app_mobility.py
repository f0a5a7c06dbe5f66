"""The mobility-source registry (mcsim.app.mobility): built-ins, registering a new source
(accepted by the scenario schema, used by a run), and its errors.

Named test_app_mobility.py: tests/generators/mobility/ mirrors the mobility generator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from generators.mobility import generate_campus
from mcsim.app import mobility
from mcsim.app.jobs import run_job
from mcsim.app.mobility import (
    MOBILITY_SOURCES,
    SourceMaterial,
    build_source,
    register_source,
)
from mcsim.app.pipeline import Pipeline, PreparedCache
from mcsim.app.scenario import Scenario, load_scenario, shipped_scenario
from mcsim.errors import ScenarioError
from mcsim.seeding import Stream, seed_for
from mcsim.sim import DayPlan, GroundTruthSource, PatternDaySource, ReplaySource

SMALL = {"trace.synthetic.days": 32, "sensor": "none", "policies": ["MDP"]}
BUILT_IN = {"replay": ReplaySource, "patterns": PatternDaySource, "ground_truth": GroundTruthSource}


def campus(**overrides: Any) -> Scenario:
    return load_scenario(shipped_scenario("campus"), {**SMALL, **overrides}).scenario


@pytest.fixture(scope="module")
def material() -> SourceMaterial:
    """What a source is built from, for the small campus (as the pipeline builds it)."""
    scenario = campus()
    prepared = Pipeline(scenario).prepared
    synthetic = scenario.trace.synthetic
    assert synthetic is not None
    generated = generate_campus(
        synthetic.campus_config(), seed=seed_for(scenario.seed, Stream.TRACE)
    )
    return SourceMaterial(
        prepared.train,
        prepared.test,
        prepared.knowledge.patterns,
        prepared.train.options,
        generated,
        np.random.default_rng(0),
        scenario.seed,
        "replay",
    )


def test_built_in_names_are_registered() -> None:
    assert set(BUILT_IN) <= set(MOBILITY_SOURCES)


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_built_ins_build_their_source(material: SourceMaterial, name: str) -> None:
    source = build_source(name, material)
    assert isinstance(source, BUILT_IN[name])
    day = source.day(0, np.random.default_rng(1))
    assert isinstance(day, DayPlan) and day.n_users == 68 and len(day) > 0
    assert day.label.startswith(
        {"replay": "replay cycle", "patterns": "patterns day"}.get(name, "ground-truth day")
    )


def test_unknown_source_is_a_scenario_error(material: SourceMaterial) -> None:
    with pytest.raises(ScenarioError, match="unknown mobility source 'teleport'") as info:
        build_source("teleport", material)
    assert info.value.column == "mobility.source"
    with pytest.raises(ScenarioError, match="unknown mobility source 'teleport'") as info:
        campus(mobility={"source": "teleport"})
    assert info.value.column == "mobility.source"


def test_ground_truth_needs_a_synthetic_trace(material: SourceMaterial) -> None:
    no_campus = dataclasses.replace(material, campus=None)
    with pytest.raises(ScenarioError, match="'ground_truth' needs a synthetic trace") as info:
        build_source("ground_truth", no_campus)
    assert info.value.column == "mobility.source"
    assert isinstance(build_source("replay", no_campus), ReplaySource)


class StayAtFirstPlace:
    """A source whose every user spends the whole day where its first training cycle began."""

    def __init__(self, material: SourceMaterial) -> None:
        train = material.train
        starts, _ = train.user_bounds()
        self.location = train.location[train.offsets[starts]]
        self.length_s = train.options.length_s

    def day(self, repetition: int, rng: np.random.Generator) -> DayPlan:
        n = len(self.location)
        return DayPlan.build(
            np.arange(n),
            self.location,
            np.zeros(n),
            np.full(n, self.length_s),
            n_users=n,
            length_s=self.length_s,
            label=f"stay-home day {repetition}",
        )


def test_registered_source_is_accepted_and_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ScenarioError, match="unknown mobility source 'stay_home'"):
        campus(mobility={"source": "stay_home"})
    built: list[SourceMaterial] = []

    def factory(material: SourceMaterial) -> StayAtFirstPlace:
        built.append(material)
        return StayAtFirstPlace(material)

    # Recorded as absent first, so that the registry is restored after the test.
    monkeypatch.setitem(MOBILITY_SOURCES, "stay_home", factory)
    monkeypatch.setitem(mobility.TRAINING_DAYS, "stay_home", mobility.TRAINING_DAYS["patterns"])
    register_source("stay_home", factory)
    assert mobility.MOBILITY_SOURCES["stay_home"] is factory
    variant = load_scenario(
        shipped_scenario("campus"), {**SMALL, "mobility": {"source": "stay_home"}}
    ).variants[0]
    assert variant.scenario.mobility.source == "stay_home"
    row = run_job(variant, 1, PreparedCache(), cache_dir=None).metrics[0]
    assert (row["mobility"], row["day"]) == ("stay_home", "stay-home day 1")
    assert len(built) == 1 and len(built[0].train.users) == 68
    assert row["users"] == 68


def test_registry_was_restored() -> None:
    assert "stay_home" not in MOBILITY_SOURCES
    assert "stay_home" not in mobility.TRAINING_DAYS


@pytest.mark.parametrize("name", ["", "two words", "dash-name", "dotted.name"])
def test_register_source_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="bad source name"):
        register_source(name, lambda material: build_source("replay", material))
    assert name not in MOBILITY_SOURCES
