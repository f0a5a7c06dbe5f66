"""A plug-in allocation policy written outside mcsim: the README's "write a policy" example.

``MostLikely`` gives every copy of a task to the users most likely to pass its location,
p(loc | u) from the platform's location model, with no threshold and no bundling. Use it in a
scenario as ``policies: ["examples.most_likely:MostLikely"]`` (run from the repository root),
or check it with ``policies.check_policy(MostLikely())``.
"""

from __future__ import annotations

import numpy as np

from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from policies import AllocationPolicy


class MostLikely(AllocationPolicy):
    """Each task's copies go to the users with the highest p(loc | u) that have room.

    Tasks are served in publish order; ties go to the lower user code.
    """

    def __init__(self, *, min_probability: float = 0.0) -> None:
        self.min_probability = min_probability

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        capacity = state.capacity.copy()
        users, task_ids, coverage, unassigned = [], [], [], {}
        for task in tasks:  # TaskBatch iterates in publish order
            candidates, probability = state.location_model.users_at(
                task.location, self.min_probability
            )
            ranked = np.lexsort((candidates, -probability))
            placed = 0
            for i in ranked:
                user = int(candidates[i])
                if placed == task.copies:
                    break
                if capacity[user] > 0 and (user, task.id) not in state.held:
                    users.append(user)
                    task_ids.append(task.id)
                    coverage.append(float(probability[i]))
                    capacity[user] -= 1
                    placed += 1
            if placed < task.copies:
                unassigned[task.id] = task.copies - placed
        return Assignment(
            np.array(users, dtype=np.int32),
            np.array(task_ids, dtype=np.int64),
            np.array(coverage),
            iterations=len(tasks),
            unassigned=unassigned,
        )

    def _parameters(self) -> dict[str, object]:
        return {"min_probability": self.min_probability}
