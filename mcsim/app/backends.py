"""Where jobs run: this process, a pool of local processes, or a Ray cluster.

A backend takes the pending jobs of a run and hands each :class:`~mcsim.app.jobs.JobResult`
to the runner as it finishes (the runner writes its shard at once, so a lost machine loses
no finished job). Results never depend on the backend: every job draws from its own seed
streams. Backends are chosen by name (``--backend``), like policies:

* ``local`` (default): this process when ``workers`` is 1, else ``workers`` spawned processes
  that die with the run. A worker that dies in the middle of a job (killed, out of memory)
  stops the run with :class:`WorkerLost`, after the jobs that finished before it were handed
  over: their shards are kept, and the same command resumes the run;
* ``ray``: Ray tasks on an existing cluster (``--address``, e.g. ``auto`` or
  ``ray://head:10001``) or on a local Ray instance when no address is given. Prepared
  knowledge (trace, cycles, mined patterns) travels once per setting through Ray's object
  store (``ray.put``), not through a shared disk; a task lost with its worker (or its node)
  is retried (:data:`RAY_RETRIES` times), then stops the run like a lost local worker. Needs
  the ``ray`` extra (``pip install 'mcsim[ray]'``).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from threadpoolctl import threadpool_limits

from generators.sensegen import THREADS_VARIABLE
from mcsim.app.jobs import Job, JobResult, run_job
from mcsim.app.pipeline import Pipeline, Prepared, PreparedCache, preparation_key
from mcsim.app.scenario import ScenarioFile, Variant
from mcsim.errors import MCSimError
from mcsim.processes import process_pool, stop_workers, usable_cores

OnResult = Callable[[JobResult], object]
RAY_RETRIES = 3  # a task whose worker dies is run again, up to this many times
# Where a local Ray instance lives. Wherever multi-node clusters are enabled (Linux, by
# default), Ray rewrites 127.0.0.1 into the machine's network address, and the instance would
# listen there; any other loopback address is kept. macOS and Windows route 127.0.0.1 only,
# and there Ray keeps it.
LOOPBACK = "127.0.0.1" if sys.platform in ("darwin", "win32") else "127.0.0.2"


class WorkerLost(MCSimError):
    """A worker process (or a Ray node) died in the middle of a job.

    Raised after the jobs that had finished were handed to the runner, which keeps their
    shards, so that the same command resumes the run instead of starting over.
    """


class Backend(Protocol):
    """Runs jobs and reports each result as it arrives."""

    def run(
        self,
        file: ScenarioFile,
        jobs: list[Job],
        cache: PreparedCache,
        cache_dir: Path | None,
        on_result: OnResult,
    ) -> None: ...


# ------------------------------------------------------------------------------- local

_WORKER_CACHE: PreparedCache | None = None  # one per pool process, set by _start_worker


def _hold_threads(threads: int) -> None:
    """Hold this worker process to ``threads`` threads for its lifetime: SenseGen's (unless the
    user set ``$MCSIM_SENSOR_THREADS``) and numpy's BLAS."""
    os.environ.setdefault(THREADS_VARIABLE, str(threads))
    threadpool_limits(limits=threads, user_api="blas")


def _start_worker(prepared: dict[str, Prepared], sensor_threads: int) -> None:
    """A pool process starts with the run's preparations (made once, in the parent) and its
    share of the cores, for SenseGen's threads and for numpy's BLAS alike (``workers``
    processes each computing on every core would run ``workers`` times as many threads as
    there are cores; OpenBLAS's threads spin while they wait, so two workers of two BLAS
    threads each on 2 cores ran a 40-job sweep 13 % slower than with one each, measured)."""
    global _WORKER_CACHE
    _hold_threads(sensor_threads)
    _WORKER_CACHE = PreparedCache(maxsize=max(len(prepared), 1))
    for key, value in prepared.items():
        _WORKER_CACHE.put(key, value)


def _run_in_worker(variant: Variant, repetition: int, cache_dir: Path | None) -> JobResult:
    assert _WORKER_CACHE is not None, "the pool's initializer did not run"
    return run_job(variant, repetition, _WORKER_CACHE, cache_dir)


