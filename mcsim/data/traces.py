"""Mobility traces: the validated (user, location, time) table and its loaders.

Everything downstream (cycles, mining, location models, simulated days) reads a :class:`Trace`,
so this module is the one place where raw files are checked. A bad file raises
:class:`~mcsim.errors.TraceError` naming the file, the line and the column, before anything
is written anywhere.

Three input layouts are understood (detected from the columns or the folder layout, or forced
with ``format=``):

* ``ap``: CSV or Parquet with columns ``user,location,time`` (AP-log style, like the paper's
  WTD data; optional ``end``, ``latitude``, ``longitude``);
* ``gps``: CSV or Parquet with columns ``user,time,latitude,longitude``;
* ``geolife``: a GeoLife folder ``<user>/Trajectory/*.plt`` (or one user's folder).

GPS fixes become discrete locations through stay-point detection followed by a fixed global
grid (:mod:`mcsim.data.geo`), so a location id means the same place for every user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mcsim.data.files import check_regular_file
from mcsim.data.geo import GridSpec, StayPointOptions, detect_stay_points
from mcsim.errors import TraceError

TraceFormat = Literal["ap", "gps", "geolife"]
MAX_TRACE_BYTES = 4 * 2**30  # [bytes] largest trace file read (4 GiB)
FORMATS: tuple[TraceFormat, ...] = ("ap", "gps", "geolife")

REQUIRED_COLUMNS = ("user", "location", "time")
GPS_COLUMNS = ("user", "time", "latitude", "longitude")
OPTIONAL_COLUMNS = ("end", "latitude", "longitude")

# Times outside this window are treated as corrupt (a unix time in ms read as s, a year typo).
EARLIEST = pd.Timestamp("1980-01-01", tz="UTC")
LATEST = pd.Timestamp("2100-01-01", tz="UTC")


@dataclass(frozen=True, eq=False)
class Trace:
    """A validated mobility trace, one row per sighting (AP log) or visit (stay).

    Columns of :attr:`frame`:

    * ``user``, ``location``: categorical string ids;
    * ``time``: tz-aware UTC timestamp of the sighting or of the arrival;
    * ``end`` (optional): departure time of a visit (``>= time``);
    * ``latitude``, ``longitude`` (optional): WGS 84 degrees of the sighting or stay.

    Rows are sorted by user then time. Build one with :meth:`from_frame` (which validates) or a
    loader; the constructor itself trusts its input.
    """

    frame: pd.DataFrame
    source: str = "<memory>"

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "<memory>") -> Trace:
        """Validate and normalise a table into a trace.

        Raises:
            TraceError: naming ``source``, the offending row (1-based data row) and column.
        """
        return cls(_normalise(frame, source), source)

    @property
    def users(self) -> pd.Index:
        """User ids present in the trace, in sorted order."""
        return self.frame["user"].cat.categories

    @property
    def locations(self) -> pd.Index:
        """Location ids present in the trace, in sorted order."""
        return self.frame["location"].cat.categories

    @property
    def has_coordinates(self) -> bool:
        return "latitude" in self.frame.columns

    def __len__(self) -> int:
        return len(self.frame)

    def location_coordinates(self) -> pd.DataFrame:
        """Mean latitude/longitude per location (empty columns when the trace has none)."""
        if not self.has_coordinates:
            return pd.DataFrame(
                {"latitude": np.nan, "longitude": np.nan}, index=self.locations
            ).rename_axis("location")
        return (
            self.frame.groupby("location", observed=False)[["latitude", "longitude"]]
            .mean()
            .reindex(self.locations)
        )

    def select_users(self, users: Iterable[str]) -> Trace:
        """The sub-trace of the given users (categories trimmed to what remains)."""
        keep = self.frame["user"].isin(list(users))
        frame = self.frame.loc[keep].copy()
        for column in ("user", "location"):
            frame[column] = frame[column].cat.remove_unused_categories()
        return Trace(frame.reset_index(drop=True), self.source)

    def to_parquet(self, path: str | Path) -> None:
        self.frame.to_parquet(path, index=False)


def load_trace(
    path: str | Path,
    *,
    format: TraceFormat | None = None,  # mirrors the CLI's --format
    stay_points: StayPointOptions | None = None,
    grid: GridSpec | None = None,
    timezone: str = "UTC",
) -> Trace:
    """Load a trace file or folder, detecting its layout unless ``format`` forces one.

    Args:
        path: a CSV/Parquet file, or a GeoLife folder.
        format: ``ap``, ``gps`` or ``geolife``; ``None`` detects it.
        stay_points: stay-point thresholds for GPS input (documented defaults otherwise).
        grid: the spatial grid that turns stay points into location ids.
        timezone: zone of naive timestamps in the file (aware ones keep their own).

    Raises:
        TraceError: the file, line and column at fault, and what was expected.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise TraceError(
            f"unknown trace format {format!r}; expected one of {', '.join(FORMATS)}", path=path
        )
    if not path.exists():
        raise TraceError("no such file or folder", path=path)
    if path.is_dir():
        if format not in (None, "geolife"):
            raise TraceError(
                f"is a folder, but format {format!r} expects a CSV or Parquet file", path=path
            )
        from mcsim.data.geolife import read_geolife

        fixes = read_geolife(path)
        return _gps_to_trace(fixes, str(path), stay_points, grid)
    if format == "geolife":
        raise TraceError("format 'geolife' expects a folder of <user>/Trajectory/*.plt", path=path)
    table = _read_table(path)
    kind = format or _detect_format(table, path)
    if kind == "gps":
        _require_columns(table, GPS_COLUMNS, path, kind)
        fixes = _validate_gps(table, str(path), timezone)
        return _gps_to_trace(fixes, str(path), stay_points, grid)
    _require_columns(table, REQUIRED_COLUMNS, path, kind)
    return Trace(
        _normalise(table, str(path), timezone=timezone, line_offset=_line_offset(path)), str(path)
    )


