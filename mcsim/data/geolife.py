"""Reader of Microsoft GeoLife trajectory folders (``<user>/Trajectory/*.plt``).

Kept apart from :mod:`mcsim.data.traces` because the layout is one dataset's: six header lines,
then ``lat,lon,0,altitude_ft,days_since_1899,date,time`` in UTC, one fix every 1-5 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mcsim.data.files import check_regular_file
from mcsim.errors import TraceError

MAX_PLT_BYTES = 256 * 2**20  # [bytes] largest .plt file read (real ones are < 1 MB)
HEADER_LINES = 6
PLT_FIELDS = 7


def _user_folders(root: Path) -> list[tuple[str, Path]]:
    """(user id, Trajectory folder) pairs of a dataset root, or of a single user's folder."""
    if (root / "Trajectory").is_dir():
        return [(root.name, root / "Trajectory")]
    users = sorted(
        (child.name, child / "Trajectory")
        for child in root.iterdir()
        if (child / "Trajectory").is_dir()
    )
    if not users:
        raise TraceError(
            "is a folder but not a GeoLife dataset; expected <user>/Trajectory/*.plt", path=root
        )
    return users


def read_plt(path: Path, user: str) -> pd.DataFrame:
    """One .plt file as fixes (user, time, latitude, longitude), validated line by line."""
    check_regular_file(
        path, max_bytes=MAX_PLT_BYTES, expected="a GeoLife .plt file", error=TraceError
    )
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"cannot be read ({exc.strerror})", path=path) from exc
    if b"\x00" in text[:8192]:
        raise TraceError("looks like a binary file; expected GeoLife .plt text", path=path)
    lines = text.decode("utf-8", errors="replace").splitlines()[HEADER_LINES:]
    if not lines:
        raise TraceError(f"has no fixes after the {HEADER_LINES} header lines", path=path)
    fields = [line.split(",") for line in lines]
    for number, line_fields in enumerate(fields, start=HEADER_LINES + 1):
        if len(line_fields) != PLT_FIELDS:
            raise TraceError(
                f"expected {PLT_FIELDS} comma-separated fields "
                f"(lat,lon,0,altitude,days,date,time), found {len(line_fields)}",
                path=path,
                row=number,
            )
    table = pd.DataFrame(fields, columns=["lat", "lon", "zero", "alt", "days", "date", "clock"])
    lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=float)
    for name, values, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        bad = ~np.isfinite(values) | (np.abs(values) > limit)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise TraceError(
                f"{name} {fields[first][0 if name == 'latitude' else 1]!r} is invalid; expected "
                f"a finite number in [-{limit:g}, {limit:g}]",
                path=path,
                row=first + HEADER_LINES + 1,
                column=name,
            )
    times = pd.to_datetime(
        table["date"] + " " + table["clock"].str.strip(),
        format="%Y-%m-%d %H:%M:%S",
        errors="coerce",
        utc=True,
    )
    bad_time = times.isna().to_numpy()
    if bad_time.any():
        first = int(np.flatnonzero(bad_time)[0])
        raise TraceError(
            f"cannot parse date/time {fields[first][5]!r} {fields[first][6]!r}; "
            "expected YYYY-MM-DD and HH:MM:SS",
            path=path,
            row=first + HEADER_LINES + 1,
            column="time",
        )
    return pd.DataFrame({"user": user, "time": times, "latitude": lat, "longitude": lon})


def read_geolife(root: Path) -> pd.DataFrame:
    """All fixes of a GeoLife folder, sorted by user and time."""
    frames: list[pd.DataFrame] = []
    for user, folder in _user_folders(root):
        files = sorted(folder.glob("*.plt"))
        if not files:
            raise TraceError("user folder has no .plt files", path=folder)
        frames.extend(read_plt(f, user) for f in files)
    fixes = pd.concat(frames, ignore_index=True)
    return fixes.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
