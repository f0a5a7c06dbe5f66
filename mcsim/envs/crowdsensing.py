"""The Gymnasium environment of mcsim: allocate a simulated day's task copies one by one.

``mcsim/Crowdsensing-v0`` (:class:`CrowdsensingEnv`) wraps the very :class:`~mcsim.sim.World`
that ``mcsim run`` simulates (same scenario loading, preparation, task pools and sensing rule),
so an agent is scored on the runner's days by the runner's metrics. :class:`~mcsim.envs.agents.PolicyAgent` runs
any :class:`~policies.AllocationPolicy` as an agent in the same loop, as the baseline to beat.

Why one copy per step: at a decision the platform must answer a whole batch with an ATU matrix,
a combinatorial action. The env factors it into small choices: the decision's (task, copy)
items are queued in publish order (then task id; all copies of a task in a row), and for the
current item the agent picks one of K candidate users or leaves the copy unassigned. When the
queue is done, the collected picks are applied to the world as one
:class:`~mcsim.platform.allocation.Assignment` (``iterations`` = steps taken, ``coverage`` =
p(loc | u) of each pick) and the clock runs to the next decision.

**Episode.** One simulated day. ``reset(seed)`` seeds the env's one generator
(``np_random``, Gymnasium's ``SeedSequence`` seeding) and draws from it a day of the env's
split (below); it builds the world and runs it to the first decision. Items with no eligible
user are skipped without a step. The episode terminates when the day is over (never
truncated: each step answers one copy, so it is finite). Same seed, same trajectory.

**Days.** ``days="train"`` (default) draws uniformly from a pool of ``n_days`` training days
(default 1,000), ``days="test"`` from the first ``n_days`` test days (default: the scenario's
``repetitions``); the two never share a day (:mod:`mcsim.app.days` says where each source's
training days come from, and their biases). Test day ``i`` is exactly the runner's job
(variant, i): same day, task pool and phones as ``mcsim run``. A training episode draws its
task pool and phones from the episode's generator, so a training day recurs with new tasks.
``reset(options={"day": i})`` plays day ``i`` of the split as a fixed episode (a training
day then comes with the task pool and phones of stream key ``TRAIN_DAY_OFFSET + i``, as
:func:`mcsim.evaluate` plays it); ``{"repetition": r}`` the runner's job r (test day r)
whatever the split. ``info`` names the ``split``, ``day_index``
and ``day`` (the day's label).

**Candidates.** Users with capacity left (load, counting this decision's picks, below g) who
do not hold the task, ranked by ``p_window`` (below; highest first), then p(loc | u), then
``bundle``, then distance from the last reported location (nearest first; unknown last),
then user code. The
first K are offered; with fewer, the rest are padded and masked
(:class:`~mcsim.envs.stepper.DecisionSteps`, shared with trained agents run as policies).

**Action.** ``Discrete(K + 1)``: k < K picks candidate k; K leaves the copy unassigned (always
valid). ``info["action_mask"]`` (and :meth:`CrowdsensingEnv.action_masks`, the
sb3-contrib convention) marks the valid actions. A masked action is treated as K (skip) and
flagged ``info["invalid_action"]``: an unmasked learner then learns that it wastes the copy,
and random probes (``check_env``) never crash. An action outside the space raises ValueError.

**Observation.** ``Box(0, high, (4 + 8K,), float32)``: first :data:`TASK_FEATURES`, then
:data:`CANDIDATE_FEATURES` for each of the K slots (``obs[4:].reshape(K, 8)``; padded slots
are all zero):

========================  ========================================================  ==========
feature                   meaning                                                   range
========================  ========================================================  ==========
``time_of_day``           decision time / cycle length                              [0, 1]
``copies_left``           copies of this task still to answer here (this one        (0, 1]
                          included) / the scenario's ``max_copies``
``deadline_left``         (deadline - decision time) / cycle length, clipped        [0, 1]
``queue_left``            items of this decision still to answer (this one          (0, 1]
                          included) / items queued at the decision
``p_loc``                 p(loc | u) of the training cycles (probability)           [0, 1]
``bundle``                paper's matlg: most tasks of this decision whose          [0, 1]
                          location lies in one of u's patterns containing loc,
                          / g, clipped (0: no pattern of u contains loc)
``bundle_support``        support (matdg) of that pattern, the highest support      [0, 1]
                          among equally long matches (probability)
``load``                  tasks u holds, this decision's picks included, / g        [0, 1)
``distance_km``           great-circle distance from u's last reported location     [0, D]
                          to the task [km], clipped at D = ``max_distance_km``
                          (D when unknown)
``p_window``              share of the training days on which u was at the task's   [0, 1]
                          location inside the copy's sensing window [max(publish,
                          now), deadline] (time of day matters: a copy completes
                          only inside its window; the paper's patterns ignore it)
``eta``                   (expected sensing time on those days - now) / cycle       [0, 1]
                          length (1: never there inside the window)
``valid``                 1 for an offered candidate, 0 for padding                 {0, 1}
========================  ========================================================  ==========

With ``p_loc`` (MDP's degree: the best support of a pattern containing loc is that of the
1-pattern <loc>, which is p(loc | u) when frequent), ``bundle`` (MLP's length) and their
product (IU2), the paper's strategies are expressible from the observation.

**Reward.** Each objective a researcher may optimise, and the metric it targets:

===============================  =========================================  =================
``reward=``                      paid per step                              targets
===============================  =========================================  =================
``"completion"`` (default)       completed copies credited to the step      ``fulfillment``
                                                                            (``completed``)
``"lagrangian"``                 completed copies - lambda per assignment   completion ratio
                                 (``assignment_cost=lambda``)               vs fulfillment
``"coverage"``                   p(loc | u) of the pick (0 for a skip)      ``coverage_sum``
a callable ``f(StepOutcome)``    whatever it returns                        yours
===============================  =========================================  =================

``"lagrangian"`` is the Lagrangian of "maximise completed copies subject to a completion ratio
of at least rho": a pick is worth making when its chance to complete exceeds lambda, so
lambda = 0 is ``"completion"`` and raising lambda trades fulfilment for completion ratio
(and fewer tasks per user: the incentive cost). ``"coverage"`` is a dense proxy of the expected
completions (it ignores the deadline and who is around), for shaping or pre-training.

*Credit.* ``credit="assignment"`` (default) pays a completion on the step that made the
assignment: the sensing rule is deterministic given the day's visits, so the env reads the
outcome off the day plan at once (:meth:`~mcsim.sim.World.will_receive`: the user senses it,
or, dishonest, claims it; hidden state, never in the observation); ``credit="sensed"`` pays
it when the reading reaches the platform (the step that ends a decision, as a platform would
learn it). Under ``validation.count: accepted`` the platform judges the day's readings at its
end, so the last step also takes back every received copy it rejected. Either way an
episode's completion credits sum to ``info["metrics"]["completed"]``, the day's completed
copies (``info["completed"]`` counts the readings received so far).

**Info.** ``decision`` (index; at termination the number of decisions), ``time_s`` [s from
cycle start; the cycle length at termination], ``task`` (current task id, -1 at termination),
``candidates`` (K user codes, -1 padding), ``completed`` (readings received so far),
``assigned`` (copies assigned so far, this decision's picks included), ``action_mask``,
``invalid_action``, ``split``, ``day_index``, ``day``; at termination also ``metrics``:
:func:`mcsim.platform.metrics.day_metrics` of the day (``fulfillment``, ``completion_ratio``,
``tasks_per_user``...; ``alloc_seconds`` is 0: the env does not time the agent).

**Render.** ``render_mode="rgb_array"``: :meth:`CrowdsensingEnv.render` draws the campus
from above (:mod:`mcsim.envs.render`): locations, users at their last reported location, the
current task, the decision's other tasks, the candidates and the time of day, for videos
(``gymnasium.wrappers.RecordVideo``) and notebooks.

Example:
    >>> import gymnasium
    >>> import numpy as np
    >>> import mcsim
    >>> env = gymnasium.make("mcsim/Crowdsensing-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space
    ((68,), Discrete(9))
    >>> rng = np.random.default_rng(0)
    >>> terminated = False
    >>> while not terminated:
    ...     action = rng.choice(np.flatnonzero(info["action_mask"]))
    ...     obs, reward, terminated, truncated, info = env.step(action)
    >>> info["metrics"]["completed"] == info["completed"]
    True
    >>> from mcsim.envs.agents import PolicyAgent
    >>> agent = PolicyAgent("MDP")
    >>> obs, info = env.reset(seed=0)
    >>> while not env.step(agent.act(env))[2]:
    ...     pass
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import gymnasium
import numpy as np
from gymnasium import spaces

from mcsim.app.days import SPLITS, TRAINING_POOL, Split
from mcsim.app.pipeline import Pipeline
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.envs.features import CandidateFeatures
from mcsim.envs.stepper import DecisionSteps, ObservationLayout
from mcsim.platform.metrics import day_metrics
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import DayPlan, Decision, World

#: The shipped default scenario (package data).
DEFAULT_SCENARIO = "campus"
#: Overrides applied under the caller's: no learned sensor model, so that reset stays fast.
DEFAULT_OVERRIDES: Mapping[str, Any] = MappingProxyType({"sensor": "none"})
RewardName = Literal["completion", "lagrangian", "coverage"]
Credit = Literal["assignment", "sensed"]
_PLAIN_INTS = (int, np.int64, np.int32)
REWARDS: tuple[RewardName, ...] = ("completion", "lagrangian", "coverage")
CREDITS: tuple[Credit, ...] = ("assignment", "sensed")


@dataclass(frozen=True)
class StepOutcome:
    """What one step did, as a reward function sees it.

    Attributes:
        assigned: the copy was assigned (False: skipped, or a masked action).
        user: the user picked (-1 for a skip).
        coverage: p(loc | u) of the pick (0 for a skip).
        completed: completed copies credited to this step (module doc, "Reward").
        invalid: the action was masked (treated as a skip).
    """

    assigned: bool
    user: int
    coverage: float
    completed: int
    invalid: bool


RewardFunction = Callable[[StepOutcome], float]


def _reward_function(reward: RewardName | RewardFunction, cost: float) -> RewardFunction:
    if callable(reward):
        return reward
    if reward == "completion":
        return lambda o: float(o.completed)
    if reward == "lagrangian":
        return lambda o: o.completed - cost * o.assigned
    if reward == "coverage":
        return lambda o: o.coverage
    raise ValueError(f"reward must be one of {', '.join(REWARDS)} or a callable, got {reward!r}")


class CrowdsensingEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One simulated day of task allocation, one task copy per step (see the module doc).

    Args:
        scenario: scenario YAML file; None: the shipped ``campus`` scenario.
        overrides: dotted key -> value, applied to the scenario over
            :data:`DEFAULT_OVERRIDES` (e.g. ``{"tasks.count": 20, "tasks.copies": 44}``).
        variant: which sweep variant of the scenario to run (0 without a sweep).
        days: ``"train"`` or ``"test"`` (module doc, "Days").
        n_days: days of the split that ``reset`` draws from (None: the training pool's
            :data:`~mcsim.app.days.TRAINING_POOL` days, or the scenario's ``repetitions`` test
            days).
        n_candidates: K, candidate users offered per copy.
        reward: ``"completion"``, ``"lagrangian"``, ``"coverage"`` or a callable taking a
            :class:`StepOutcome` (module doc, "Reward").
        assignment_cost: lambda of the ``"lagrangian"`` reward (completed copies per
            assignment that a pick must be worth).
        credit: ``"assignment"`` or ``"sensed"``: when completions are paid.
        max_distance_km: D, where ``distance_km`` is clipped [km].
        cache_dir: mining cache folder; None mines in memory (no files written).
        render_mode: None or ``"rgb_array"`` (the campus seen from above, :meth:`render`).

    Raises:
        ScenarioError: a bad scenario or override.
        ValueError: a bad argument.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (Gymnasium's)

    def __init__(
        self,
        scenario: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        variant: int = 0,
        days: Split = "train",
        n_days: int | None = None,
        n_candidates: int = 8,
        reward: RewardName | RewardFunction = "completion",
        assignment_cost: float = 0.0,
        credit: Credit = "assignment",
        max_distance_km: float = 5.0,
        cache_dir: Path | None = None,
        render_mode: str | None = None,
    ) -> None:
        _check_arguments(days, n_days, n_candidates, credit, assignment_cost, max_distance_km)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported; expected None or "
                             "'rgb_array'")  # fmt: skip
        self._reward = _reward_function(reward, float(assignment_cost))
        file = load_scenario(
            shipped_scenario(DEFAULT_SCENARIO) if scenario is None else scenario,
            {**DEFAULT_OVERRIDES, **(overrides or {})},
        )
        if not 0 <= variant < len(file.variants):
            raise ValueError(f"variant must lie in 0..{len(file.variants) - 1}, got {variant}")
        self.variant = variant
        self.scenario = file.variants[variant].scenario
        # The runner's pipeline: same preparation, task pools and rules of the day.
        self.pipeline = Pipeline(self.scenario, variant, cache_dir=cache_dir)
        self.options = self.pipeline.options
        self.split: Split = days
        self.n_days = self._pool_size(n_days)
        self.reward_kind = reward if isinstance(reward, str) else "callable"
        self.assignment_cost = float(assignment_cost)
        self.credit: Credit = credit
        self.render_mode = render_mode
        knowledge = self.pipeline.prepared.knowledge
        self._n_users = len(knowledge.patterns.users)
        self._features_of = CandidateFeatures(knowledge, self.options.g)
        self.layout = ObservationLayout(
            n_candidates=n_candidates,
            max_distance_km=float(max_distance_km),
            max_copies=self.scenario.tasks.max_copies,
            day_length_s=self.scenario.cycles.length_h * 3600.0,
        )
        self.observation_space = spaces.Box(0.0, self.layout.high(), dtype=np.float32)
        self.action_space = spaces.Discrete(n_candidates + 1)
        self._world: World | None = None
        self._decision: Decision | None = None
        self._steps: DecisionSteps | None = None
        self._done = True
        self._day_index = -1
        self._renderer: Any = None
        self._last_seen = knowledge.last_locations()  # as of the latest decision

    @property
    def n_candidates(self) -> int:
        """K, candidate users offered per copy."""
        return self.layout.n_candidates

    @property
    def max_distance_km(self) -> float:
        """D [km]."""
        return self.layout.max_distance_km

    def _pool_size(self, n_days: int | None) -> int:
        self._pool_size_asked = TRAINING_POOL
        if self.split == "test":
            return self.scenario.repetitions if n_days is None else n_days
        self._pool_size_asked = TRAINING_POOL if n_days is None else n_days
        return len(self.pipeline.prepared.training_days(self._pool_size_asked))

    # ------------------------------------------------------------------ Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new day of the env's split, run the world to the first decision.

        Args:
            seed: seeds the env's generator (None: continue the current one).
            options: ``{"day": i}`` plays day ``i`` of the split; ``{"repetition": r}`` is the
                runner's job (variant, r) whatever the split (test day r).

        Raises:
            ValueError: an unknown option or a day outside the split.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        repetition = options.pop("repetition", None)
        index = options_day = options.pop("day", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected 'day' or "
                             "'repetition'")  # fmt: skip
        split: Split = self.split
        if repetition is not None:
            if int(repetition) < 0:
                raise ValueError(f"repetition must be >= 0, got {repetition}")
            split, index = "test", int(repetition)
        else:
            if index is None:
                index = int(self.np_random.integers(self.n_days))
            elif not 0 <= int(index) < self.n_days:
                raise ValueError(f"day must lie in 0..{self.n_days - 1} ({self.split} days), "
                                 f"got {index}")  # fmt: skip
        # A drawn training day gets new tasks and phones; a chosen one its fixed episode.
        drawn = split == "train" and options_day is None
        self._world = self.pipeline.episode(
            split, int(index), pool_size=self._pool_size_asked,
            rng=self.np_random if drawn else None,
        )  # fmt: skip
        self._day_index = int(index)
        self._episode_split = split
        self._done = False
        self._decision = None
        self._steps = None
        self._decisions_done = 0
        self._completed = 0
        self._assigned = 0
        self._advance()
        if self._done:
            raise RuntimeError(
                f"the day offers no task copy that any user could take ({self._n_users} users)"
            )
        return self._observation(), self._info(invalid=False)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Answer the current copy: pick candidate ``action`` or skip it (``action == K``).

        Raises:
            ValueError: ``action`` is not in the action space.
            RuntimeError: the episode is over (call :meth:`reset`).
        """
        if not (type(action) in _PLAIN_INTS and 0 <= action <= self.n_candidates) and not (
            self.action_space.contains(action)
        ):  # the fast path first: contains() costs more than the rest of a step's checks
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        if self._done:
            raise RuntimeError("the episode is over; call reset()")
        steps = self._steps
        assert steps is not None
        k = int(action)
        invalid = not steps.valid(k)
        location, (start_s, end_s) = steps.location, steps.window()
        user, p = steps.answer(k)
        credited = 0
        if user >= 0:
            self._assigned += 1
            if self.credit == "assignment":
                credited = int(self.world.will_receive(user, location, start_s, end_s))
        before = self._completed
        self._advance()
        if self.credit == "sensed":
            credited = self._completed - before
        metrics = None
        if self._done:
            metrics = day_metrics(
                self.world.record(),  # the result's arrays, without its data frames
                self.pipeline.prepared.test_model,
                patterns=self.world.knowledge.patterns,
            )
            # Counting accepted copies only: the platform judges the day's readings at its
            # end, so the last step takes back the received copies it rejected (0 otherwise).
            credited += int(metrics["completed"]) - self._completed
        reward = float(self._reward(StepOutcome(user >= 0, user, p, credited, invalid)))
        info = self._info(invalid=invalid)
        if metrics is not None:
            info["metrics"] = metrics
        return self._observation(), reward, self._done, False, info

    def action_masks(self) -> np.ndarray:
        """The valid actions now (bool, K + 1), for maskable learners (sb3-contrib)."""
        return self._mask().copy()

    def render(self) -> np.ndarray | None:
        """The campus from above (uint8 RGB) when ``render_mode="rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            return None
        from mcsim.envs.render import CampusRenderer, Frame

        locations = self.pipeline.prepared.knowledge.locations
        xy = np.column_stack([locations.longitude, locations.latitude])
        if self._renderer is None:
            self._renderer = CampusRenderer(xy)
        steps = self._steps
        current = None if self._done or steps is None else steps
        frame = Frame(
            location_xy=xy,
            user_location=self._last_seen,
            task_location=-1 if current is None else current.location,
            candidates=self.candidates,
            open_task_locations=np.zeros(0, np.int64)
            if current is None
            else current.tasks.location,
            time_s=0.0 if self._decision is None else self._decision.time_s,
            day_length_s=self.layout.day_length_s,
            caption="no day" if self._world is None else self._world.day.label,
        )
        return self._renderer.render(frame)

    # ------------------------------------------------------------------ read-only views

    @property
    def world(self) -> World:
        """The current day's world (its :meth:`~mcsim.sim.World.result` once terminated)."""
        if self._world is None:
            raise RuntimeError("no day yet; call reset()")
        return self._world

    @property
    def day(self) -> DayPlan:
        """The current day's visits."""
        return self.world.day

    @property
    def tasks(self) -> TaskBatch:
        """The current day's task pool."""
        return self.world.tasks

    @property
    def decision(self) -> Decision | None:
        """The decision being answered (None once the day is over)."""
        return self._decision

    @property
    def current_task(self) -> int:
        """Id of the task whose copy is being answered (-1 once the day is over)."""
        return -1 if self._done or self._steps is None else self._steps.task

    @property
    def candidates(self) -> np.ndarray:
        """User codes of the K candidate slots (-1: padding)."""
        if self._done or self._steps is None:
            return np.full(self.n_candidates, -1, dtype=np.int64)
        return self._steps.candidates.copy()

    # ------------------------------------------------------------------ internals

    def _mask(self) -> np.ndarray:
        if self._done or self._steps is None:  # before the first day, after the last copy
            mask = np.zeros(self.n_candidates + 1, dtype=bool)
            mask[-1] = True
            return mask
        return self._steps.mask

    def _advance(self) -> None:
        """Move to the next item with an eligible user, answering decisions as they end."""
        world = self.world
        while True:
            steps = self._steps
            if steps is not None:
                if steps.next_offer():
                    return
                world.apply(steps.assignment())
                self._steps = self._decision = None
                self._decisions_done += 1
            decision = world.run_until_decision()
            self._completed = world.completed
            if decision is None:
                self._done = True
                return
            self._decision = decision
            self._last_seen = decision.state.last_location
            self._steps = DecisionSteps(
                decision.tasks, decision.state, decision.time_s, self._features_of, self.layout
            )

    def _observation(self) -> np.ndarray:
        if self._done or self._steps is None:
            return np.zeros(self.layout.size, dtype=np.float32)
        return self._steps.observation()

    def _info(self, *, invalid: bool) -> dict[str, Any]:
        if self._done:
            decision, time_s = self._decisions_done, self.world.day.length_s
        else:
            assert self._decision is not None
            decision, time_s = self._decision.index, self._decision.time_s
        return {
            "decision": decision,
            "time_s": float(time_s),
            "task": self.current_task,
            "candidates": self.candidates,
            "completed": self._completed,
            "assigned": self._assigned,
            "action_mask": self._mask().copy(),
            "invalid_action": invalid,
            "split": self._episode_split,
            "day_index": self._day_index,
            "day": self.world.day.label,
        }


def _check_arguments(
    days: str,
    n_days: int | None,
    n_candidates: int,
    credit: str,
    assignment_cost: float,
    max_distance_km: float,
) -> None:
    """One ValueError per bad constructor argument, naming it and what was expected."""
    problems = [
        (days not in SPLITS, f"days must be 'train' or 'test', got {days!r}"),
        (n_days is not None and n_days < 1, f"n_days must be >= 1, got {n_days}"),
        (n_candidates < 1, f"n_candidates must be >= 1, got {n_candidates}"),
        (credit not in CREDITS, f"credit must be 'assignment' or 'sensed', got {credit!r}"),
        (not assignment_cost >= 0, f"assignment_cost must be >= 0, got {assignment_cost}"),
        (not max_distance_km > 0, f"max_distance_km must be > 0, got {max_distance_km}"),
    ]
    for bad, message in problems:
        if bad:
            raise ValueError(message)
