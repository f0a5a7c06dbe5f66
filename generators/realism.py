"""Realism report: synthetic mobility side by side with a real trace (GeoLife).

A generator is only useful if the statistics the allocators depend on look like real ones:
how many places a user visits a day, how concentrated visits are on a few places (the Zipf-like
rank curve of Song et al. / Gonzalez et al.), how far users range (radius of gyration), and how
many repetitive patterns mining finds as minsup falls (the paper's Fig. 4: exponential growth,
total > intra-closed > inter-closed). :func:`realism_report` computes these for any named
traces, writes one PNG per statistic and a CSV of the summary numbers; the module's script
compares the default synthetic campus (as generated, and keeping only stays as long as GeoLife's
stay points) and a virtual population driven by GeoLife's pattern model (the one way mcsim adds
virtual users, :func:`mcsim.sim.scale_population`, as a scenario's ``mobility.users`` does)
with the GeoLife sample::

    python -m generators.realism --out results/realism [--geolife PATH] [--preset wtd]
        [--users N] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from generators.mobility import CampusConfig, generate_campus
from mcsim.data.geo import StayPointOptions, haversine_m
from mcsim.data.outputs import save_figure
from mcsim.data.traces import Trace, load_trace
from mcsim.mining.cycles import CycleOptions, CycleTable, cut_cycles
from mcsim.mining.locations import Locations
from mcsim.mining.patterns import mine_patterns
from mcsim.sim import scale_population

DEFAULT_GEOLIFE = Path(__file__).resolve().parents[2] / "shared" / "data" / "geolife"
GEOLIFE_TIMEZONE = "Asia/Shanghai"  # GeoLife volunteers lived in Beijing
MAX_RANK = 30  # ranks shown on the rank-frequency curve


@dataclass(frozen=True, eq=False)
class Observed:
    """Mobility to compare: daily cycles, where their locations are, and the source's size.

    Attributes:
        cycles: the daily cycles (24 h from 04:00 local time for a trace, see :func:`observe`).
        locations: coordinates of the location codes (NaN where unknown: no gyration then).
        rows: rows of the source (trace rows, or visits of a virtual population).
    """

    cycles: CycleTable
    locations: Locations
    rows: int


def observe(trace: Trace, timezone: str = "UTC") -> Observed:
    """A trace cut into 24 h cycles starting 04:00 in ``timezone`` ("a day" means the same
    thing for every trace compared)."""
    cycles = cut_cycles(trace, CycleOptions(timezone=timezone))
    return Observed(cycles, Locations.from_trace(trace), len(trace))


def virtual_population(
    real: Observed, n_users: int, *, minsup: float = 0.5, seed: int = 0
) -> Observed:
    """``n_users`` virtual users driven by the pattern model of ``real`` (mined at ``minsup``),
    over as many calendar days: what a scenario's ``mobility.users`` simulates."""
    cycles = real.cycles
    patterns = mine_patterns(cycles, minsup, workers=1)
    n_days = int(cycles.cycle.max() - cycles.cycle.min()) + 1
    virtual = scale_population(cycles, patterns, n_users, n_days, np.random.default_rng(seed))
    return Observed(virtual, real.locations, len(virtual.location))


