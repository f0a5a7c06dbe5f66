"""Finished jobs kept for resumption (mcsim/app/jobstore.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
