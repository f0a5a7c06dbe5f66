"""Atomic outputs: results appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcsim.data.outputs import atomic_file, atomic_output_dir
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
