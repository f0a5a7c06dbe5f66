"""Agents that act in :class:`~mcsim.envs.crowdsensing.CrowdsensingEnv`.

:class:`PolicyAgent` runs any :class:`~policies.AllocationPolicy` (built-in or plug-in) as an
agent, so the paper's heuristics are the baselines a learned agent is compared with, in the
very same loop.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from mcsim.envs.crowdsensing import CrowdsensingEnv
from mcsim.sim import Decision
from policies import AllocationPolicy, make_policy


class PolicyAgent:
    """Any allocation policy as an agent of :class:`CrowdsensingEnv`.

    At each new decision it asks the policy for its assignment of the whole batch (the same
    ``allocate`` call the closed loop :func:`mcsim.sim.simulate` makes), then answers each copy
    with the candidate slot of a user the policy gave that task, or skip. So the same policy
    object runs in ``mcsim run`` and in the Gym loop. With K at least the number of users every
    eligible user is a candidate and the env applies exactly the policy's pairs: completions
    equal the closed loop's (only the claimed coverage, p(loc | u) here, and the iteration
    count, steps here, differ). With a smaller K a user the policy chose may not be offered;
    that copy is skipped, and the day can differ from the closed loop.

    Args:
        policy: a policy object, or a name / ``module:Class`` for :func:`policies.make_policy`.
        **params: the policy's parameters when ``policy`` is a name.

    Example:
        >>> PolicyAgent("IU1", delta=0.8).policy
        IU1(delta=0.8)
    """

    def __init__(self, policy: AllocationPolicy | str, **params: Any) -> None:
        self.policy = make_policy(policy, **params) if isinstance(policy, str) else policy
        self._decision: Decision | None = None
        self._chosen: dict[int, list[int]] = {}

    def act(self, env: gymnasium.Env) -> int:
        """The action for the env's current copy (``env`` may be wrapped)."""
        core = env.unwrapped
        if not isinstance(core, CrowdsensingEnv):
            raise TypeError(f"PolicyAgent acts in a CrowdsensingEnv, got {type(core).__name__}")
        decision = core.decision
        if decision is None:
            raise RuntimeError("the episode is over; call reset()")
        if decision is not self._decision:
            assignment = self.policy.allocate(decision.tasks, decision.state)
            self._chosen = {}
            for user, task in zip(assignment.user.tolist(), assignment.task.tolist(), strict=True):
                self._chosen.setdefault(task, []).append(user)
            self._decision = decision
        chosen = self._chosen.get(core.current_task, [])
        candidates = core.candidates.tolist()
        for user in chosen:
            if user in candidates:
                chosen.remove(user)
                return candidates.index(user)
        return core.n_candidates
