"""Worker processes that never outlive the command that started them.

mcsim parallelises mining and jobs over local processes. When the parent is killed (SIGKILL
included: no handler runs), orphaned workers would go on burning CPU for minutes. On Linux a
child can ask the kernel to send it a signal when its parent dies (``PR_SET_PDEATHSIG``);
:func:`process_pool` makes every worker ask for SIGKILL before it does any work. Elsewhere
the workers exit when they next talk to the dead parent, as before.
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
