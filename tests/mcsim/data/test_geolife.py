"""The GeoLife reader (mcsim.data.geolife) on small hand-written .plt files: fixes parsed to
the second in UTC, users from folder names, files merged in time order, and every bad input
named with its file, line and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mcsim.data.geolife import read_geolife, read_plt
from mcsim.errors import TraceError

HEADER = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n0,2,255,My Track,0,0,2,8421376\n0\n"


def plt_file(root: Path, user: str, name: str, rows: list[str]) -> Path:
    folder = root / user / "Trajectory"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_read_plt(tmp_path: Path) -> None:
    path = plt_file(
        tmp_path,
        "000",
        "20081023025304.plt",
        [
            "39.984702,116.318417,0,492,39744.1201851852,2008-10-23,02:53:04",
            "-33.5,-70.25,0,-777,39744.1202546296,2008-10-23,02:53:10",
        ],
    )
    fixes = read_plt(path, "000")
    assert list(fixes.columns) == ["user", "time", "latitude", "longitude"]
    assert fixes["user"].tolist() == ["000", "000"]
    assert fixes["time"].tolist() == [
        pd.Timestamp("2008-10-23T02:53:04Z"),
        pd.Timestamp("2008-10-23T02:53:10Z"),
    ]
    assert str(fixes["time"].dt.tz) == "UTC"
    assert fixes["latitude"].tolist() == [39.984702, -33.5]
    assert fixes["longitude"].tolist() == [116.318417, -70.25]


def test_read_geolife_merges_users_and_files_in_time_order(tmp_path: Path) -> None:
    # The later file name holds the earlier fixes: order comes from the times, not names.
    plt_file(tmp_path, "001", "b.plt", ["39.9,116.3,0,0,0,2008-10-23,08:00:00"])
    plt_file(
        tmp_path,
        "001",
        "a.plt",
        ["39.9,116.3,0,0,0,2008-10-23,09:00:00", "39.9,116.3,0,0,0,2008-10-23,10:00:00"],
    )
    plt_file(tmp_path, "000", "c.plt", ["40.0,116.4,0,0,0,2008-10-24,00:00:00"])
    (tmp_path / "notes").mkdir()  # not a user: no Trajectory folder
    fixes = read_geolife(tmp_path)
    assert fixes["user"].tolist() == ["000", "001", "001", "001"]
    assert [t.hour for t in fixes["time"]] == [0, 8, 9, 10]
    assert fixes.index.tolist() == [0, 1, 2, 3]
    # A single user's folder reads as that user.
    alone = read_geolife(tmp_path / "001")
    assert alone["user"].unique().tolist() == ["001"] and len(alone) == 3


def test_folder_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not a GeoLife dataset"):
        read_geolife(tmp_path)
    (tmp_path / "005" / "Trajectory").mkdir(parents=True)
    with pytest.raises(TraceError, match=r"no \.plt files") as info:
        read_geolife(tmp_path)
    assert info.value.path == str(tmp_path / "005" / "Trajectory")


BAD_ROWS = [
    # (data rows, line, column, message fragment)
    ([], None, None, "no fixes after the 6 header lines"),
    (["39.9,116.3,0,0,0,2008-10-23"], 7, None, "found 6"),
    (
        ["39.9,116.3,0,0,0,2008-10-23,02:53:04", "39.9,abc,0,0,0,2008-10-23,02:53:05"],
        8,
        "longitude",
        "longitude 'abc' is invalid",
    ),
    (["39.9,-180.5,0,0,0,2008-10-23,02:53:04"], 7, "longitude", "[-180, 180]"),
    (["-90.01,116.3,0,0,0,2008-10-23,02:53:04"], 7, "latitude", "[-90, 90]"),
    (
        ["39.9,116.3,0,0,0,2008-10-23,02:53:04", "39.9,116.3,0,0,0,23/10/2008,02:53:05"],
        8,
        "time",
        "cannot parse date/time '23/10/2008' '02:53:05'",
    ),
    (["39.9,116.3,0,0,0,2008-10-23,25:00:00"], 7, "time", "HH:MM:SS"),
]


@pytest.mark.parametrize(("rows", "line", "column", "fragment"), BAD_ROWS)
def test_bad_plt_names_line_and_column(
    tmp_path: Path, rows: list[str], line: int | None, column: str | None, fragment: str
) -> None:
    path = plt_file(tmp_path, "000", "x.plt", rows)
    with pytest.raises(TraceError) as info:
        read_plt(path, "000")
    error = info.value
    assert fragment in str(error)
    assert error.path == str(path)
    assert (error.row, error.column) == (line, column)


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such file"):
        read_plt(tmp_path / "absent.plt", "000")
    binary = tmp_path / "binary.plt"
    binary.write_bytes(HEADER.encode() + b"\x00\x01\x02")
    with pytest.raises(TraceError, match="binary"):
        read_plt(binary, "000")
