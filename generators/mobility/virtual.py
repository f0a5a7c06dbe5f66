"""Virtual users: more users for any trace, by resampling its real users' days.

Why a module of its own: :func:`extend_trace` works on any Trace (the synthetic campus, the
real WTD or GeoLife traces), not on the generator's routines; it is how the paper went from 68
to 168 users and from 124 to 284 APs (clones of neighbourhoods), so it depends on the trace
format and cycle cutting only (and on :func:`~generators.mobility.aplog.to_ap_log` to return an
AP log in the input's form).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from generators.mobility.aplog import to_ap_log
from generators.mobility.config import HOUR
from mcsim.data.geo import METERS_PER_DEGREE_LAT
from mcsim.data.traces import Trace
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles

# One replayed day of a virtual user: (cycle, locations, arrivals, departures), times in
# seconds after the cycle's start.
VirtualDay = tuple[int, np.ndarray, np.ndarray, np.ndarray]


def extend_trace(
    trace: Trace,
    k: int,
    seed: int,
    *,
    new_locations: int = 0,
    options: CycleOptions | None = None,
    jitter_s: float = 600.0,
    p_drop: float = 0.05,
    p_explore: float = 0.03,
    neighbour_m: tuple[float, float] = (30.0, 150.0),
) -> Trace:
    """Add ``k`` virtual users drawn from a trace's own statistics (the paper's 68 -> 168).

    Each virtual user copies a *template* real user (uniformly chosen) by bootstrapping whole
    days: on every calendar cycle of the template's observed span (its first to its last valid
    cycle, so the copy lives in the same weeks) it is active with the template's rate
    N(u) / (span length), and an active cycle replays one of the template's cycles of the same
    kind (weekday or weekend). Resampling whole days keeps, jointly and without a model
    that could get them wrong, the template's visits per day, location frequencies, transitions
    and arrival/dwell times. Noise makes the copies distinct: the day is shifted by
    N(0, ``jitter_s``), each dwell and gap is scaled by a log-normal factor (sd 0.15), interior
    visits are dropped with ``p_drop``, and a visit goes to a popularity-drawn location instead
    with ``p_explore``.

    New locations (the paper's 124 -> 284 APs) are *clones of neighbourhoods*: clone j is a new
    AP ``neighbour_m`` metres from a source location, and its owner (virtual user j mod k) goes
    to the clone wherever its template went to the source. Sources are picked among places the
    owner actually visits (weighted by visits), so every new location appears in the result
    and carries the same repetitive role (a neighbouring dorm, another lecture room) as its
    source. Ids continue the trace's numbering when it has one (``AP0124`` -> ``AP0125``).

    Args:
        trace: the real trace (visits with ``end``, or an AP log); its rows are kept as they are.
        k: number of virtual users; their ids (``v0001``...) never clash with real ones.
        seed: seeds one SeedSequence child per virtual user.
        new_locations: clone locations to add (0: virtual users use the real locations only).
        options: how to cut the trace into days (use the trace's time zone).
        jitter_s: [s] standard deviation of a virtual day's time shift.
        p_drop: probability of dropping an interior visit of a replayed day.
        p_explore: probability of sending a visit to a random (popularity-weighted) location.
        neighbour_m: [m] range of a clone's distance from its source.

    Returns:
        A trace with the original rows (values unchanged) and the virtual users' rows, in the
        input's form: visits if it has ``end``, otherwise an AP log at its median sighting
        interval.
    """
    if k < 0 or new_locations < 0:
        raise ValueError("k and new_locations must be >= 0")
    if new_locations and k == 0:
        raise ValueError("new locations need virtual users to visit them")
    if new_locations and not trace.has_coordinates:
        raise ValueError("cloning locations needs a trace with coordinates")
    if k == 0:
        return trace
    options = options or CycleOptions()
    days = _draw_virtual_days(cut_cycles(trace, options), k, seed, jitter_s, p_drop, p_explore)
    real_locations = [str(x) for x in trace.locations]
    clone_ids = _fresh_ids(real_locations, new_locations, "L")
    coords = trace.location_coordinates() if trace.has_coordinates else None
    lat = list(coords["latitude"]) if coords is not None else []
    lon = list(coords["longitude"]) if coords is not None else []
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    mapping = _clone_locations(rng, days, len(real_locations), new_locations, lat, lon, neighbour_m)
    user_ids = _fresh_ids([str(x) for x in trace.users], k, "v")
    virtual = _virtual_frame(
        days,
        mapping,
        user_ids,
        real_locations + clone_ids,
        lat,
        lon,
        options,
        trace.has_coordinates,
    )
    if "end" not in trace.frame.columns:
        virtual = to_ap_log(Trace(virtual), _median_interval(trace), max_rows=2**62).frame
    return _merge(trace, virtual)


def _draw_virtual_days(
    cycles: CycleTable, k: int, seed: int, jitter_s: float, p_drop: float, p_explore: float
) -> list[list[VirtualDay]]:
    """The replayed days of ``k`` virtual users, each from its own SeedSequence child."""
    starts, stops = cycles.user_bounds()
    templates = np.flatnonzero(stops > starts)
    if templates.size == 0:
        raise ValueError("the trace has no valid cycle to resample")
    weekend = np.asarray(cycles.start_times().day_of_week >= 5)
    popularity = np.bincount(cycles.location, minlength=len(cycles.locations)).astype(float)
    children = np.random.SeedSequence(seed).spawn(k)
    return [
        _virtual_days(
            np.random.default_rng(child),
            cycles,
            templates,
            starts,
            stops,
            weekend,
            popularity,
            jitter_s,
            p_drop,
            p_explore,
        )
        for child in children
    ]


def _virtual_days(
    rng: np.random.Generator,
    cycles: CycleTable,
    templates: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    weekend: np.ndarray,
    popularity: np.ndarray,
    jitter_s: float,
    p_drop: float,
    p_explore: float,
) -> list[VirtualDay]:
    """(cycle, locations, arrivals, departures) of one virtual user's active cycles."""
    template = int(rng.choice(templates))
    own = np.arange(starts[template], stops[template])
    own_cycles = cycles.cycle[own]
    rate = len(own) / (own_cycles.max() - own_cycles.min() + 1)
    span = np.arange(own_cycles.min(), own_cycles.max() + 1)
    length = cycles.options.length_s
    weekday_of = pd.DatetimeIndex(
        pd.to_datetime(span * length + cycles.options.origin_hour * HOUR, unit="s")
    ).day_of_week.to_numpy()
    out = []
    for cycle, dow in zip(span, weekday_of, strict=True):
        if rng.random() >= rate:
            continue
        same_kind = own[weekend[own] == (dow >= 5)]
        i = int(rng.choice(same_kind if len(same_kind) else own))
        sl = slice(cycles.offsets[i], cycles.offsets[i + 1])
        loc = cycles.location[sl].copy()
        arr = cycles.arrival[sl].astype(float)
        dep = cycles.departure[sl].astype(float)
        keep = np.ones(len(loc), dtype=bool)
        keep[1:-1] = rng.random(max(len(loc) - 2, 0)) >= p_drop
        loc, arr, dep = loc[keep], arr[keep], dep[keep]
        wander = rng.random(len(loc)) < p_explore
        if wander.any():
            loc[wander] = rng.choice(len(popularity), wander.sum(), p=popularity / popularity.sum())
        dwell = (dep - arr) * rng.lognormal(0.0, 0.15, len(loc))
        gaps = np.diff(arr) - (dep[:-1] - arr[:-1])
        gaps = np.maximum(gaps, 0.0) * rng.lognormal(0.0, 0.15, len(gaps))
        first = arr[0] if arr[0] <= 0 else max(0.0, arr[0] + rng.normal(0.0, jitter_s))
        new_arr = first + np.concatenate(([0.0], np.cumsum(dwell[:-1] + gaps)))
        new_dep = new_arr + dwell
        if dep[-1] >= length:  # the night at home continues into the next cycle
            new_dep[-1] = length
        inside = new_arr < length
        out.append((int(cycle), loc[inside], new_arr[inside], np.minimum(new_dep[inside], length)))
    return out


def _clone_locations(
    rng: np.random.Generator,
    days: list[list[VirtualDay]],
    n_real: int,
    n_new: int,
    lat: list[float],
    lon: list[float],
    neighbour_m: tuple[float, float],
) -> list[dict[int, int]]:
    """Clone ``n_new`` locations next to places the virtual users visit.

    Clone j (code ``n_real + j``) is placed ``neighbour_m`` metres from a source location its
    owner visits (weighted by visits); its coordinates are appended to ``lat``/``lon``.

    Returns:
        Per virtual user, the map from source location code to the code of its clone.
    """
    mapping: list[dict[int, int]] = [{} for _ in days]
    for j in range(n_new):
        owner = _clone_owner(days, mapping, j, len(days))
        visited = np.concatenate([d[1] for d in days[owner]])
        codes, counts = np.unique(visited, return_counts=True)
        free = ~np.isin(codes, list(mapping[owner]))
        source = int(rng.choice(codes[free], p=counts[free] / counts[free].sum()))
        mapping[owner][source] = n_real + j
        bearing, distance = rng.uniform(0, 2 * np.pi), rng.uniform(*neighbour_m)
        dlat = distance * np.cos(bearing) / METERS_PER_DEGREE_LAT
        dlon = (
            distance * np.sin(bearing) / (METERS_PER_DEGREE_LAT * np.cos(np.radians(lat[source])))
        )
        lat.append(lat[source] + dlat)
        lon.append(lon[source] + dlon)
    return mapping


def _clone_owner(
    days: list[list[VirtualDay]], mapping: list[dict[int, int]], j: int, k: int
) -> int:
    """Virtual user j mod k, or the next one that still has an uncloned visited location."""
    for step in range(k):
        owner = (j + step) % k
        visited = {int(x) for d in days[owner] for x in d[1]}
        if len(visited - set(mapping[owner])) > 0:
            return owner
    raise ValueError("more new locations than distinct places the virtual users visit")


def _fresh_ids(existing: list[str], n: int, fallback: str) -> list[str]:
    """``n`` new ids: continuing a ``<prefix><digits>`` numbering when all ids share one,
    else ``<fallback>0001``...; the prefix is doubled until nothing clashes."""
    if n == 0:
        return []
    taken = set(existing)
    parts = [re.fullmatch(r"(\D*)(\d+)", x) for x in existing]
    if existing and all(parts) and len({p.group(1) for p in parts if p}) == 1:
        prefix = parts[0].group(1) if parts[0] else ""
        width = max(len(p.group(2)) for p in parts if p)
        top = max(int(p.group(2)) for p in parts if p)
        ids = [f"{prefix}{top + i + 1:0{width}d}" for i in range(n)]
        if fallback == "L" and not taken & set(ids):
            return ids
    width = max(4, len(str(n)))
    prefix = fallback.lower()
    while True:
        ids = [f"{prefix}{i + 1:0{width}d}" for i in range(n)]
        if not taken & set(ids):
            return ids
        prefix += fallback.lower()


def _virtual_frame(
    days: list[list[VirtualDay]],
    mapping: list[dict[int, int]],
    user_ids: list[str],
    location_ids: list[str],
    lat: list[float],
    lon: list[float],
    options: CycleOptions,
    with_coordinates: bool,
) -> pd.DataFrame:
    """Virtual users' visits as a visit frame (absolute times from cycle-relative seconds)."""
    users, locs, t0, t1 = [], [], [], []
    for v, user_days in enumerate(days):
        remap = np.arange(len(location_ids))
        for source, clone in mapping[v].items():
            remap[source] = clone
        for cycle, loc, arr, dep in user_days:
            base = cycle * options.length_s + options.origin_hour * HOUR
            users.append(np.full(len(loc), v))
            locs.append(remap[loc])
            t0.append(base + arr)
            t1.append(base + dep)
    if not users:
        raise ValueError("the virtual users drew no active day (templates too sparse?)")
    user = np.concatenate(users)
    loc = np.concatenate(locs)
    frame = pd.DataFrame(
        {
            "user": pd.Categorical.from_codes(user, categories=pd.Index(user_ids)),
            "location": pd.Categorical.from_codes(loc, categories=pd.Index(location_ids)),
            "time": _wall_to_utc(np.concatenate(t0), options.timezone),
            "end": _wall_to_utc(np.concatenate(t1), options.timezone),
        }
    )
    if with_coordinates:
        frame["latitude"] = np.asarray(lat)[loc]
        frame["longitude"] = np.asarray(lon)[loc]
    frame["location"] = frame["location"].cat.remove_unused_categories()
    return frame


def _wall_to_utc(seconds: np.ndarray, timezone: str) -> pd.Series:
    """Local wall-clock seconds since 1970-01-01 -> tz-aware UTC timestamps (ns)."""
    wall = pd.Series((np.round(seconds).astype(np.int64) * 1_000_000_000).view("M8[ns]"))
    ambiguous = np.zeros(len(wall), dtype=bool)  # a repeated hour is read as standard time
    return wall.dt.tz_localize(
        timezone, ambiguous=ambiguous, nonexistent="shift_forward"
    ).dt.tz_convert("UTC")


def _median_interval(trace: Trace) -> float:
    """Median gap (s) between consecutive sightings of one user, the AP log's probe period."""
    frame = trace.frame
    t = frame["time"].to_numpy("M8[ns]").view(np.int64)
    same = frame["user"].cat.codes.to_numpy()
    gaps = np.diff(t)[(same[1:] == same[:-1]) & (np.diff(t) > 0)]
    return float(np.median(gaps) / 1e9) if len(gaps) else 20.0


def _merge(trace: Trace, virtual: pd.DataFrame) -> Trace:
    """Original rows unchanged plus the virtual rows; categories are the sorted unions."""
    frame = trace.frame
    columns = [c for c in frame.columns if c in virtual.columns]
    parts = []
    for column in ("user", "location"):
        union = pd.Index(
            sorted(set(frame[column].cat.categories) | set(virtual[column].cat.categories))
        )
        parts.append((column, union))
    out = []
    virtual = virtual[columns].astype(
        {c: frame[c].dtype for c in columns if c not in ("user", "location")}
    )
    for part in (frame[columns], virtual):
        part = part.copy()
        for column, union in parts:
            part[column] = part[column].cat.set_categories(union)
        out.append(part)
    merged = pd.concat(out, ignore_index=True)
    merged = merged.sort_values(["user", "time"], kind="stable").reset_index(drop=True)
    return Trace(merged, f"{trace.source} + {virtual['user'].nunique()} virtual users")
