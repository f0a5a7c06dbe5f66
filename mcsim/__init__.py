"""mcsim: a simulation environment for mobile crowdsensing research.

Traces -> daily cycles -> repetitive mobility patterns -> task allocation policies ->
a SimPy world of users and phones (SenseGen sensor streams) -> metrics, and a Gymnasium env.

The names a researcher reaches for are importable from here; each is loaded on first use
(PEP 562), so ``import mcsim`` stays cheap (it registers the Gymnasium env and nothing more):

>>> import mcsim
>>> sorted(mcsim.__all__)[:4]
['AgentPolicy', 'AllocationPolicy', 'Assignment', 'CrowdsensingEnv']
>>> mcsim.load_scenario is mcsim.app.scenario.load_scenario
True

Layers (dependencies point down only; ``make lint`` checks it):
``mcsim.app``, ``mcsim.envs`` (scenarios, pipeline, runner, CLI, Gym env) ->
``generators``, ``policies`` (plug-ins) -> the core ``mcsim.data``, ``mcsim.mining``,
``mcsim.platform``, ``mcsim.sim``, ``mcsim.seeding``, ``mcsim.errors``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import gymnasium

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported when the name is first used).
_API = {
    "load_trace": "mcsim.data.traces",
    "Trace": "mcsim.data.traces",
    "cut_cycles": "mcsim.mining.cycles",
    "CycleOptions": "mcsim.mining.cycles",
    "CycleTable": "mcsim.mining.cycles",
    "LocationModel": "mcsim.mining.locations",
    "mine_patterns": "mcsim.mining.patterns",
    "PatternBase": "mcsim.mining.patterns",
    "Task": "mcsim.platform.tasks",
    "TaskBatch": "mcsim.platform.tasks",
    "Assignment": "mcsim.platform.allocation",
    "PlatformState": "mcsim.platform.allocation",
    "day_metrics": "mcsim.platform.metrics",
    "World": "mcsim.sim",
    "WorldOptions": "mcsim.sim",
    "Knowledge": "mcsim.sim",
    "simulate": "mcsim.sim",
    "AllocationPolicy": "policies",
    "make_policy": "policies",
    "check_policy": "policies",
    "load_scenario": "mcsim.app.scenario",
    "shipped_scenario": "mcsim.app.scenario",
    "Pipeline": "mcsim.app.pipeline",
    "run_scenario": "mcsim.app.runner",
    "compare": "mcsim.app.compare",
    "CrowdsensingEnv": "mcsim.envs.crowdsensing",
    "PolicyAgent": "mcsim.envs.agents",
    "AgentPolicy": "mcsim.envs.agent_policy",
    "evaluate": "mcsim.app.evaluate",
    "MCSimError": "mcsim.errors",
}
__all__ = [
    "AgentPolicy",
    "AllocationPolicy",
    "Assignment",
    "CrowdsensingEnv",
    "CycleOptions",
    "CycleTable",
    "Knowledge",
    "LocationModel",
    "MCSimError",
    "PatternBase",
    "Pipeline",
    "PlatformState",
    "PolicyAgent",
    "Task",
    "TaskBatch",
    "Trace",
    "World",
    "WorldOptions",
    "__version__",
    "check_policy",
    "compare",
    "cut_cycles",
    "day_metrics",
    "evaluate",
    "load_scenario",
    "load_trace",
    "make_policy",
    "mine_patterns",
    "run_scenario",
    "shipped_scenario",
    "simulate",
]  # the keys of _API (a test keeps the two equal)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'mcsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# The policies names (AllocationPolicy, make_policy, check_policy) are left out below: this
# package is the core's namespace, and a static import of the plug-in layer here would point up.
if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from mcsim.app.compare import compare
    from mcsim.app.evaluate import evaluate
    from mcsim.app.pipeline import Pipeline
    from mcsim.app.runner import run_scenario
    from mcsim.app.scenario import load_scenario, shipped_scenario
    from mcsim.data.traces import Trace, load_trace
    from mcsim.envs.agent_policy import AgentPolicy
    from mcsim.envs.agents import PolicyAgent
    from mcsim.envs.crowdsensing import CrowdsensingEnv
    from mcsim.errors import MCSimError
    from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles
    from mcsim.mining.locations import LocationModel
    from mcsim.mining.patterns import PatternBase, mine_patterns
    from mcsim.platform.allocation import Assignment, PlatformState
    from mcsim.platform.metrics import day_metrics
    from mcsim.platform.tasks import Task, TaskBatch
    from mcsim.sim import Knowledge, World, WorldOptions, simulate

# Registered by id with a string entry point: importing mcsim does not import the simulator;
# gymnasium.make does, when an env is made (also as "mcsim:mcsim/Crowdsensing-v0").
if "mcsim/Crowdsensing-v0" not in gymnasium.registry:
    gymnasium.register(
        id="mcsim/Crowdsensing-v0", entry_point="mcsim.envs.crowdsensing:CrowdsensingEnv"
    )
