"""Finished jobs kept for resumption (mcsim/app/jobstore.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcsim.app.jobs import Job, JobResult
from mcsim.app.jobstore import JobStore
from mcsim.errors import MCSimError


def _result(job: Job) -> JobResult:
    rows = [{"variant": job.variant, "repetition": job.repetition, "policy": "NA", "x": 0.5}]
    frame = pd.DataFrame({"user": [1, 2], "task": [3, 4]})
    return JobResult(job, rows, frame, frame.iloc[:0], 1.25)


def test_a_shard_reads_back_as_the_job_returned_it(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "out", "a" * 64)
    jobs = [Job(0, 0), Job(0, 1)]
    assert store.done(jobs) == []
    store.save(_result(jobs[1]))
    assert store.done(jobs) == [jobs[1]]
    back = store.load(jobs[1])
    assert back.metrics == _result(jobs[1]).metrics and back.seconds == 1.25
    pd.testing.assert_frame_equal(back.assignments, _result(jobs[1]).assignments)
    again = JobStore(tmp_path / "out", "a" * 64)  # the same scenario resumes
    assert again.done(jobs) == [jobs[1]]
    again.remove()
    assert not again.folder.exists()


def test_a_shards_readings_read_back_bit_for_bit(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "out", "a" * 64)
    windows = np.random.default_rng(0).normal(size=(3, 16, 3)).astype(np.float32)
    windows[1, 2, 0] = np.nan  # padding survives too
    index = pd.DataFrame({"policy": ["NA", "NA", "MDP"], "user": [4, 1, 4],
                          "sensed_s": [1.5, 2.25, 9.0], "activity": ["walking", "standing",
                          "standing"], "steps": np.array([16, 16, 16], np.int32)})  # fmt: skip
    job = Job(1, 0)
    plain = _result(job)
    store.save(JobResult(job, plain.metrics, plain.assignments, plain.events, 1.0, windows, index))
    back = store.load(job)
    assert back.readings.dtype == np.float32 and back.readings.tobytes() == windows.tobytes()
    pd.testing.assert_frame_equal(back.reading_index, index)
    # A job without readings (allocate mode) reads back empty.
    store.save(_result(Job(2, 0)))
    assert store.load(Job(2, 0)).readings.shape[0] == 0
    assert store.load(Job(2, 0)).reading_index.empty


def test_another_scenario_is_refused_unless_restarted(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "out", "a" * 64)
    store.save(_result(Job(0, 0)))
    with pytest.raises(MCSimError, match=r"another scenario.*--restart"):
        JobStore(tmp_path / "out", "b" * 64)
    fresh = JobStore(tmp_path / "out", "b" * 64, restart=True)
    assert fresh.done([Job(0, 0)]) == []
    fresh.remove_if_empty()
    assert not fresh.folder.exists()


def test_a_live_writer_is_refused_a_dead_one_taken_over(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "out", "a" * 64)
    child = subprocess.Popen(["sleep", "30"])
    try:
        (store.folder / ".owner").write_text(str(child.pid))
        with pytest.raises(MCSimError, match=f"another run \\(process {child.pid}\\)"):
            JobStore(tmp_path / "out", "a" * 64)
    finally:
        child.kill()
        child.wait()
    JobStore(tmp_path / "out", "a" * 64)  # its writer is gone: resumed
