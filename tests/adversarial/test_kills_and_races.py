"""Interruptions and concurrent runs: killed runs leave no process and nothing that looks
complete; two runs racing for one folder never both claim it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.adversarial.helpers import SMALL, alive, children_of, leftovers

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and SIGKILL")


def _mcsim(*argv: str | Path, cwd: Path) -> subprocess.Popen[str]:
    with _sigint_caught():
        return subprocess.Popen(
            [sys.executable, "-m", "mcsim", *map(str, argv)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "MCSIM_CACHE_DIR": str(cwd / "cache")},
        )


@contextmanager
def _sigint_caught() -> Iterator[None]:
    """While a child starts, this process catches SIGINT, so the child gets Ctrl-C's default
    action (exec resets caught signals, not ignored ones). A suite started in the background
    (``make test &``) has SIGINT ignored, and a Python started so ignores it too: it raises
    KeyboardInterrupt only where SIGINT was not ignored."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _scenario(tmp_path: Path, repetitions: int) -> Path:
    path = tmp_path / "many.yaml"
    path.write_text(
        SMALL.replace("repetitions: 1", f"repetitions: {repetitions}")
        .replace("policies: [MDP]", "policies: [MDP, MLP, IU1, IGA]")
    )  # fmt: skip
    return path


def test_sigkill_of_a_parallel_run_leaves_no_worker_and_the_next_run_cleans_up(
    tmp_path: Path,
) -> None:
    scenario = _scenario(tmp_path, 40)
    run = _mcsim("run", scenario, "--out", tmp_path / "out", "--workers", "2", "--quiet",
                 cwd=tmp_path)  # fmt: skip
    assert _wait_for(lambda: len(children_of(run.pid)) >= 2), "workers never started"
    workers = children_of(run.pid)
    assert _wait_for(lambda: any(p.name.startswith(".out.tmp-") for p in tmp_path.iterdir()),
                     timeout=120) or run.poll() is not None  # fmt: skip
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert _wait_for(lambda: not any(alive(p) for p in workers), timeout=15), "orphans"
    assert not (tmp_path / "out").exists()
    again = subprocess.run(  # another scenario on the same --out: its old jobs are dropped
        [sys.executable, "-m", "mcsim", "run", str(_scenario(tmp_path, 1)), "--out",
         str(tmp_path / "out"), "--quiet", "--restart"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")}, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert leftovers(tmp_path) == []  # the dead run's staging and job folders are gone


def test_sigint_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    # 400 days (~30 s at ~13 a second): the interrupt must land in the middle of the run.
    run = _mcsim("run", _scenario(tmp_path, 400), "--out", tmp_path / "out", cwd=tmp_path)
    assert _wait_for(lambda: any(p.name.startswith(".out.tmp-") for p in tmp_path.iterdir())
                     or (tmp_path / "cache").exists(), timeout=120)  # fmt: skip
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted; nothing was written" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) in ([], [".out.jobs"])  # finished jobs kept for resuming


def test_two_runs_racing_for_one_folder_never_both_claim_it(tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    warm = subprocess.run(  # mine once, so that both runs reach the publish step together
        [sys.executable, "-m", "mcsim", "run", str(scenario), "--out", str(tmp_path / "w"),
         "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    runs = [_mcsim("run", scenario, "--out", tmp_path / "out", cwd=tmp_path) for _ in range(2)]
    results = [(r.wait(timeout=300), r.communicate()) for r in runs]
    assert sorted(code for code, _ in results) == [0, 1], results
    assert sum("wrote" in out for _, (out, _) in results) == 1
    loser = next(err for code, (_, err) in results if code == 1)
    assert any(
        says in loser
        for says in ("already exists", "appeared while this run was writing", "is writing")
    ), loser
    assert (tmp_path / "out" / "metrics.csv").exists() and leftovers(tmp_path) == []


def _metrics_without_timings(folder: Path) -> list[str]:
    rows = (folder / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "alloc_seconds"]
    return [",".join(row.split(",")[i] for i in keep) for row in rows]


def test_a_run_killed_halfway_resumes_only_the_missing_jobs(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 12)
    reference = subprocess.run(
        [sys.executable, "-m", "mcsim", "run", str(scenario), "--out", str(tmp_path / "ref"),
         "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    run = _mcsim("run", scenario, "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
    jobs = tmp_path / ".out.jobs"
    half = lambda: len(list(jobs.glob("*.metrics.parquet"))) >= 6
    assert _wait_for(half, timeout=240), "the run never got halfway"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    done = len(list(jobs.glob("*.metrics.parquet")))
    assert 6 <= done < 12 and not (tmp_path / "out").exists()
    again = subprocess.run(
        [sys.executable, "-m", "mcsim", "run", str(scenario), "--out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert f'"resumed_jobs": {done}' in manifest
    assert _metrics_without_timings(tmp_path / "out") == _metrics_without_timings(tmp_path / "ref")
    assert not jobs.exists()


def test_the_jobs_of_another_scenario_are_refused_unless_restarted(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 1)
    jobs = tmp_path / ".out.jobs"
    jobs.mkdir()
    (jobs / "run.json").write_text('{"scenario_sha256": "another"}\n')
    env = {**os.environ, "MCSIM_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "mcsim", "run", str(scenario), "--out", str(tmp_path / "out")]
    refused = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                             env=env, check=False)  # fmt: skip
    assert refused.returncode == 1 and "holds the finished jobs of another scenario" in (
        refused.stderr
    )
    assert "--restart" in refused.stderr and refused.stderr.count("\n") == 1
    restarted = subprocess.run([*argv, "--restart"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=300, env=env, check=False)  # fmt: skip
    assert restarted.returncode == 0, restarted.stderr
    assert (tmp_path / "out" / "metrics.csv").exists() and not jobs.exists()
