"""Atomic outputs: a command's results appear whole or not at all.

Every command that writes a results folder (``mine``, ``run``, ``allocate``) builds it in a
temporary sibling folder and renames it into place only after everything is written; single
files (checkpoints, caches, sampled arrays, reports) are written beside their final name and
moved into place with ``os.replace``. A bad input, a crash or Ctrl-C therefore never leaves
half results that look complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_figure(figure: Any, path: str | Path, *, dpi: int = 120, **savefig: Any) -> Path:
    """Write a matplotlib figure to ``path`` as PNG, atomically, and release it.

    The one way figures leave the program, so every plot gets the same all-or-nothing write
    and no figure is left open in pyplot's registry (long sweeps would leak them).
    """
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, **savefig)
    if figure.canvas.manager is not None:  # made by pyplot, which holds it until closed
        import matplotlib.pyplot as plt

        plt.close(figure)
    return Path(path)
