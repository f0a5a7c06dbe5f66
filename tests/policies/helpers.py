"""Small building blocks of hand-written test policies."""

from __future__ import annotations

from mcsim.platform.allocation import Assignment
from mcsim.platform.tasks import TaskBatch
from policies.base import build_assignment, publish_order


def place_nothing(tasks: TaskBatch) -> Assignment:
    """The answer that places no copy (every copy reported unassigned)."""
    order = publish_order(tasks)
    return build_assignment(tasks, order, [], [], [], tasks.copies[order], 0)