def _line_offset(path: Path) -> int:
    """Row i (0-based) of a CSV data table sits on line i + 2 (after the header)."""
    return 2 if path.suffix.lower() != ".parquet" else 1


def _read_table(path: Path) -> pd.DataFrame:
    """Read CSV or Parquet as strings/objects, turning parser failures into TraceErrors."""
    size = check_regular_file(
        path, max_bytes=MAX_TRACE_BYTES, expected="a CSV or Parquet trace", error=TraceError
    )
    if size == 0:
        raise TraceError("file is empty; expected a header line and rows", path=path)
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise TraceError(f"not a readable Parquet file ({exc})", path=path) from exc
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise TraceError("looks like a binary file; expected CSV text", path=path)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte char cut at the block end is fine
            raise TraceError("is not UTF-8 text; expected CSV", path=path) from exc
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise TraceError(
            f"malformed CSV: {_ragged_message(exc)}", path=path, row=_ragged_line(exc)
        ) from exc
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot be read as CSV ({exc})", path=path) from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    if table.empty:
        raise TraceError("has a header but no rows", path=path)
    # A short row leaves trailing fields empty: report it as ragged rather than as a bad value.
    return table


def _ragged_line(exc: Exception) -> int | None:
    import re

    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _ragged_message(exc: Exception) -> str:
    import re

    match = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", str(exc))
    if match:
        return f"expected {match.group(1)} fields as in the header, found {match.group(2)}"
    return str(exc).strip()


def _detect_format(table: pd.DataFrame, path: Path) -> TraceFormat:
    columns = set(table.columns)
    if set(REQUIRED_COLUMNS) <= columns:
        return "ap"
    if set(GPS_COLUMNS) <= columns:
        return "gps"
    raise TraceError(
        f"cannot tell the trace format from columns {sorted(columns)}; expected "
        f"{','.join(REQUIRED_COLUMNS)} (AP log) or {','.join(GPS_COLUMNS)} (GPS)",
        path=path,
    )