def realism_report(
    observed: Mapping[str, Observed],
    out_dir: str | Path,
    *,
    minsups: Sequence[float] = (0.6, 0.7, 0.8, 0.9),
    workers: int | None = 1,
) -> pd.DataFrame:
    """Compare mobility on the statistics the allocators rely on; write PNGs and CSVs.

    Args:
        observed: name -> cycles to compare (:func:`observe` a trace; coordinates are needed
            for the radius of gyration).
        out_dir: folder for ``summary.csv``, ``patterns.csv`` and the PNGs (created).
        minsups: minimum supports of the patterns-vs-minsup panel (paper Fig. 4).
        workers: pattern-mining processes (``None``: every core; 1 suits the small traces a
            report compares).

    Returns:
        One row per trace: sizes, N(u), distinct locations per day, rank-curve shares and Zipf
        exponent, radius of gyration, and pattern counts per minsup (when the miner is
        available; see ``patterns.csv``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cycles = {name: o.cycles for name, o in observed.items()}
    rows = {}
    per_day = {name: _distinct_per_day(c) for name, c in cycles.items()}
    ranks = {name: _rank_curve(c) for name, c in cycles.items()}
    gyration = {name: _gyration_km(o) for name, o in observed.items()}
    for name, o in observed.items():
        c = cycles[name]
        n = c.n_cycles()[c.n_cycles() > 0]
        curve = ranks[name]
        rows[name] = {
            "users": int((c.n_cycles() > 0).sum()),
            "locations": len(np.unique(c.location)),
            "rows": o.rows,
            "valid_cycles": len(c),
            "n_u_mean": float(n.mean()),
            "n_u_min": int(n.min()),
            "n_u_max": int(n.max()),
            "n_u_cv": float(n.std() / n.mean()),
            "visits_per_day_mean": float(np.diff(c.offsets).mean()),
            "locations_per_day_mean": float(per_day[name].mean()),
            "locations_per_day_median": float(np.median(per_day[name])),
            "locations_per_day_p90": float(np.percentile(per_day[name], 90)),
            "top1_share": float(curve[0]),
            "top3_share": float(curve[:3].sum()),
            "zipf_exponent": _zipf_exponent(curve),
            "gyration_km_median": _quantile(gyration[name], 0.5),
            "gyration_km_p90": _quantile(gyration[name], 0.9),
        }
    summary = pd.DataFrame.from_dict(rows, orient="index").rename_axis("trace")
    patterns = _pattern_counts(cycles, minsups, workers)
    if patterns is not None:
        wide = patterns.pivot_table(index="trace", columns=["kind", "minsup"], values="patterns")
        kinds, levels = (wide.columns.get_level_values(i) for i in (0, 1))
        wide.columns = pd.Index(
            [f"patterns_{kind}@{minsup:g}" for kind, minsup in zip(kinds, levels, strict=True)]
        )
        summary = summary.join(wide)
        patterns.to_csv(out / "patterns.csv", index=False)
        _plot_patterns(patterns, out / "patterns_vs_minsup.png")
    summary.to_csv(out / "summary.csv")
    _plot_per_day(per_day, out / "locations_per_day.png")
    _plot_ranks(ranks, out / "rank_frequency.png")
    _plot_gyration(gyration, out / "radius_of_gyration.png")
    return summary


def _distinct_per_day(cycles: CycleTable) -> np.ndarray:
    """Distinct locations of every valid cycle."""
    cycle_of = np.repeat(np.arange(len(cycles)), np.diff(cycles.offsets))
    pairs = np.unique(cycle_of.astype(np.int64) * len(cycles.locations) + cycles.location)
    return np.bincount(pairs // len(cycles.locations), minlength=len(cycles))


def _rank_curve(cycles: CycleTable) -> np.ndarray:
    """Mean over users of the share of their visits at their r-th most visited location."""
    n_loc = len(cycles.locations)
    user_of = np.repeat(cycles.user, np.diff(cycles.offsets)).astype(np.int64)
    counts = np.bincount(
        user_of * n_loc + cycles.location, minlength=len(cycles.users) * n_loc
    ).reshape(len(cycles.users), n_loc)
    counts = counts[counts.sum(axis=1) > 0]
    shares = -np.sort(-counts, axis=1)[:, :MAX_RANK] / counts.sum(axis=1, keepdims=True)
    curve = np.zeros(MAX_RANK)
    curve[: shares.shape[1]] = shares.mean(axis=0)
    return curve


def _zipf_exponent(curve: np.ndarray) -> float:
    """Slope magnitude of log(share) vs log(rank) over ranks 1-10 with a positive share."""
    ranks = np.arange(1, len(curve) + 1)[:10]
    share = curve[:10]
    ok = share > 0
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(np.log(ranks[ok]), np.log(share[ok]), 1)[0]
    return float(-slope)


def _quantile(values: np.ndarray, q: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, q)) if len(finite) else float("nan")


def _gyration_km(observed: Observed) -> np.ndarray:
    """Radius of gyration (km) of each user's visits (one point per visit, not per sighting);
    empty without coordinates."""
    cycles, locations = observed.cycles, observed.locations
    lat = locations.latitude[cycles.location]
    lon = locations.longitude[cycles.location]
    user_of = np.repeat(cycles.user, np.diff(cycles.offsets))
    placed = np.isfinite(lat) & np.isfinite(lon)  # visits of places with coordinates
    if not placed.any():
        return np.array([])
    lat, lon, user_of = lat[placed], lon[placed], user_of[placed]
    n_users = len(cycles.users)
    count = np.bincount(user_of, minlength=n_users).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        clat = np.bincount(user_of, lat, n_users) / count
        clon = np.bincount(user_of, lon, n_users) / count
        squared = haversine_m(lat, lon, clat[user_of], clon[user_of]) ** 2
        radius = np.sqrt(np.bincount(user_of, squared, n_users) / count) / 1000.0
    return radius[count > 0]


def _pattern_counts(
    cycles: Mapping[str, CycleTable], minsups: Sequence[float], workers: int | None
) -> pd.DataFrame | None:
    """Long table (trace, minsup, kind, patterns); None when mcsim.mining.patterns is unavailable."""
    try:
        from mcsim.mining.patterns import mine_patterns
    except ImportError:
        return None
    rows = []
    for name, table in cycles.items():
        for minsup in minsups:
            base = mine_patterns(table, minsup, workers=workers)
            intra = base.intra_closed()
            for kind, value in (
                ("total", len(base)),
                ("intra_closed", len(intra)),
                ("inter_closed", len(intra.inter_closed())),
            ):
                rows.append({"trace": name, "minsup": minsup, "kind": kind, "patterns": value})
    return pd.DataFrame(rows)


def _plot_per_day(per_day: Mapping[str, np.ndarray], path: Path) -> None:
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    top = max(int(v.max()) for v in per_day.values())
    bins = np.arange(0.5, top + 1.5).tolist()
    for name, values in per_day.items():
        ax.hist(
            values,
            bins=bins,
            density=True,
            histtype="step",
            linewidth=1.6,
            label=f"{name} (mean {values.mean():.1f})",
        )
    ax.set_xlabel("distinct locations in a day (valid cycle)")
    ax.set_ylabel("share of days")
    ax.legend(fontsize=8)
    _save(fig, path)


def _plot_ranks(ranks: Mapping[str, np.ndarray], path: Path) -> None:
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    for name, curve in ranks.items():
        ok = curve > 0
        ax.loglog(
            np.arange(1, len(curve) + 1)[ok],
            curve[ok],
            marker="o",
            markersize=3,
            label=f"{name} (Zipf exponent {_zipf_exponent(curve):.2f})",
        )
    ax.set_xlabel("location rank (per user)")
    ax.set_ylabel("mean share of the user's visits")
    ax.legend(fontsize=8)
    _save(fig, path)


def _plot_gyration(gyration: Mapping[str, np.ndarray], path: Path) -> None:
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    for name, values in gyration.items():
        v = np.sort(values[np.isfinite(values)])
        if len(v) == 0:
            continue
        ax.step(
            np.maximum(v, 1e-3),
            np.arange(1, len(v) + 1) / len(v),
            where="post",
            label=f"{name} (median {np.median(v):.2f} km)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("radius of gyration per user [km]")
    ax.set_ylabel("share of users (CDF)")
    ax.legend(fontsize=8)
    _save(fig, path)


def _plot_patterns(patterns: pd.DataFrame, path: Path) -> None:
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    styles = {"total": "-", "intra_closed": "--", "inter_closed": ":"}
    colours: dict[str, str] = {}
    for (name, kind), group in patterns.groupby(["trace", "kind"], sort=False):
        colour = colours.setdefault(str(name), f"C{len(colours)}")
        ax.semilogy(
            group["minsup"],
            np.maximum(group["patterns"], 1),
            styles[str(kind)],
            marker="o",
            markersize=3,
            color=colour,
            label=f"{name}: {kind}",
        )
    ax.set_xlabel("minsup")
    ax.set_ylabel("patterns (log scale)")
    ax.legend(fontsize=7)
    _save(fig, path)


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> None:
    """Script entry: the default campus (and GeoLife with virtual users) next to GeoLife."""
    parser = argparse.ArgumentParser(description="Synthetic mobility vs GeoLife statistics.")
    parser.add_argument("--out", required=True, help="output folder for PNGs and CSVs")
    parser.add_argument(
        "--geolife",
        default=str(DEFAULT_GEOLIFE),
        help="GeoLife folder (<user>/Trajectory/*.plt); skipped when absent",
    )
    parser.add_argument("--preset", default="wtd", help="synthetic campus preset")
    parser.add_argument("--users", type=int, help="override the preset's number of users")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    config = CampusConfig.preset(args.preset)
    if args.users is not None:
        config = replace(config, n_users=args.users)
    campus = generate_campus(config, seed=args.seed)
    name = f"synthetic-{args.preset}"
    # GeoLife's locations are stay points of at least StayPointOptions().min_duration_s, which
    # hides short visits; the like-for-like synthetic view keeps only visits that long.
    min_stay = StayPointOptions().min_duration_s
    frame = campus.trace.frame
    long_stays = frame[(frame["end"] - frame["time"]).dt.total_seconds() >= min_stay]
    stays_name = f"{name} (stays >= {min_stay / 60:g} min)"
    zone = str(campus.config.timezone)
    observed = {
        name: observe(campus.trace, zone),
        stays_name: observe(Trace(long_stays.reset_index(drop=True), campus.trace.source), zone),
    }
    geolife = Path(args.geolife)
    if geolife.is_dir():
        real = observe(load_trace(geolife), GEOLIFE_TIMEZONE)
        observed["geolife"] = real
        n_users = 2 * len(real.cycles.users)
        observed["geolife+virtual"] = virtual_population(real, n_users, seed=args.seed)
    else:
        print(f"GeoLife folder {geolife} not found: synthetic statistics only")
    summary = realism_report(observed, args.out)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(summary.T.to_string())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
