"""Trace files, checkpoints and caches that are broken, hostile or in the way.

Traces go through ``mcsim mine``, checkpoints through a scenario's ``sensor``, caches through
``mcsim run``: a one-line error naming the file before any work (exit 1, nothing written), or,
for a bad cache, a one-line warning and the same results as a clean run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.adversarial.helpers import SMALL, Outcome, leftovers

HEADER = "user,location,time\n"
BAD_TRACES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "file is empty"),
    ("header only", HEADER.encode(), "no rows"),
    ("binary", b"\x00\x01\x02" * 100, "binary"),
    ("latin-1", HEADER.encode() + "a,caf\xe9,2020-01-01T00:00:00Z\n".encode("latin-1"), "UTF-8"),
    ("missing column", b"user,place,time\na,x,2020-01-01T00:00:00Z\n", "column"),
    ("ragged row", (HEADER + "a,x,2020-01-01T00:00:00Z\nb,y\n").encode(), "line 3"),
    ("bad time", (HEADER + "a,x,yesterday\n").encode(), "cannot parse time 'yesterday'"),
    ("infinite time", (HEADER + "a,x,inf\n").encode(), "not finite"),
    ("milliseconds", (HEADER + "a,x,1600000000000\n").encode(), "out of range"),
    ("year 1900", (HEADER + "a,x,1900-01-01T00:00:00Z\n").encode(), "out of range"),
    ("empty user", (HEADER + ",x,2020-01-01T00:00:00Z\n").encode(), "line 2"),
    ("bad latitude", b"user,time,latitude,longitude\na,2020-01-01T00:00:00Z,95,10\n", "latitude"),
    ("NaN longitude", b"user,time,latitude,longitude\na,2020-01-01T00:00:00Z,45,nan\n",
     "longitude"),
    ("DST ambiguous", (HEADER + "a,x,2021-10-31 02:30:00\n").encode(),
     "ambiguous or does not exist in Europe/Berlin"),
    ("not parquet", b"PAR1 but not really", "Parquet"),
]  # fmt: skip


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        socket.socket(socket.AF_UNIX).bind(str(path))
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    return path


@pytest.mark.parametrize(("case", "content", "says"), BAD_TRACES, ids=[c[0] for c in BAD_TRACES])
def test_a_bad_trace_is_named(
    case: str, content: bytes, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    path = tmp_path / ("trace.parquet" if case == "not parquet" else "trace.csv")
    path.write_bytes(content)
    zone = ["--timezone", "Europe/Berlin"] if case.startswith("DST") else []
    result = mcsim("mine", path, "--minsup", "0.5", "--out", tmp_path / "out", *zone, "--quiet")
    result.one_line_error(str(path), says)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("kind", "says"),
    [("fifo", "FIFO"), ("socket", "socket"), ("zero", "character device"), ("folder", "folder")],
)
def test_a_trace_that_is_not_a_regular_file_is_refused_at_once(
    kind: str, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    path = _special(tmp_path, kind)
    result = mcsim("mine", path, "--minsup", "0.5", "--out", tmp_path / "out", "--quiet")
    result.one_line_error(str(path), says)


def test_a_geolife_plt_that_is_a_device_is_refused(
    tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    folder = tmp_path / "geolife" / "000" / "Trajectory"
    folder.mkdir(parents=True)
    (folder / "a.plt").symlink_to("/dev/zero")
    result = mcsim("mine", tmp_path / "geolife", "--minsup", "0.5", "--out", tmp_path / "out")
    result.one_line_error("a.plt", "character device")


@pytest.mark.parametrize("where", ["a file", "inside a file"])
def test_an_out_that_cannot_be_a_folder_is_refused_before_work(
    where: str, tmp_path: Path, mcsim: Callable[..., Outcome], small: Path
) -> None:
    (tmp_path / "taken").write_text("a file")
    out = tmp_path / "taken" if where == "a file" else tmp_path / "taken" / "run"
    mcsim("run", small, "--out", out).one_line_error(str(out))
    trace = tmp_path / "t.csv"
    trace.write_text(HEADER + "a,x,2020-01-01T00:00:00Z\n")
    mcsim("mine", trace, "--minsup", "0.5", "--out", out).one_line_error(str(out))
    assert (tmp_path / "taken").read_text() == "a file"


def _checkpoint(tmp_path: Path, kind: str) -> Path:
    from generators.sensegen import SHIPPED_CHECKPOINT

    path = tmp_path / "model.pt"
    if kind == "truncated":
        path.write_bytes(SHIPPED_CHECKPOINT.read_bytes()[:5000])
    elif kind == "garbage":
        path.write_bytes(b"not a checkpoint" * 50)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        ckpt = torch.load(SHIPPED_CHECKPOINT, weights_only=True)
        if kind == "other format":
            ckpt["format"] = "sensegen-v0"
        elif kind == "missing key":
            del ckpt["normalization"]
        elif kind == "NaN weights":
            name = next(iter(ckpt["generator"]))
            ckpt["generator"][name] = torch.full_like(ckpt["generator"][name], float("nan"))
        elif kind == "unknown config key":
            ckpt["config"] = {**ckpt["config"], "wings": 2}
        elif kind == "wrong shapes":
            name = next(iter(ckpt["generator"]))
            ckpt["generator"][name] = torch.zeros(3, 3)
        elif kind == "pickled object":
            ckpt["config"] = np.dtype("float32")  # not loadable with weights_only=True
        torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("truncated", "not a readable torch checkpoint"),
        ("garbage", "not a readable torch checkpoint"),
        ("empty", "not a readable torch checkpoint"),
        ("other format", "expected a dict with format"),
        ("missing key", "missing keys ['normalization']"),
        ("NaN weights", "NaN or infinite"),
        ("unknown config key", "unknown keys ['wings']"),
        ("wrong shapes", "do not match"),
        ("pickled object", "not a readable torch checkpoint"),
    ],
)
def test_a_bad_sensor_checkpoint_is_named_before_any_job(
    kind: str, says: str, tmp_path: Path, mcsim: Callable[..., Outcome]
) -> None:
    path = _checkpoint(tmp_path, kind)
    scenario = tmp_path / "phones.yaml"
    scenario.write_text(SMALL.replace("sensor: none", f"sensor: {path.name}"))
    mcsim("run", scenario, "--out", tmp_path / "out", "--quiet").one_line_error(str(path), says)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other input", "folder"])
def test_a_damaged_mining_cache_is_rebuilt_with_a_warning_and_the_same_results(
    damage: str, tmp_path: Path, mcsim: Callable[..., Outcome], small: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cache = tmp_path / "cache"
    monkeypatch.setenv("MCSIM_CACHE_DIR", str(cache))
    assert mcsim("run", small, "--out", tmp_path / "clean", "--quiet").code == 0
    files = sorted(cache.glob("patterns-*.npz"))
    assert files
    for path in files:
        if damage == "garbage":
            path.write_bytes(b"junk")
        elif damage == "truncated":
            path.write_bytes(path.read_bytes()[:300])
        elif damage == "other input":
            path.write_bytes(files[0].read_bytes() if path != files[0] else b"x")
        else:
            path.unlink()
            path.mkdir()
    result = mcsim("run", small, "--out", tmp_path / "again", "--quiet")
    assert result.code == 0
    assert "mcsim: warning: pattern cache" in result.err and "Traceback" not in result.err
    # Every column but the timing: the same results.
    clean = pd.read_csv(
        tmp_path / "clean" / "metrics.csv", keep_default_na=False, na_values=[""]
    ).drop(columns="alloc_seconds")
    again = pd.read_csv(
        tmp_path / "again" / "metrics.csv", keep_default_na=False, na_values=[""]
    ).drop(columns="alloc_seconds")
    pd.testing.assert_frame_equal(again, clean)


def test_a_cache_dir_that_is_a_file_warns_and_runs(
    tmp_path: Path, mcsim: Callable[..., Outcome], small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cachefile").write_text("x")
    monkeypatch.setenv("MCSIM_CACHE_DIR", str(tmp_path / "cachefile"))
    result = mcsim("run", small, "--out", tmp_path / "out", "--quiet")
    assert result.code == 0 and "is not a folder; mining without a cache" in result.err
