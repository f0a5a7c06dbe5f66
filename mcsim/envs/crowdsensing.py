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
(``np_random``, Gymnasium's ``SeedSequence`` seeding) and draws from it the day (repetition
``r`` uniform over the scenario's ``repetitions``, i.e. a held-out test day for the replay
source, with that day's own child generator), the task pool and the phones' seed; it builds
the world and runs it to the first decision. ``reset(options={"repetition": r})`` instead
replays the runner's job ``(variant, r)`` exactly: same day, task pool and phones as
``mcsim run``. Items with no eligible user are skipped without a step. The episode terminates
when the day is over (never truncated: each step answers one copy, so it is finite).

**Candidates.** Users with capacity left (load, counting this decision's picks, below g) who
do not hold the task, ranked by p(loc | u) (highest first), then ``bundle`` (below), then
distance from the last reported location (nearest first; unknown last), then user code. The
first K are offered; with fewer, the rest are padded and masked.

**Action.** ``Discrete(K + 1)``: k < K picks candidate k; K leaves the copy unassigned (always
valid). ``info["action_mask"]`` (and :meth:`CrowdsensingEnv.action_masks`, the
sb3-contrib convention) marks the valid actions. A masked action is treated as K (skip) and
flagged ``info["invalid_action"]``: an unmasked learner then learns that it wastes the copy,
and random probes (``check_env``) never crash. An action outside the space raises ValueError.

**Observation.** ``Box(0, high, (4 + 6K,), float32)``: first :data:`TASK_FEATURES`, then
:data:`CANDIDATE_FEATURES` for each of the K slots (``obs[4:].reshape(K, 6)``; padded slots
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
``valid``                 1 for an offered candidate, 0 for padding                 {0, 1}
========================  ========================================================  ==========

With ``p_loc`` (MDP's degree: the best support of a pattern containing loc is that of the
1-pattern <loc>, which is p(loc | u) when frequent), ``bundle`` (MLP's length) and their
product (IU2), the paper's strategies are expressible from the observation.

**Reward.** ``"completion"`` (default, the objective): +1 per completed copy, paid on the step
at which the outcome becomes known, i.e. the step that ends a decision (copies sensed at once,
and while the clock runs to the next decision or the day's end); the episode's return is
``info["completed"]`` = the world's completed copies. ``"coverage"``: p(loc | u) of each pick,
paid at once (0 for a skip), a dense proxy of the expected completions (it ignores the
deadline and who is around), for shaping or pre-training.

**Info.** ``decision`` (index; at termination the number of decisions), ``time_s`` [s from
cycle start; the cycle length at termination], ``task`` (current task id, -1 at termination),
``candidates`` (K user codes, -1 padding), ``completed`` (copies sensed so far),
``assigned`` (copies assigned so far, this decision's picks included), ``action_mask``,
``invalid_action``; at termination also ``metrics``: :func:`mcsim.platform.metrics.day_metrics` of the
day (``alloc_seconds`` is 0: the env does not time the agent).

Example:
    >>> import gymnasium
    >>> import numpy as np
    >>> import mcsim
    >>> env = gymnasium.make("mcsim/Crowdsensing-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space
    ((52,), Discrete(9))
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

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import gymnasium
import numpy as np
from gymnasium import spaces

from mcsim.app.pipeline import Pipeline
from mcsim.app.scenario import load_scenario, shipped_scenario
from mcsim.envs.features import CANDIDATE_FEATURES, TASK_FEATURES, CandidateFeatures, LocationView
from mcsim.platform.allocation import Assignment
from mcsim.platform.metrics import day_metrics
from mcsim.platform.tasks import TaskBatch
from mcsim.sim import DayPlan, Decision, World

#: The shipped default scenario (package data).
DEFAULT_SCENARIO = "campus"
#: Overrides applied under the caller's: no learned sensor model, so that reset stays fast.
DEFAULT_OVERRIDES: Mapping[str, Any] = MappingProxyType({"sensor": "none"})
Reward = Literal["completion", "coverage"]


class CrowdsensingEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One simulated day of task allocation, one task copy per step (see the module doc).

    Args:
        scenario: scenario YAML file; None: the shipped ``campus`` scenario.
        overrides: dotted key -> value, applied to the scenario over
            :data:`DEFAULT_OVERRIDES` (e.g. ``{"tasks.count": 20, "tasks.copies": 44}``).
        variant: which sweep variant of the scenario to run (0 without a sweep).
        n_candidates: K, candidate users offered per copy.
        reward: ``"completion"`` or ``"coverage"`` (module doc, "Reward").
        max_distance_km: D, where ``distance_km`` is clipped [km].
        cache_dir: mining cache folder; None mines in memory (no files written).
        render_mode: only None (the day's records are in ``info["metrics"]`` and
            :attr:`world`).

    Raises:
        ScenarioError: a bad scenario or override.
        ValueError: a bad argument.
    """

    def __init__(
        self,
        scenario: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        variant: int = 0,
        n_candidates: int = 8,
        reward: Reward = "completion",
        max_distance_km: float = 5.0,
        cache_dir: Path | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; expected None")
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {n_candidates}")
        if reward not in ("completion", "coverage"):
            raise ValueError(f"reward must be 'completion' or 'coverage', got {reward!r}")
        if not max_distance_km > 0:
            raise ValueError(f"max_distance_km must be > 0, got {max_distance_km}")
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
        self.n_candidates = n_candidates
        self.reward_kind: Reward = reward
        self.max_distance_km = float(max_distance_km)
        self.render_mode = render_mode
        knowledge = self.pipeline.prepared.knowledge
        self._n_users = len(knowledge.patterns.users)
        self._n_locations = len(knowledge.patterns.locations)
        self._features_of = CandidateFeatures(knowledge, self.options.g)
        k = n_candidates
        high = np.concatenate(
            [
                np.ones(len(TASK_FEATURES)),
                np.tile([1.0, 1.0, 1.0, 1.0, self.max_distance_km, 1.0], k),
            ]
        )
        self.observation_space = spaces.Box(0.0, high.astype(np.float32), dtype=np.float32)
        self._observation_size = len(high)
        self.action_space = spaces.Discrete(k + 1)
        self._world: World | None = None
        self._tasks: TaskBatch | None = None
        self._decision: Decision | None = None
        self._done = True
        self._offer_nothing()

    # ------------------------------------------------------------------ Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new day: draw it and its task pool, run the world to the first decision.

        Args:
            seed: seeds the env's generator (None: continue the current one).
            options: ``{"repetition": r}`` replays the runner's job (variant, r) exactly.

        Raises:
            ValueError: an unknown option or a negative repetition.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        repetition = options.pop("repetition", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected 'repetition'")
        pipeline = self.pipeline
        if repetition is None:
            repetition = int(self.np_random.integers(self.scenario.repetitions))
            day_rng, task_rng, sensor_rng = self.np_random.spawn(3)
            self._world = pipeline.world(
                repetition,
                day=pipeline.day(repetition, day_rng),
                tasks=pipeline.tasks(repetition, task_rng),
                sensor_seed=int(sensor_rng.integers(2**32)),
            )
        else:
            if int(repetition) < 0:
                raise ValueError(f"repetition must be >= 0, got {repetition}")
            self._world = pipeline.world(int(repetition))  # exactly the runner's job
        self._tasks = self._world.tasks
        self._done = False
        self._decision = None
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
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        if self._done:
            raise RuntimeError("the episode is over; call reset()")
        k = int(action)
        invalid = k < self.n_candidates and not self._mask[k]
        reward = 0.0
        if k < self.n_candidates and not invalid:
            user = int(self._candidates[k])
            p = float(self._view.p[user])
            self._pick(user, p)
            if self.reward_kind == "coverage":
                reward = p
        self._steps += 1
        self._item += 1
        before = self._completed
        self._advance()
        if self.reward_kind == "completion":
            reward = float(self._completed - before)
        info = self._info(invalid=invalid)
        if self._done:
            info["metrics"] = day_metrics(self.world.result(), self.pipeline.prepared.test_model)
        return self._observation(), reward, self._done, False, info

    def action_masks(self) -> np.ndarray:
        """The valid actions now (bool, K + 1), for maskable learners (sb3-contrib)."""
        return self._mask.copy()

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
        if self._tasks is None:
            raise RuntimeError("no day yet; call reset()")
        return self._tasks

    @property
    def decision(self) -> Decision | None:
        """The decision being answered (None once the day is over)."""
        return self._decision

    @property
    def current_task(self) -> int:
        """Id of the task whose copy is being answered (-1 once the day is over)."""
        return -1 if self._done else int(self._queue[self._item])

    @property
    def candidates(self) -> np.ndarray:
        """User codes of the K candidate slots (-1: padding)."""
        return self._candidates.copy()

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        """Move to the next item with an eligible user, answering decisions as they end."""
        world = self.world
        while True:
            if self._decision is not None:
                while self._item < len(self._queue):
                    if self._offer():
                        return
                    self._item += 1
                world.apply(self._assignment())
                self._decision = None
                self._decisions_done += 1
            decision = world.run_until_decision()
            self._completed = world.completed
            if decision is None:
                self._done = True
                self._offer_nothing()
                return
            self._start(decision)

    def _offer_nothing(self) -> None:
        """No candidate: before the first day and once a day is over only skip is valid."""
        self._candidates = np.full(self.n_candidates, -1, dtype=np.int64)
        self._mask = np.zeros(self.n_candidates + 1, dtype=bool)
        self._mask[-1] = True

    def _start(self, decision: Decision) -> None:
        """Queue a new decision's items and reset its bookkeeping."""
        tasks = decision.tasks
        order = np.lexsort((tasks.id, tasks.publish_s))
        self._decision = decision
        self._position = {int(t): i for i, t in enumerate(tasks.id.tolist())}
        self._queue = np.repeat(tasks.id[order], tasks.copies[order])
        self._item = 0
        self._steps = 0
        self._load = decision.state.load.astype(np.int64)
        self._holders: dict[int, set[int]] = {int(t): set() for t in tasks.id.tolist()}
        for user, task in decision.state.held:
            if task in self._holders:
                self._holders[task].add(user)
        self._picks: list[tuple[int, int, float]] = []
        self._views: dict[int, LocationView] = {}
        self._tasks_at = np.bincount(tasks.location, minlength=self._n_locations)

    def _offer(self) -> bool:
        """Rank the current item's eligible users; False when there is none."""
        decision = self._decision
        assert decision is not None
        task = int(self._queue[self._item])
        pos = self._position[task]
        loc = int(decision.tasks.location[pos])
        if loc not in self._views:
            last = decision.state.last_location
            self._views[loc] = self._features_of.view(loc, self._tasks_at, last)
        view = self._views[loc]
        eligible = self._load < self.options.g
        eligible[list(self._holders[task])] = False
        users = np.flatnonzero(eligible)
        if len(users) == 0:
            return False
        order = np.lexsort((users, view.distance[users], -view.bundle[users], -view.p[users]))
        chosen = users[order[: self.n_candidates]]
        k, n = self.n_candidates, len(chosen)
        self._candidates = np.full(k, -1, dtype=np.int64)
        self._candidates[:n] = chosen
        self._mask = np.zeros(k + 1, dtype=bool)
        self._mask[:n] = True
        self._mask[-1] = True
        self._view = view
        self._task_pos = pos
        features = np.zeros((k, len(CANDIDATE_FEATURES)), dtype=np.float32)
        features[:n] = np.column_stack(
            [
                view.p[chosen],
                view.bundle[chosen],
                view.support[chosen],
                self._load[chosen] / self.options.g,
                np.minimum(view.distance[chosen], self.max_distance_km),
                np.ones(n),
            ]
        )
        self._features = features
        return True

    def _pick(self, user: int, p: float) -> None:
        task = int(self._queue[self._item])
        self._picks.append((user, task, p))
        self._holders[task].add(user)
        self._load[user] += 1
        self._assigned += 1

    def _assignment(self) -> Assignment:
        """The decision's picks as the world's Assignment (exact unassigned copies)."""
        decision = self._decision
        assert decision is not None
        placed = np.zeros(len(decision.tasks), dtype=np.int64)
        for _, task, _ in self._picks:
            placed[self._position[task]] += 1
        short = decision.tasks.copies - placed
        return Assignment(
            user=np.array([u for u, _, _ in self._picks], dtype=np.int32),
            task=np.array([t for _, t, _ in self._picks], dtype=np.int64),
            coverage=np.array([c for _, _, c in self._picks], dtype=np.float64),
            iterations=self._steps,
            unassigned={
                int(decision.tasks.id[i]): int(short[i]) for i in np.flatnonzero(short > 0)
            },
        )

    def _observation(self) -> np.ndarray:
        obs = np.zeros(self._observation_size, dtype=np.float32)
        if self._done:
            return obs
        decision = self._decision
        assert decision is not None
        tasks, pos, now = decision.tasks, self._task_pos, decision.time_s
        length = self.world.day.length_s
        task = int(self._queue[self._item])
        copies_left = int(np.count_nonzero(self._queue[self._item :] == task))
        obs[0] = min(now / length, 1.0)
        obs[1] = min(copies_left / self.scenario.tasks.max_copies, 1.0)
        obs[2] = np.clip((tasks.deadline_s[pos] - now) / length, 0.0, 1.0)
        obs[3] = (len(self._queue) - self._item) / len(self._queue)
        obs[len(TASK_FEATURES) :] = self._features.ravel()
        return obs

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
            "candidates": self._candidates.copy(),
            "completed": self._completed,
            "assigned": self._assigned,
            "action_mask": self._mask.copy(),
            "invalid_action": invalid,
        }
