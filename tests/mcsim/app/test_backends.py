"""Where jobs run (mcsim/app/backends.py): local processes or a real Ray cluster, with the
same results; a worker that dies is retried (Ray) or loses no finished job (both); bad
addresses and names are one-line errors.

The Ray tests start a real local Ray instance on this machine's loopback, or a cluster of two
``ray start`` nodes; they skip when the ``ray`` extra is not installed. Workers are killed by
a test-only plug-in policy (``flaky_policy:Flaky``, written below) that calls ``os._exit`` in
the middle of a job, once: the first process to create its marker file dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from threadpoolctl import threadpool_info

import mcsim.app.backends
from generators.sensegen import THREADS_VARIABLE
from mcsim.app.backends import (
    LOOPBACK,
    LocalBackend,
    RayBackend,
    WorkerLost,
    _start_worker,
    make_backend,
)
from mcsim.app.runner import run_scenario
from mcsim.app.scenario import shipped_scenario
from mcsim.errors import MCSimError
from mcsim.processes import process_pool

SMALL = {
    "trace.synthetic.days": 32,
    "sensor": "none",
    "repetitions": 3,
    "policies": ["MDP", "IU1", "NA"],
}


def _text(folder: Path) -> list[str]:
    """metrics.csv without the timing column."""
    rows = (folder / "metrics.csv").read_text().splitlines()
    drop = rows[0].split(",").index("alloc_seconds")
    return [",".join(v for i, v in enumerate(row.split(",")) if i != drop) for row in rows]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=SMALL)
    return out


@pytest.fixture
def ray_module() -> Iterator[Any]:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    yield ray
    ray.shutdown()


def test_a_local_ray_instance_gives_the_local_results(
    ray_module: Any, local_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=SMALL, backend="ray")
    assert _text(out) == _text(local_run)
    assert '"backend": "ray"' in (out / "manifest.json").read_text()
    # On the loopback, never on the machine's network address.
    assert {node["NodeManagerAddress"] for node in ray_module.nodes()} == {LOOPBACK}


@pytest.mark.parametrize(
    ("name", "address", "says"),
    [
        ("ray", "127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1"),
        ("ray", "nonsense", "bad Ray address 'nonsense'"),
        ("local", "auto", "needs --backend ray"),
        ("dask", None, "unknown backend 'dask'"),
    ],
)
def test_bad_backends_and_addresses_are_one_line_errors(
    name: str, address: str | None, says: str, tmp_path: Path
) -> None:
    if name == "ray":
        pytest.importorskip("ray", reason="the ray extra is not installed")
    with pytest.raises(MCSimError, match=says):
        backend = make_backend(name, address)
        cast(RayBackend, backend)._connect(1)  # only the ray cases get this far
    assert list(tmp_path.iterdir()) == []


def test_the_local_backend_is_the_default() -> None:
    assert isinstance(make_backend("local"), LocalBackend)


def test_a_local_worker_rolls_sensegen_on_its_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    pool = process_pool(1, spawn=True, initializer=_start_worker, initargs=({}, 3))
    with pool:
        assert pool.submit(os.getenv, THREADS_VARIABLE).result() == "3"
        blas = [lib for lib in pool.submit(threadpool_info).result() if lib["user_api"] == "blas"]
        assert blas and all(lib["num_threads"] == 3 for lib in blas)  # numpy's BLAS too
    assert THREADS_VARIABLE not in os.environ  # the parent's own sampler keeps every core


def test_a_bad_thread_setting_fails_before_any_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(THREADS_VARIABLE, "all")
    with pytest.raises(MCSimError, match=f"{THREADS_VARIABLE} must be a positive integer"):
        run_scenario(shipped_scenario("campus"), tmp_path / "out", quiet=True,
                     overrides={"sensor": "sensegen-small", "repetitions": 1})  # fmt: skip
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.jobs").exists()


# ------------------------------------------------------------------- workers that die

FLAKY = '''
"""Test-only plug-in: NA, recording where each job ran, killing its process on request."""

import os
import sys
import time
from pathlib import Path

from policies.nearest import NA

_started = 0  # jobs this process started with this policy


class Flaky(NA):
    """NA. A job's first allocation touches ``record/<node>-<pid>-<n>`` (node: the Ray node
    id, or "local"), then waits (at most a minute) until ``meet`` jobs have started, so that
    a cluster with the CPUs for two jobs must run two at once; the ``die_at``-th job of a
    process (0: never) kills that process in the middle of the job, once: only the first
    process to create ``marker`` dies."""

    def __init__(self, *, record: str, marker: str = "", die_at: int = 0, meet: int = 0) -> None:
        self.record, self.marker, self.die_at, self.meet = Path(record), marker, die_at, meet
        self.job = 0

    def _allocate(self, tasks, state):
        global _started
        if not self.job:
            _started += 1
            self.job = _started
            (self.record / f"{_node()}-{os.getpid()}-{self.job}").touch()
            deadline = time.monotonic() + 60
            while len(os.listdir(self.record)) < self.meet and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.die_at and self.job >= self.die_at and _first_to_create(self.marker):
            os._exit(70)
        return super()._allocate(tasks, state)


def _node() -> str:
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return ray.get_runtime_context().get_node_id()
    return "local"


def _first_to_create(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
'''
FLAKY_JOBS = 4


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder of ``flaky_policy``, importable here, in spawned workers and Ray workers."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "flaky_policy.py").write_text(FLAKY)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        patch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
        yield folder


def _flaky(folder: Path, die_at: int = 0, workers: int = 1, meet: int = 0) -> dict[str, Any]:
    """Overrides running MDP and Flaky; Flaky records into ``folder/ran``."""
    (folder / "ran").mkdir(exist_ok=True)
    params = {"record": str(folder / "ran"), "marker": str(folder / "died"), "die_at": die_at,
              "meet": meet}  # fmt: skip
    return {
        **SMALL,
        "repetitions": FLAKY_JOBS,
        "workers": workers,
        "policies": ["MDP", {"name": "flaky_policy:Flaky", "params": params}],
    }


@pytest.fixture(scope="module")
def flaky_reference(plugin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An undisturbed run of the Flaky scenario, in this process."""
    folder = tmp_path_factory.mktemp("reference")
    run_scenario(shipped_scenario("campus"), folder / "out", quiet=True, overrides=_flaky(folder))
    return folder / "out"


