"""A trained agent as an allocation policy: ``{name: agent, params: {path: runs/ppo}}``.

``mcsim train-agent`` saves an agent as a folder holding ``model.zip`` (the Stable-Baselines3
model) and ``agent.json`` (:data:`AGENT_FORMAT`: the algorithm, the
:class:`~mcsim.envs.stepper.ObservationLayout` it learned on, the env settings and the training
record). :class:`AgentPolicy` answers a decision exactly as the agent acts in the Gym env: the
decision's copies are queued and offered to K candidates by the same
:class:`~mcsim.envs.stepper.DecisionSteps`, and the model picks a slot for each copy
(deterministically: the most probable valid action). So ``mcsim run`` tabulates and plots an
agent beside the heuristics, on the runner's days, with the runner's metrics.

The policy is registered through the ``mcsim.policies`` entry point ``agent``. Its ``path`` is
the agent folder (or its ``model.zip``), relative to the working directory. The files are
checked when the policy is made, i.e. when the scenario is validated, before any job runs: a
missing or unreadable file, another format version, an unknown algorithm or a model whose
observation or action size differs from the recorded layout is a :class:`PolicyError` naming
the file and what was expected.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mcsim.envs.features import CandidateFeatures
from mcsim.envs.stepper import DecisionSteps, ObservationLayout
from mcsim.errors import PolicyError
from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import Knowledge
from policies import AllocationPolicy

#: Version tag of ``agent.json``; a file with another tag is refused.
AGENT_FORMAT = "mcsim-agent/1"
MODEL_FILE = "model.zip"
RECORD_FILE = "agent.json"
#: Algorithms ``train-agent`` offers -> (module, class) of their Stable-Baselines3 model.
ALGORITHMS = {
    "maskable-ppo": ("sb3_contrib", "MaskablePPO"),
    "ppo": ("stable_baselines3", "PPO"),
    "dqn": ("stable_baselines3", "DQN"),
}


@dataclass(frozen=True, eq=False)
class TrainedAgent:
    """A loaded agent: its model, the layout it learned on and its record."""

    model: Any
    layout: ObservationLayout
    record: dict[str, Any]
    folder: Path

    @property
    def maskable(self) -> bool:
        """Whether the model takes action masks (sb3-contrib's maskable algorithms)."""
        return self.record["algo"] == "maskable-ppo"

    def act(self, observation: np.ndarray, mask: np.ndarray) -> int:
        """The most probable action for one observation (masked when the model takes masks)."""
        if self.maskable:
            action, _ = self.model.predict(observation, action_masks=mask, deterministic=True)
        else:
            action, _ = self.model.predict(observation, deterministic=True)
        return int(action)


def algorithm_class(algo: str) -> Any:
    """The Stable-Baselines3 model class of ``algo`` (the ``rl`` extra must be installed)."""
    if algo not in ALGORITHMS:
        raise PolicyError(f"unknown algorithm {algo!r}; expected one of {', '.join(ALGORITHMS)}")
    module, name = ALGORITHMS[algo]
    try:
        return getattr(__import__(module), name)
    except ImportError:
        raise PolicyError(
            f"algorithm {algo} needs the 'rl' extra: pip install 'mcsim[rl]'"
        ) from None


def agent_files(path: str | Path) -> tuple[Path, Path]:
    """(model.zip, agent.json) of an agent folder, or of the folder holding a model.zip."""
    path = Path(path)
    folder = path.parent if path.suffix == ".zip" else path
    return folder / MODEL_FILE, folder / RECORD_FILE


def save_record(folder: Path, record: dict[str, Any]) -> None:
    """Write ``agent.json`` atomically (a reader never sees half a record)."""
    temporary = folder / f".{RECORD_FILE}.tmp"
    temporary.write_text(json.dumps({"format": AGENT_FORMAT, **record}, indent=2) + "\n")
    temporary.replace(folder / RECORD_FILE)


def read_record(path: Path) -> dict[str, Any]:
    """The checked contents of an ``agent.json``."""
    if not path.is_file():
        raise PolicyError(f"{path}: no agent record; expected the {RECORD_FILE} that "
                          "mcsim train-agent writes beside model.zip")  # fmt: skip
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{path}: not a readable agent record ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != AGENT_FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise PolicyError(f"{path}: format {found!r}; expected {AGENT_FORMAT!r}")
    try:
        ObservationLayout.from_dict(record["layout"])
        algo = str(record["algo"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{path}: key {exc} missing or malformed in the agent record") from None
    if algo not in ALGORITHMS:
        raise PolicyError(f"{path}: algorithm {algo!r}; expected one of {', '.join(ALGORITHMS)}")
    return record


def load_agent(path: str | Path) -> TrainedAgent:
    """Load and check an agent folder (cached per file version in this process).

    Raises:
        PolicyError: a missing, unreadable or incompatible file, naming it and what was
            expected.
    """
    model_file, record_file = agent_files(path)
    if not model_file.is_file():
        raise PolicyError(f"{model_file}: no such agent model; expected the {MODEL_FILE} of a "
                          "folder written by mcsim train-agent")  # fmt: skip
    stat = model_file.stat()
    return _load(str(model_file.resolve()), stat.st_mtime_ns, stat.st_size, str(record_file))


@lru_cache(maxsize=8)
def _load(model_file: str, mtime_ns: int, size: int, record_file: str) -> TrainedAgent:
    record = read_record(Path(record_file))
    layout = ObservationLayout.from_dict(record["layout"])
    if not zipfile.is_zipfile(model_file):
        raise PolicyError(f"{model_file}: not a Stable-Baselines3 model (not a zip archive)")
    cls = algorithm_class(record["algo"])
    try:
        model = cls.load(model_file, device="cpu")
    except Exception as exc:  # noqa: BLE001 (SB3 raises many kinds on a damaged archive)
        raise PolicyError(f"{model_file}: cannot load the {record['algo']} model ({exc})") from None
    observation_shape = tuple(model.observation_space.shape or ())
    actions = int(getattr(model.action_space, "n", -1))
    expected = ((layout.size,), layout.n_candidates + 1)
    if (observation_shape, actions) != expected:
        raise PolicyError(
            f"{model_file}: the model takes observations of shape {observation_shape} and "
            f"{actions} actions; expected {expected[0]} and {expected[1]} "
            f"(K = {layout.n_candidates}, features of {RECORD_FILE})"
        )
    return TrainedAgent(model, layout, record, Path(model_file).parent)


class AgentPolicy(AllocationPolicy):
    """A trained Gym agent answering decisions copy by copy, as in the env (module doc).

    Args:
        path: the agent folder written by ``mcsim train-agent`` (or its ``model.zip``).
    """

    name = "agent"

    def __init__(self, *, path: str) -> None:
        self.path = str(path)
        self.agent = load_agent(path)
        self._features: tuple[int, CandidateFeatures] | None = None

    def __repr__(self) -> str:
        return f"AgentPolicy(path={self.path!r})"

    def _candidate_features(self, state: PlatformState) -> CandidateFeatures:
        """Per-location features, cached while the knowledge stays the same (one run)."""
        key = hash((id(state.patterns), state.g))
        if self._features is None or self._features[0] != key:
            knowledge = Knowledge(state.patterns, state.location_model, state.locations)
            self._features = (key, CandidateFeatures(knowledge, state.g))
        return self._features[1]

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        steps = DecisionSteps(
            tasks, state, state.now_s, self._candidate_features(state), self.agent.layout
        )
        while steps.next_offer():
            steps.answer(self.agent.act(steps.observation(), steps.mask))
        return steps.assignment()
