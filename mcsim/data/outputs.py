"""Atomic outputs: a command's results appear whole or not at all.

Every command that writes a results folder (``mine``, ``run``, ``allocate``) builds it in a
temporary sibling folder and renames it into place only after everything is written; single
files (checkpoints, caches, sampled arrays, reports) are written beside their final name and
moved into place with ``os.replace``. A bad input, a crash or Ctrl-C therefore never leaves
half results that look complete.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcsim.errors import MCSimError

STALE_S = 60.0  # [s] an ownerless staging folder older than this belongs to no live run


def check_output_target(out: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse, before any work, a results folder that cannot be written.

    Raises:
        MCSimError: ``out`` exists (without ``overwrite``) or is not a folder, or a parent of
            it is a file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MCSimError(f"{out} exists and is not a folder; choose another --out")
    if out.exists() and not overwrite:
        raise MCSimError(f"{out} already exists; choose another --out or pass --overwrite")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise MCSimError(f"cannot create {out}: {parent} is a file, not a folder")
            break
    return out


def remove_dead_staging(out: Path) -> list[Path]:
    """Remove the staging folders that killed runs left beside ``out``; returns them.

    A staging folder's name carries the process that owns it (``.<out>.tmp-<pid>-<random>``),
    so a run killed at any instant, even right after creating it, leaves a folder whose owner
    is known; one whose process is gone, or an ownerless one older than :data:`STALE_S`,
    belongs to no live run.
    """
    removed = []
    for folder in out.parent.glob(f".{out.name}.*-*"):
        kind, _, rest = folder.name[len(out.name) + 2 :].partition("-")
        if not folder.is_dir() or kind not in ("tmp", "old"):
            continue
        if _alive(folder, rest.split("-", 1)[0]):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(folder: Path, owner: str) -> bool:
    if owner.isdigit():
        return pid_alive(int(owner))
    try:
        return folder.stat().st_mtime > time.time() - STALE_S
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextmanager
def atomic_output_dir(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` when the block succeeds.

    Staging folders of killed runs beside ``out`` are removed first. The publish step never
    replaces a folder that another run published meanwhile unless ``overwrite`` is set.

    Args:
        out: the final folder.
        overwrite: replace an existing ``out`` (only once the new results are complete).

    Raises:
        MCSimError: ``out`` exists and ``overwrite`` is false (checked before any work), or
            ``out`` appeared while this run was writing (this run's results are discarded).
    """
    out = check_output_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out)
    work = _staging(out, "tmp")
    try:
        yield work
        _publish(work, out, overwrite)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _staging(out: Path, kind: str) -> Path:
    """A fresh folder beside ``out`` whose name says which process owns it."""
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.{kind}-{os.getpid()}-", dir=out.parent))


def _publish(work: Path, out: Path, overwrite: bool) -> None:
    if overwrite and out.exists():
        old = _staging(out, "old")
        out.rename(old / out.name)
        work.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.rename(work, out)  # fails when another run published a folder there meanwhile
    except OSError:
        raise MCSimError(
            f"{out} appeared while this run was writing (another run?); it was left as it is "
            "and this run's results were discarded; choose another --out or pass --overwrite"
        ) from None


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    The temporary name carries this process's id (``.<name>.<pid>-<random><suffix>``), so
    leftovers of killed processes are recognised and removed by the next write of ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*-*"):
        owner = leftover.name[len(path.name) + 2 :].split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)):
            leftover.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=path.suffix
    )
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
