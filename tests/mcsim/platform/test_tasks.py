"""Task pools: the paper's "m-M" settings and the batch container."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcsim.platform.tasks import Task, TaskBatch, generate_task_pool, split_copies


@given(st.integers(1, 60), st.integers(1, 4), st.integers(0, 2**32 - 1), st.data())
def test_split_copies_respects_total_and_cap(n: int, cap: int, seed: int, data) -> None:
    total = data.draw(st.integers(n, n * cap))
    copies = split_copies(n, total, cap, np.random.default_rng(seed))
    assert copies.sum() == total
    assert copies.min() >= 1 and copies.max() <= cap


@pytest.mark.parametrize(("n", "total"), [(20, 19), (20, 61), (0, 0)])
def test_split_copies_rejects_impossible_pools(n: int, total: int) -> None:
    with pytest.raises(ValueError):
        split_copies(n, total, 3, np.random.default_rng(0))


def test_paper_pool_20_38() -> None:
    pool = generate_task_pool(
        n_tasks=20,
        total_copies=38,
        max_copies=3,
        locations=np.arange(124),
        rng=np.random.default_rng(7),
        publish_window_s=(8 * 3600, 16 * 3600),
        n_batches=4,
        deadline_s=3600,
    )
    assert len(pool) == 20 and pool.total_copies == 38 and pool.copies.max() <= 3
    assert set(np.unique(pool.publish_s)) <= set(np.linspace(8 * 3600, 16 * 3600, 4))
    assert (np.diff(pool.publish_s) >= 0).all()
    assert np.array_equal(pool.deadline_s, pool.publish_s + 3600)
    again = generate_task_pool(
        n_tasks=20,
        total_copies=38,
        max_copies=3,
        locations=np.arange(124),
        rng=np.random.default_rng(7),
        publish_window_s=(8 * 3600, 16 * 3600),
        n_batches=4,
        deadline_s=3600,
    )
    assert again.to_frame().equals(pool.to_frame())


def test_batch_roundtrip_and_copies() -> None:
    tasks = [Task(2, 5, 10.0, 2), Task(1, 3, 10.0, 1), Task(0, 4, 0.0, 3)]
    batch = TaskBatch.from_tasks(tasks)
    assert list(batch.id) == [0, 1, 2]  # publish order, then id
    assert list(batch) == sorted(tasks, key=lambda t: (t.publish_s, t.id))
    left = batch.with_copies(np.array([0, 1, 2]))
    assert list(left.id) == [1, 2] and list(left.copies) == [1, 2]
    with pytest.raises(ValueError, match="unique"):
        TaskBatch.from_tasks([Task(1, 0, 0.0, 1), Task(1, 1, 0.0, 1)])
    with pytest.raises(ValueError, match="at least one copy"):
        TaskBatch.from_tasks([Task(1, 0, 0.0, 0)])


def test_subsets_of_a_valid_batch_skip_the_checks_an_index_array_keeps_them() -> None:
    batch = TaskBatch.from_tasks([Task(0, 1, 0.0, 2), Task(1, 2, 5.0, 1), Task(2, 3, 9.0, 1)])
    subset = batch.select(np.array([True, False, True]))
    assert subset.id.tolist() == [0, 2] and subset.context.tolist() == [0, 0]
    assert batch.with_copies(np.array([0, 1, 2])).copies.tolist() == [1, 2]
    with pytest.raises(ValueError, match="ids must be unique"):
        batch.select(np.array([0, 0]))