def _shards(out: Path) -> int:
    return len(list(out.parent.glob(f".{out.name}.jobs/*.metrics.parquet")))


def test_a_ray_task_whose_worker_dies_is_retried(
    ray_module: Any, flaky_reference: Path, tmp_path: Path
) -> None:
    overrides = _flaky(tmp_path, die_at=1, workers=2)
    out = tmp_path / "out"
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=overrides, backend="ray")
    assert (tmp_path / "died").exists(), "no worker died"
    assert _text(out) == _text(flaky_reference)


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_worker_that_dies_mid_job_loses_no_finished_job(
    backend: str,
    flaky_reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "ray":
        request.getfixturevalue("ray_module")
        monkeypatch.setattr(mcsim.app.backends, "RAY_RETRIES", 0)  # the loss is final
    overrides = _flaky(tmp_path, die_at=2, workers=2)  # each worker's first job finishes
    out = tmp_path / "out"
    with pytest.raises(WorkerLost, match=r"died in the middle of a job.*finished jobs are kept"):
        run_scenario(
            shipped_scenario("campus"), out, quiet=True, overrides=overrides, backend=backend
        )
    kept = _shards(out)
    assert 1 <= kept < FLAKY_JOBS and not out.exists()
    # The same run again (the marker exists: nobody dies) runs only the missing jobs.
    run_scenario(shipped_scenario("campus"), out, quiet=True, overrides=overrides, backend=backend)
    assert f'"resumed_jobs": {kept}' in (out / "manifest.json").read_text()
    assert _text(out) == _text(flaky_reference)
    assert _shards(out) == 0


def test_a_worker_that_dies_while_the_pool_starts_is_a_one_line_error(
    plugin: Path, tmp_path: Path
) -> None:
    # The first worker dies in its first job while the pool is still starting the second one
    # (CPython's pool then waited forever for that second worker; mcsim stops it).
    argv = [sys.executable, "-m", "mcsim", "run", "campus", "--out", str(tmp_path / "out"),
            "--quiet", *_set(_flaky(tmp_path, die_at=1, workers=2))]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 1 and (tmp_path / "died").exists(), done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "worker process died in the middle of a job" in lines[0], lines
    assert not (tmp_path / "out").exists()


def _set(overrides: dict[str, Any]) -> list[str]:
    """``--set KEY=VALUE`` arguments (JSON is YAML)."""
    return [
        arg for key, value in overrides.items() for arg in ("--set", f"{key}={json.dumps(value)}")
    ]


# ------------------------------------------------------------ two Ray nodes, one machine

# The cluster lives at the backend's loopback address: 127.0.0.2, which Ray takes as given
# (it rewrites 127.0.0.1 into the machine's network address where multi-node clusters are
# enabled, and `ray start --address` refuses to run where they are not).
NODE_START_S = 90  # a node that is not up by then counts as a failure


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _ray_start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``ray start ARGV --block`` in a session of its own, once its node is up."""
    with log.open("wb") as sink:
        node = subprocess.Popen(
            [sys.executable, "-m", "ray.scripts.scripts", "start", *argv, "--block"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + NODE_START_S
    while b"Ray runtime started" not in log.read_bytes():
        if node.poll() is not None or time.monotonic() > deadline:
            _stop(node)
            pytest.fail(f"ray start {' '.join(argv)} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return node


def _stop(node: subprocess.Popen[bytes]) -> None:
    """SIGTERM: `ray start --block` stops its node; then its whole session, to be sure."""
    if node.poll() is None:
        node.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGKILL)
    node.wait()


@pytest.fixture
def two_nodes(plugin: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A head and a worker node, one CPU each (their workers import ``plugin``): the
    cluster's address and the environment to reach it."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    if sys.platform != "linux":
        pytest.skip("a second loopback address (127.0.0.2) is routed by Linux only")
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",  # a multi-node cluster (Linux's default)
        "RAY_AUTH_MODE": "token",  # a token of this cluster's own, not ~/.ray/auth_token
        "RAY_AUTH_TOKEN": os.urandom(16).hex(),
        "RAY_USAGE_STATS_ENABLED": "0",  # no usage report to the Internet
    }
    port = _free_port()
    address = f"{LOOPBACK}:{port}"
    nodes = []
    try:
        head = ["--head", f"--node-ip-address={LOOPBACK}", f"--port={port}", "--num-cpus=1",
                f"--ray-client-server-port={_free_port()}", "--include-dashboard=false",
                f"--temp-dir={temp}"]  # fmt: skip
        nodes.append(_ray_start(head, temp / "head.log", env))
        worker = [f"--address={address}", f"--node-ip-address={LOOPBACK}", "--num-cpus=1"]
        nodes.append(_ray_start(worker, temp / "worker.log", env))
        yield address, env
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


def test_two_ray_nodes_on_one_machine_share_the_jobs_with_the_local_results(
    two_nodes: tuple[str, dict[str, str]], flaky_reference: Path, tmp_path: Path
) -> None:
    address, env = two_nodes
    overrides = _flaky(tmp_path, meet=2)  # two jobs at once: one on each node's only CPU
    argv = [sys.executable, "-m", "mcsim", "run", "campus", "--out", str(tmp_path / "out"),
            "--quiet", "--backend", "ray", "--address", address, *_set(overrides)]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _text(tmp_path / "out") == _text(flaky_reference)
    nodes = {name.split("-")[0] for name in os.listdir(tmp_path / "ran")}
    assert len(nodes) == 2 and "local" not in nodes, nodes