class LocalBackend:
    """This process (``workers`` = 1) or ``workers`` spawned local processes."""

    def run(
        self,
        file: ScenarioFile,
        jobs: list[Job],
        cache: PreparedCache,
        cache_dir: Path | None,
        on_result: OnResult,
    ) -> None:
        variants = {v.index: v for v in file.variants}
        if file.scenario.workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                on_result(run_job(variants[job.variant], job.repetition, cache, cache_dir))
            return
        # "spawn": workers must not inherit torch/OpenMP thread state from this process.
        workers = min(file.scenario.workers, len(jobs))
        prepared = _preparations(file, jobs, cache)
        share = max(1, usable_cores() // workers)
        pool = process_pool(
            workers, spawn=True, initializer=_start_worker, initargs=(prepared, share)
        )
        calls = [(variants[job.variant], job.repetition, cache_dir) for job in jobs]
        try:
            _hand_over(pool, calls, on_result)
        finally:
            # After an error or Ctrl-C the queued jobs are dropped rather than run first.
            pool.shutdown(wait=True, cancel_futures=True)


def _hand_over(
    pool: ProcessPoolExecutor, calls: list[tuple[Variant, int, Path | None]], on_result: OnResult
) -> None:
    """Run each call in ``pool`` and hand each result over as soon as its job finishes,
    whatever the order of submission.

    When a worker dies, the pool fails every unfinished job at once (and refuses new ones);
    the jobs that finished before it, possibly still unread beside the failures, are handed
    over before the run stops.

    Raises:
        WorkerLost: a worker process died in the middle of a job.
    """
    futures: list[Future[JobResult]] = []
    handed: set[Future[JobResult]] = set()
    try:
        futures.extend(pool.submit(_run_in_worker, *call) for call in calls)
        for future in as_completed(futures):
            result = future.result()
            handed.add(future)
            on_result(result)
    except BrokenProcessPool:
        stop_workers(pool)
        for future in futures:  # a broken pool fails its unfinished jobs: none can finish now
            finished = future.done() and not future.cancelled() and future.exception() is None
            if finished and future not in handed:
                on_result(future.result())
        raise WorkerLost(
            "a local worker process died in the middle of a job (killed, or out of memory?)"
        ) from None


def _preparations(file: ScenarioFile, jobs: list[Job], cache: PreparedCache) -> dict[str, Prepared]:
    """The preparations the jobs need, by key (the parent made them before any job ran)."""
    variants = {v.index: v for v in file.variants}
    found: dict[str, Prepared] = {}
    for job in jobs:
        pipeline = Pipeline(variants[job.variant].scenario, job.variant, cache=cache)
        found.setdefault(pipeline.key, pipeline.prepared)
    return found


# --------------------------------------------------------------------------------- ray


def _run_on_ray(variant: Variant, repetition: int, key: str, prepared: Prepared) -> JobResult:
    """A Ray task: the job, on the setting's knowledge fetched from the object store (the
    task holds one CPU, so SenseGen rolls its phones in one thread, and numpy's BLAS runs on
    one too, as in a local pool worker)."""
    _hold_threads(1)
    cache = PreparedCache()
    cache.put(key, prepared)
    return run_job(variant, repetition, cache, None)


class RayBackend:
    """Ray tasks on the cluster at ``address`` (None: a local Ray instance).

    Raises:
        MCSimError: Ray is not installed, or the cluster cannot be reached.
    """

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise MCSimError(
                "the ray backend needs Ray; install the extra: pip install 'mcsim[ray]'"
            ) from None
        self.ray = ray
        self.address = address

    def _connect(self, workers: int) -> None:
        if self.ray.is_initialized():
            return
        options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
        if self.address is None:  # a Ray instance of this machine only: on the loopback
            options.update(num_cpus=max(1, workers), _node_ip_address=LOOPBACK)
        else:
            _check_reachable(self.address)
        try:
            self.ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = self.address or "a local Ray instance"
            raise MCSimError(f"cannot reach the Ray cluster at {where} ({exc})") from None

    def run(
        self,
        file: ScenarioFile,
        jobs: list[Job],
        cache: PreparedCache,
        cache_dir: Path | None,
        on_result: OnResult,
    ) -> None:
        if not jobs:
            return
        self._connect(file.scenario.workers)
        ray = self.ray
        task = ray.remote(max_retries=RAY_RETRIES, num_cpus=1)(_run_on_ray)
        variants = {v.index: v for v in file.variants}
        # Shipped once per setting through the object store, not once per job.
        refs = {key: ray.put(p) for key, p in _preparations(file, jobs, cache).items()}
        pending = []
        for job in jobs:
            key = preparation_key(variants[job.variant].scenario)
            pending.append(task.remote(variants[job.variant], job.repetition, key, refs[key]))
        lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(done[0])
            except lost:
                self._hand_over_finished(pending, on_result)
                raise WorkerLost(
                    "a Ray worker or node died in the middle of a job "
                    f"(tried {RAY_RETRIES + 1} times)"
                ) from None
            on_result(result)

    def _hand_over_finished(self, pending: list[Any], on_result: OnResult) -> None:
        """The tasks among ``pending`` that already finished, before the run stops."""
        done, _ = self.ray.wait(pending, num_returns=len(pending), timeout=0)
        for ref in done:
            try:
                result = self.ray.get(ref)
            except self.ray.exceptions.RayError:
                continue
            on_result(result)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an address nothing listens at (Ray itself retries for minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise MCSimError(
            f"bad Ray address {address!r}; expected HOST:PORT, ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise MCSimError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
            "`ray start --head` or check --address"
        ) from None


BACKENDS: dict[str, Callable[..., Backend]] = {"local": LocalBackend, "ray": RayBackend}


def make_backend(name: str, address: str | None = None) -> Backend:
    """The backend ``name`` (``address``: the Ray cluster, for ``ray`` only)."""
    if name not in BACKENDS:
        raise MCSimError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    if address is not None and name != "ray":
        raise MCSimError("--address is the Ray cluster's; it needs --backend ray")
    return RayBackend(address) if name == "ray" else BACKENDS[name]()
