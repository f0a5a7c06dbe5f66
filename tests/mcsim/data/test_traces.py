"""Trace loading: formats, GPS to locations, and every bad input named precisely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcsim.data.geo import GridSpec, StayPointOptions, detect_stay_points, haversine_m
from mcsim.data.traces import Trace, load_trace
from mcsim.errors import TraceError

AP_CSV = """user,location,time
alice,AP1,2024-03-01T08:00:00Z
alice,AP2,2024-03-01T09:00:00Z
bob,AP1,1709283600
alice,AP1,2024-03-01T07:00:00+00:00
"""


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ap_csv_loads_sorted_with_tz_aware_times(tmp_path: Path) -> None:
    trace = load_trace(write(tmp_path, AP_CSV))
    frame = trace.frame
    assert list(frame.columns) == ["user", "location", "time"]
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(frame["user"]) == ["alice", "alice", "alice", "bob"]
    alice = frame[frame["user"] == "alice"]["time"]
    assert alice.is_monotonic_increasing
    assert list(trace.locations) == ["AP1", "AP2"]
    assert frame.loc[3, "time"] == pd.Timestamp("2024-03-01T09:00:00Z")


def test_naive_times_are_read_in_the_given_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "user,location,time\nu,a,2024-03-01 08:00:00\n")
    trace = load_trace(path, timezone="Asia/Shanghai")
    assert trace.frame.loc[0, "time"] == pd.Timestamp("2024-03-01T00:00:00Z")


def test_parquet_roundtrip(tmp_path: Path) -> None:
    trace = load_trace(write(tmp_path, AP_CSV))
    trace.to_parquet(tmp_path / "t.parquet")
    again = load_trace(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(again.frame, trace.frame, check_dtype=False)


def test_gps_csv_becomes_stay_point_visits(tmp_path: Path) -> None:
    # Two users standing 30 min at the same spot, then 30 min 2 km away.
    rows = ["user,time,latitude,longitude"]
    for user, jitter in (("u1", 0.0), ("u2", 0.0001)):
        rows += [f"{user},{1_700_000_000 + m * 60},{39.9 + jitter},116.3" for m in range(31)]
        rows += [f"{user},{1_700_000_000 + m * 60},39.918,{116.3 + jitter}" for m in range(40, 71)]
    trace = load_trace(write(tmp_path, "\n".join(rows) + "\n"))
    frame = trace.frame
    assert set(frame.columns) >= {"user", "location", "time", "end", "latitude", "longitude"}
    assert len(frame) == 4
    # The same place gets the same id for both users: the grid is global.
    u1 = list(frame[frame.user == "u1"].location)
    u2 = list(frame[frame.user == "u2"].location)
    assert u1 == u2 and u1[0] != u1[1]
    assert (frame["end"] - frame["time"]).min() >= pd.Timedelta(minutes=30)


def test_stay_points_respect_thresholds() -> None:
    times = pd.Series(pd.to_datetime(np.arange(0, 600, 10), unit="s", utc=True))
    fixes = pd.DataFrame({"user": "u", "time": times, "latitude": 10.0, "longitude": 10.0})
    assert len(detect_stay_points(fixes, StayPointOptions(min_duration_s=600))) == 0
    assert len(detect_stay_points(fixes, StayPointOptions(min_duration_s=590))) == 1


def test_grid_cells_are_about_the_requested_size() -> None:
    grid = GridSpec(200.0)
    row, col = 22268, 49591
    lat, lon = grid.centre(row, col)
    assert grid.cells(np.array([lat]), np.array([lon])) == (row, col)
    lat2, lon2 = grid.centre(row, col + 1)
    assert haversine_m(lat, lon, lat2, lon2) == pytest.approx(200.0, rel=0.01)


def test_geolife_real_sample(geolife_dir: Path) -> None:
    trace = load_trace(geolife_dir)
    assert len(trace.users) == 11
    assert trace.has_coordinates
    assert (trace.frame["end"] >= trace.frame["time"]).all()
    # Beijing, as the dataset says.
    assert trace.frame["latitude"].between(39, 41).all()


def test_geolife_single_user_folder(geolife_dir: Path) -> None:
    trace = load_trace(geolife_dir / "001")
    assert list(trace.users) == ["001"]


def test_from_frame_validates() -> None:
    frame = pd.DataFrame({"user": ["u"], "location": ["a"], "time": ["2024-01-01T00:00:00Z"]})
    assert len(Trace.from_frame(frame)) == 1
    with pytest.raises(TraceError, match="missing column 'location'"):
        Trace.from_frame(frame.drop(columns="location"))


BAD_INPUTS = [
    # (file text, expected row, expected column, message fragment)
    ("user,time\nu,2024-01-01\n", None, None, "cannot tell the trace format"),
    ("user,location,time\nu,a,yesterday\n", 2, "time", "cannot parse time 'yesterday'"),
    ("user,location,time\nu,a,2024-01-01\nu,b,1709283600000\n", 3, "time", "out of range"),
    ("user,location,time\nu,a,1850-01-01\n", 2, "time", "out of range"),
    ("user,location,time\nu,a,2024-01-01\n,b,2024-01-02\n", 3, "user", "empty user id"),
    ("user,location,time\nu,a,2024-01-01\nu,b,2024-01-02,extra\n", 3, None, "expected 3 fields"),
    ("user,location,time\nu,,2024-01-01\n", 2, "location", "empty location id"),
    ("user,location,time\n", None, None, "no rows"),
    ("user,time,latitude,longitude\nu,2024-01-01,nan,3\n", 2, "latitude", "finite number"),
    ("user,time,latitude,longitude\nu,2024-01-01,1,inf\n", 2, "longitude", "finite number"),
    ("user,time,latitude,longitude\nu,2024-01-01,91,3\n", 2, "latitude", "[-90, 90]"),
    ("user,location,time,end\nu,a,2024-01-02,2024-01-01\n", 2, "end", "ends before"),
    ("user,location,time,latitude\nu,a,2024-01-01,3\n", None, None, "longitude"),
]


@pytest.mark.parametrize(("text", "row", "column", "fragment"), BAD_INPUTS)
def test_bad_trace_names_file_row_and_column(
    tmp_path: Path, text: str, row: int | None, column: str | None, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TraceError) as info:
        load_trace(path)
    error = info.value
    assert fragment in str(error)
    assert error.path == str(path)
    assert str(path) in str(error)
    if row is not None:
        assert error.row == row and f"line {row}" in str(error)
    if column is not None:
        assert error.column == column


def test_empty_binary_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="empty"):
        load_trace(write(tmp_path, ""))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(TraceError, match="binary"):
        load_trace(binary)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("user,location,time\nJos\u00e9,caf\u00e9,2024-01-01\n".encode("latin-1"))
    with pytest.raises(TraceError, match="not UTF-8"):
        load_trace(latin1)
    with pytest.raises(TraceError, match="no such file"):
        load_trace(tmp_path / "absent.csv")
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(TraceError, match="not a GeoLife dataset"):
        load_trace(folder)
    with pytest.raises(TraceError, match="expects a CSV"):
        load_trace(folder, format="ap")


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(TraceError, match="Parquet"):
        load_trace(path)


def test_format_can_be_forced(tmp_path: Path) -> None:
    path = write(tmp_path, AP_CSV)
    with pytest.raises(TraceError, match="missing column"):
        load_trace(path, format="gps")
    with pytest.raises(TraceError, match="unknown trace format"):
        load_trace(path, format="kml")  # type: ignore[arg-type]


def test_bad_geolife_plt(tmp_path: Path) -> None:
    folder = tmp_path / "007" / "Trajectory"
    folder.mkdir(parents=True)
    header = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n0,2,255\n0\n"
    plt = folder / "20081023025304.plt"
    plt.write_text(
        header + "39.98,116.31,0,492,39744.12,2008-10-23,02:53:04\n"
        "39.98,116.31,0,492,39744.12,2008-10-23\n"
    )
    with pytest.raises(TraceError) as info:
        load_trace(tmp_path)
    assert info.value.row == 8 and "7 comma-separated fields" in str(info.value)
    plt.write_text(header + "99.98,116.31,0,492,39744.12,2008-10-23,02:53:04\n")
    with pytest.raises(TraceError, match=r"latitude '99\.98'"):
        load_trace(tmp_path)
