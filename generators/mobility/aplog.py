"""The AP-log form of a visit trace: one sighting every probe interval while connected.

Why a module of its own: the paper's WTD trace is an AP log (a PDA probing its AP every 20 s),
while the generator produces visits with an ``end``; :func:`to_ap_log` converts one into the
other for any Trace (synthetic or real, with or without virtual users), so it depends on the
Trace format only, not on how the visits were made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mcsim.data.traces import Trace


def to_ap_log(trace: Trace, interval_s: float = 20.0, *, max_rows: int = 50_000_000) -> Trace:
    """The AP-log form of a visit trace: one sighting every ``interval_s`` while connected.

    This is the shape of the paper's WTD trace (a PDA probing its AP every 20 s). A visit from
    ``t`` to ``end`` gives sightings at ``t, t + interval_s, ...`` up to ``end``, so the rows are
    about (total connected time) / interval_s: with the campus defaults a user is seen about
    16 h a day, i.e. ~2,900 rows per active user-day; the WTD preset (68 users x 30 days) gives
    about 4 M rows, and 100,000 users would give billions: keep to small populations.

    Raises:
        ValueError: when the trace has no ``end`` column or the result would exceed ``max_rows``.
    """
    frame = trace.frame
    if "end" not in frame.columns:
        raise ValueError("to_ap_log needs visits with an 'end' column")
    if not interval_s > 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    ns = round(interval_s * 1e9)
    t0 = frame["time"].to_numpy("M8[ns]").view(np.int64)
    t1 = frame["end"].to_numpy("M8[ns]").view(np.int64)
    counts = (t1 - t0) // ns + 1
    total = int(counts.sum())
    if total > max_rows:
        raise ValueError(
            f"the AP log would have {total:,} rows (> max_rows={max_rows:,}); "
            "use fewer users or days, a longer interval, or the visit form"
        )
    row = np.repeat(np.arange(len(frame)), counts)
    step = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    times = t0[row] + step * ns
    out: dict[str, Any] = {
        column: _repeat_codes(frame[column], row) for column in ("user", "location")
    }
    out["time"] = pd.Series(times.view("M8[ns]")).dt.tz_localize("UTC")
    for column in ("latitude", "longitude"):
        if column in frame.columns:
            out[column] = frame[column].to_numpy()[row]
    log = pd.DataFrame(out)
    if not _sorted_by_user_time(log):
        log = log.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    return Trace(log, trace.source)


def _sorted_by_user_time(frame: pd.DataFrame) -> bool:
    """Whether the rows are sorted by user code, then time within each user."""
    user = frame["user"].cat.codes.to_numpy()
    t = frame["time"].to_numpy("M8[ns]").view(np.int64)
    same = user[1:] == user[:-1]
    return bool((user[1:] >= user[:-1]).all() and (t[1:][same] >= t[:-1][same]).all())


def _repeat_codes(column: pd.Series, row: np.ndarray) -> pd.Categorical[Any]:
    """The categorical ``column`` at positions ``row``, with the same categories."""
    dtype = column.dtype
    if not isinstance(dtype, pd.CategoricalDtype):
        raise TypeError(f"column {column.name!r} must be categorical, got {dtype}")
    return pd.Categorical.from_codes(column.cat.codes.to_numpy()[row], dtype=dtype)
