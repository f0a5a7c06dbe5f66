"""Atomic outputs: results appear whole or not at all."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from mcsim.data.outputs import (
    atomic_file,
    atomic_output_dir,
    check_output_target,
    remove_dead_staging,
)
from mcsim.errors import MCSimError


def test_folder_appears_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_output_dir(out) as work:
        (work / "half.csv").write_text("x")
        raise RuntimeError("crash mid-run")
    assert list(tmp_path.iterdir()) == []
    with atomic_output_dir(out) as work:
        (work / "metrics.csv").write_text("ok")
    assert (out / "metrics.csv").read_text() == "ok"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_existing_folder_is_kept_unless_overwrite_and_success(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.csv").write_text("old")
    with pytest.raises(MCSimError, match="already exists"), atomic_output_dir(out):
        pass
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(out, overwrite=True) as work:
        (work / "new.csv").write_text("new")
        raise KeyboardInterrupt
    assert [p.name for p in out.iterdir()] == ["old.csv"]
    with atomic_output_dir(out, overwrite=True) as work:
        (work / "new.csv").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_file_is_replaced_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_text("old")
    with pytest.raises(ValueError), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise ValueError
    assert path.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    with atomic_file(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_a_folder_published_meanwhile_is_kept_and_this_run_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    refused = pytest.raises(MCSimError, match="appeared while this run was writing")
    with refused, atomic_output_dir(out) as work:
        (work / "mine.csv").write_text("mine")
        out.mkdir()  # another run publishes first
        (out / "theirs.csv").write_text("theirs")
    assert [p.name for p in out.iterdir()] == ["theirs.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left


@pytest.mark.parametrize(
    ("parent", "message"), [("file", "is a file"), ("file/deeper", "is a file")]
)
def test_an_out_inside_a_file_is_refused_before_any_work(
    tmp_path: Path, parent: str, message: str
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(MCSimError, match=message):
        check_output_target(tmp_path / parent / "run")
    with pytest.raises(MCSimError, match="not a folder"):
        check_output_target(tmp_path / "file", overwrite=True)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_staging_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    dead, live, fresh, old, other = (
        tmp_path / f".run.tmp-{name}"
        for name in (f"{_dead_pid()}-a", f"{os.getpid()}-b", "fresh", "old", "x")
    )
    for folder in (dead, live, fresh, old):
        folder.mkdir()
        (folder / "metrics.csv").write_text("half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (tmp_path / ".runner.tmp-y").mkdir()  # another output's staging: not ours to judge
    removed = remove_dead_staging(out)
    assert sorted(p.name for p in removed) == [dead.name, old.name]
    assert live.exists() and fresh.exists() and not other.exists()
    with atomic_output_dir(out) as work:  # killed right after this, its owner is known
        assert work.name.startswith(f".run.tmp-{os.getpid()}-")
    assert [p.name for p in out.iterdir()] == []


def test_temporary_files_of_killed_writers_are_removed_by_the_next_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nll.png"
    dead = tmp_path / f".nll.png.{_dead_pid()}-abc123.png"
    live = tmp_path / f".nll.png.{os.getpid()}-xyz.png"
    other = tmp_path / f".other.png.{_dead_pid()}-abc.png"
    for leftover in (dead, live, other):
        leftover.write_text("half")
    with atomic_file(path) as tmp:
        assert tmp.name.startswith(f".nll.png.{os.getpid()}-")
        tmp.write_text("whole")
    assert path.read_text() == "whole"
    assert not dead.exists() and live.exists() and other.exists()
