"""Scenario files: the schema (:mod:`.schema`), the safe YAML reader (:mod:`.safe_yaml`) and
loading with overrides, sweep variants and precise errors (:mod:`.loading`)."""

from mcsim.app.scenario.loading import (
    dump_scenario,
    load_scenario,
    scenario_path,
    shipped_scenario,
    shipped_scenarios,
)
from mcsim.app.scenario.safe_yaml import key_path, read_yaml
from mcsim.app.scenario.schema import (
    PolicyConfig,
    Scenario,
    ScenarioFile,
    TaskConfig,
    Variant,
)

__all__ = [
    "PolicyConfig",
    "Scenario",
    "ScenarioFile",
    "TaskConfig",
    "Variant",
    "dump_scenario",
    "key_path",
    "load_scenario",
    "read_yaml",
    "scenario_path",
    "shipped_scenario",
    "shipped_scenarios",
]