def _require_columns(table: pd.DataFrame, needed: Iterable[str], path: Path, kind: str) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise TraceError(
            f"missing column(s) {', '.join(missing)} for format {kind!r}; found "
            f"{', '.join(map(str, table.columns))}",
            path=path,
        )


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def parse_times(
    values: pd.Series, source: str, column: str, *, timezone: str = "UTC", line_offset: int = 1
) -> pd.Series:
    """Parse ISO 8601 strings or unix seconds into tz-aware UTC timestamps.

    Naive ISO strings are read in ``timezone``. Raises a TraceError at the first unparsable or
    out-of-range value (before 1980 or after 2100: usually milliseconds read as seconds).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        times = values
        if times.dt.tz is None:
            times = times.dt.tz_localize(timezone)
        times = times.dt.tz_convert("UTC")
    else:
        text = values.astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        is_number = numeric.notna().to_numpy()
        infinite = is_number & ~np.isfinite(numeric.to_numpy(dtype=float))
        if infinite.any():
            row = _first_bad(infinite)
            raise TraceError(
                f"time {text.iloc[row]!r} is not finite; expected unix seconds",
                path=source,
                row=row + line_offset,
                column=column,
            )
        times = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        if is_number.any():
            # Out-of-range seconds (e.g. milliseconds) saturate to the range check below.
            seconds = numeric[is_number].clip(-9e9, 9e9)  # within datetime64[ns]
            times[is_number] = pd.to_datetime(seconds, unit="s", utc=True)
        if (~is_number).any():
            times[~is_number] = _parse_iso(text[~is_number], timezone)
        bad = times.isna().to_numpy()
        if bad.any():
            row = _first_bad(bad)
            raise TraceError(
                _unparsable_time(text.iloc[row], timezone),
                path=source,
                row=row + line_offset,
                column=column,
            )
    times = times.astype("datetime64[ns, UTC]")
    out_of_range = ((times < EARLIEST) | (times >= LATEST)).to_numpy()
    if out_of_range.any():
        row = _first_bad(out_of_range)
        raise TraceError(
            f"time {times.iloc[row]} is out of range; expected a date between "
            f"{EARLIEST.date()} and {LATEST.date()} (milliseconds given as seconds?)",
            path=source,
            row=row + line_offset,
            column=column,
        )
    return times.reset_index(drop=True)


def _unparsable_time(text: str, timezone: str) -> str:
    """Why ``text`` is not a time: not ISO 8601, or a local time a DST change skips/repeats."""
    naive = pd.to_datetime(pd.Series([text]), errors="coerce", format="ISO8601")
    if naive.notna().all() and timezone != "UTC":
        return (
            f"local time {text!r} is ambiguous or does not exist in {timezone} (a daylight-"
            "saving change repeats or skips it); expected a time with its UTC offset, "
            "e.g. 2008-10-26T02:30:00+01:00"
        )
    return (
        f"cannot parse time {text!r}; expected ISO 8601 (e.g. 2008-10-23T02:53:04Z) or unix seconds"
    )


def _parse_iso(text: pd.Series, timezone: str) -> pd.Series:
    """ISO 8601 with or without offsets; naive values are read in ``timezone``."""
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    if timezone != "UTC" and (~has_zone).any():
        naive = pd.to_datetime(text[~has_zone], errors="coerce", format="ISO8601")
        parsed.loc[~has_zone] = naive.dt.tz_localize(
            timezone, ambiguous="NaT", nonexistent="NaT"
        ).dt.tz_convert("UTC")
    return parsed


def _parse_coordinates(
    table: pd.DataFrame, source: str, line_offset: int
) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (np.abs(values) > limit)
        if bad.any():
            row = _first_bad(bad)
            raise TraceError(
                f"{column} {table[column].iloc[row]!r} is invalid; expected a finite number "
                f"in [-{limit:g}, {limit:g}] degrees",
                path=source,
                row=row + line_offset,
                column=column,
            )
        out.append(values)
    return out[0], out[1]


def _check_ids(table: pd.DataFrame, column: str, source: str, line_offset: int) -> pd.Series:
    ids = table[column].astype(str).str.strip()
    empty = (ids == "") | ids.str.lower().isin(["nan", "none", "null"])
    if empty.any():
        row = _first_bad(empty.to_numpy())
        raise TraceError(
            f"empty {column} id; every row needs a {column}",
            path=source,
            row=row + line_offset,
            column=column,
        )
    return ids


def _normalise(
    table: pd.DataFrame, source: str, *, timezone: str = "UTC", line_offset: int = 1
) -> pd.DataFrame:
    """Validate an AP-log/visit table and return the canonical sorted frame."""
    for column in REQUIRED_COLUMNS:
        if column not in table.columns:
            raise TraceError(
                f"missing column {column!r}; expected {', '.join(REQUIRED_COLUMNS)}", path=source
            )
    if len(table) == 0:
        raise TraceError("trace has no rows", path=source)
    table = table.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "user": _check_ids(table, "user", source, line_offset),
            "location": _check_ids(table, "location", source, line_offset),
            "time": parse_times(
                table["time"], source, "time", timezone=timezone, line_offset=line_offset
            ),
        }
    )
    if "end" in table.columns:
        out["end"] = parse_times(
            table["end"], source, "end", timezone=timezone, line_offset=line_offset
        )
        backwards = (out["end"] < out["time"]).to_numpy()
        if backwards.any():
            row = _first_bad(backwards)
            raise TraceError(
                "visit ends before it starts; expected end >= time",
                path=source,
                row=row + line_offset,
                column="end",
            )
    if "latitude" in table.columns or "longitude" in table.columns:
        _require_columns(table, ("latitude", "longitude"), Path(source), "ap")
        out["latitude"], out["longitude"] = _parse_coordinates(table, source, line_offset)
    return _canonical(out)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by user and time and store ids as categoricals (compact, fast group-bys)."""
    frame = frame.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    for column in ("user", "location"):
        frame[column] = pd.Categorical(frame[column].astype(str))
    return frame


def _validate_gps(table: pd.DataFrame, source: str, timezone: str) -> pd.DataFrame:
    table = table.reset_index(drop=True)
    offset = _line_offset(Path(source))
    latitude, longitude = _parse_coordinates(table, source, offset)
    return pd.DataFrame(
        {
            "user": _check_ids(table, "user", source, offset),
            "time": parse_times(
                table["time"], source, "time", timezone=timezone, line_offset=offset
            ),
            "latitude": latitude,
            "longitude": longitude,
        }
    )


def _gps_to_trace(
    fixes: pd.DataFrame,
    source: str,
    stay_points: StayPointOptions | None,
    grid: GridSpec | None,
) -> Trace:
    """GPS fixes -> stay points -> grid-cell visits (user, location, time, end, lat, lon)."""
    stays = detect_stay_points(fixes, stay_points or StayPointOptions())
    if stays.empty:
        raise TraceError(
            "no stay points found in the GPS fixes; expected users to stay put for at least "
            f"{(stay_points or StayPointOptions()).min_duration_s / 60:g} min "
            "(lower the stay-point thresholds?)",
            path=source,
        )
    grid = grid or GridSpec()
    stays["location"] = grid.cell_ids(stays["latitude"].to_numpy(), stays["longitude"].to_numpy())
    return Trace(
        _canonical(stays[["user", "location", "time", "end", "latitude", "longitude"]]), source
    )
