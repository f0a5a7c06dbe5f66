"""Untrusted input files: regular files only, of a bounded size (mcsim.data.files)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mcsim.app.scenario import load_scenario
from mcsim.data.files import check_regular_file
from mcsim.data.traces import load_trace
from mcsim.errors import InputError, ScenarioError, TraceError


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return path


def _device_link(tmp_path: Path) -> Path:
    path = tmp_path / "zero.csv"
    path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_fifo, "FIFO"),
        (_socket, "socket"),
        (_device_link, "character device"),
        (lambda p: p, "folder"),
        (lambda p: p / "absent.csv", "no such file"),
    ],
)
def test_only_regular_files_are_read(tmp_path: Path, make, kind: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match=kind):
        check_regular_file(path, max_bytes=10, expected="a trace")


def test_size_limit_and_links_to_files(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="over the limit of 10"):
        check_regular_file(big, max_bytes=10, expected="a trace")
    link = tmp_path / "link.csv"
    link.symlink_to(big)
    assert check_regular_file(link, max_bytes=11, expected="a trace") == 11


@pytest.mark.parametrize("make", [_fifo, _device_link])
def test_trace_and_scenario_readers_refuse_devices_at_once(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    with pytest.raises(TraceError, match=f"{path}: is a"):
        load_trace(path)
    yaml_path = path.with_suffix(".yaml")
    path.rename(yaml_path)
    with pytest.raises(ScenarioError, match="expected a YAML scenario"):
        load_scenario(yaml_path)
