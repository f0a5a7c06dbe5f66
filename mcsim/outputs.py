"""Atomic output folders: a command's results appear whole or not at all.

Every command that writes a results folder (``mine``, ``run``, ``allocate``, ``sensegen eval``)
builds it in a temporary sibling folder and renames it into place only after everything is
written, so a bad input, a crash or Ctrl-C never leaves half results that look complete.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcsim.errors import MCSimError


@contextmanager
def atomic_output_dir(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` when the block succeeds.

    Args:
        out: the final folder.
        overwrite: replace an existing ``out`` (only once the new results are complete).

    Raises:
        MCSimError: ``out`` exists and ``overwrite`` is false (checked before any work).
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise MCSimError(f"{out} already exists; choose another --out or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise MCSimError(f"{out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield work
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / out.name)
            work.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
