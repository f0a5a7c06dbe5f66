"""Worker processes that never outlive the command that started them.

mcsim parallelises mining and jobs over local processes. When the parent is killed (SIGKILL
included: no handler runs), orphaned workers would go on burning CPU for minutes. On Linux a
child can ask the kernel to send it a signal when its parent dies (``PR_SET_PDEATHSIG``);
:func:`process_pool` makes every worker ask for SIGKILL before it does any work. Elsewhere
the workers exit when they next talk to the dead parent, as before.

The other way round, when a worker dies, the pool fails its unfinished jobs and stops its
other workers; :func:`stop_workers` stops the one it can miss.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, which a
    container or ``taskset`` can make fewer than the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; a no-op elsewhere).

    If the parent already died before the call, exit at once.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # orphaned between fork and prctl
        os._exit(1)


def _start(initializer: Callable[..., Any] | None, args: tuple[Any, ...]) -> None:
    die_with_parent()
    if initializer is not None:
        initializer(*args)


def process_pool(
    workers: int,
    *,
    spawn: bool = False,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process.

    Args:
        workers: processes.
        spawn: start workers fresh ("spawn") instead of forking, so that they inherit no
            torch/OpenMP thread state.
        initializer, initargs: run in each worker after it arranged to die with its parent.
    """
    context = multiprocessing.get_context("spawn") if spawn else None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start,
        initargs=(initializer, initargs),
    )


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate every worker of a broken pool (one whose worker died), so that it can shut down.

    CPython's pool starts workers lazily, in ``submit``. When a worker dies while ``submit``
    is starting another one (slow with "spawn": the child reads its initializer's arguments as
    it imports), the pool terminates the workers it knew of, then waits for all of them,
    the new one included, which nobody stopped: the run, and the interpreter's exit, hang
    forever. Called in the thread that submits, after the pool broke, this reaches them all.
    """
    for process in list(getattr(pool, "_processes", {}).values()):  # private, but stable
        process.terminate()
