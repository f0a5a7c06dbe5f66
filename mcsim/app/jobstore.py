"""Finished jobs kept on disk until the run is published, so a killed run resumes.

A run is a set of jobs (variant, repetition). As each job finishes, its rows (metrics,
assignments, events, the index of its readings) and its reading windows (``.windows.npy``,
float32 as sensed, so the dataset written from shards is bit for bit the one sensed) are
written as one shard in ``.<out>.jobs/`` beside the results folder, each file atomically and
the metrics last (its presence marks the job done). Run the same
command again after a kill (SIGKILL included) and only the missing jobs run; the results are
always assembled from the shards, so a resumed run's folder is identical (timings aside) to
an uninterrupted one. The folder records the hash of the resolved scenario it belongs to: a
changed scenario is refused (``--restart`` starts afresh), and it records the process that
writes it, so two runs cannot fill one folder at once.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from mcsim.app.jobs import Job, JobResult
from mcsim.data.outputs import atomic_file, pid_alive
from mcsim.errors import MCSimError

# Written in this order, the windows before the metrics: the metrics mark the job done.
_TABLES = ("assignments", "events", "readings", "metrics")


class JobStore:
    """The shards of one run's finished jobs.

    Args:
        out: the run's results folder (the store lives beside it).
        scenario_sha256: hash of the resolved scenario (with overrides) the jobs belong to.
        restart: discard the shards of an earlier run of this folder.

    Raises:
        MCSimError: the store belongs to another scenario (without ``restart``), or another
            live process is writing it.
    """

    def __init__(self, out: Path, scenario_sha256: str, *, restart: bool = False) -> None:
        self.folder = out.parent / f".{out.name}.jobs"
        self.scenario_sha256 = scenario_sha256
        if restart and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._claim(out)

    def _claim(self, out: Path) -> None:
        stamp = self.folder / "run.json"
        owner = self.folder / ".owner"
        if stamp.exists():
            try:
                recorded = json.loads(stamp.read_text())["scenario_sha256"]
            except (OSError, ValueError, KeyError, TypeError):
                recorded = None
            if recorded != self.scenario_sha256:
                raise MCSimError(
                    f"{self.folder} holds the finished jobs of another scenario for {out}; "
                    "pass --restart to discard them, or choose another --out"
                )
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            pid = None
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            raise MCSimError(
                f"another run (process {pid}) is writing {out}; wait for it or choose another --out"
            )
        with atomic_file(owner) as tmp:
            tmp.write_text(str(os.getpid()))
        with atomic_file(stamp) as tmp:
            tmp.write_text(json.dumps({"scenario_sha256": self.scenario_sha256}) + "\n")

    def _path(self, job: Job, table: str, suffix: str = ".parquet") -> Path:
        return self.folder / f"v{job.variant}-r{job.repetition}.{table}{suffix}"

    def done(self, jobs: list[Job]) -> list[Job]:
        """The jobs among ``jobs`` whose shard is complete."""
        return [job for job in jobs if self._path(job, "metrics").exists()]

    def save(self, result: JobResult) -> None:
        """Write a finished job's shard (each file atomically, the metrics last)."""
        frames = {
            "assignments": result.assignments,
            "events": result.events,
            "readings": result.reading_index,
            "metrics": pd.DataFrame(result.metrics).assign(_seconds=result.seconds),
        }
        with atomic_file(self._path(result.job, "windows", ".npy")) as tmp, tmp.open("wb") as f:
            np.save(f, result.readings, allow_pickle=False)
        for table in _TABLES:
            with atomic_file(self._path(result.job, table)) as tmp:
                frames[table].to_parquet(tmp, index=False)

    def load(self, job: Job) -> JobResult:
        """A finished job's rows, as the job returned them."""
        frames = {table: pd.read_parquet(self._path(job, table)) for table in _TABLES}
        metrics = frames["metrics"]
        seconds = float(metrics["_seconds"].iloc[0]) if len(metrics) else 0.0
        rows = [
            {str(key): value for key, value in row.items()}
            for row in metrics.drop(columns="_seconds").to_dict("records")
        ]
        windows = np.load(self._path(job, "windows", ".npy"), allow_pickle=False)
        return JobResult(
            job, rows, frames["assignments"], frames["events"], seconds, windows, frames["readings"]
        )

    def remove_if_empty(self) -> None:
        """Drop the store when it holds no finished job (a run that failed before any)."""
        if not any(self.folder.glob("*.metrics.parquet")):
            self.remove()

    def remove(self) -> None:
        """Drop the store once the results folder is published."""
        shutil.rmtree(self.folder, ignore_errors=True)
