"""The pattern base: every user's repetitive patterns in flat arrays, and its location index.

:class:`PatternBase` keeps every user's patterns in flat CSR arrays (like
:class:`~mcsim.mining.cycles.CycleTable`), sorted by holder, then length, then lexicographically
by location code, so that a user's patterns are one contiguous range and two bases built from
the same patterns are equal array by array. A location -> patterns index, built once on first
use, serves the allocators' matching step; :meth:`PatternBase.to_frame` and
:meth:`PatternBase.from_frame` convert to and from a table of location ids (for Parquet). The
closed reductions are methods here but live in :mod:`~mcsim.mining.patterns.closed`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from mcsim.mining.patterns.closed import inter_redundant, intra_redundant
from mcsim.readonly import freeze_fields


@dataclass(frozen=True, eq=False)
class PatternBase:
    """All users' repetitive patterns in flat arrays, sorted by holder, length, then lex.

    Attributes:
        users: user ids; ``holder`` codes index it (the CycleTable's universe).
        locations: location ids; ``items`` codes index it.
        holder: int32 user code of each pattern.
        offsets: int64, pattern ``i`` is ``items[offsets[i]:offsets[i + 1]]``.
        items: int32 location codes.
        support: float64 ``count / n_cycles``.
        count: int32 fre(mp), the holder's valid cycles that contain the pattern.
        n_cycles: int32 N(holder).
        minsup: the minimum support it was mined with.
        max_length: the length bound it was mined with (``None``: unbounded).
    """

    users: pd.Index
    locations: pd.Index
    holder: np.ndarray
    offsets: np.ndarray
    items: np.ndarray
    support: np.ndarray
    count: np.ndarray
    n_cycles: np.ndarray
    minsup: float
    max_length: int | None

    def __post_init__(self) -> None:
        freeze_fields(self, "holder", "offsets", "items", "support", "count", "n_cycles")

    def __len__(self) -> int:
        return len(self.holder)

    def pattern(self, i: int) -> np.ndarray:
        """Location codes of pattern ``i``, in order."""
        return self.items[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        """Length of every pattern."""
        return np.diff(self.offsets)

    def of_user(self, u: int) -> np.ndarray:
        """Pattern ids held by user code ``u`` (a contiguous, sorted range)."""
        lo, hi = np.searchsorted(self.holder, [u, u + 1])
        return np.arange(lo, hi)

    @cached_property
    def _location_index(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR location code -> sorted ids of the patterns containing it (built once)."""
        owner = np.repeat(np.arange(len(self), dtype=np.int64), self.lengths())
        key = np.unique(self.items.astype(np.int64) * max(len(self), 1) + owner)
        location, pattern = np.divmod(key, max(len(self), 1))
        bounds = np.concatenate(
            ([0], np.cumsum(np.bincount(location, minlength=len(self.locations))))
        )
        return bounds, pattern

    def containing(self, location: int) -> np.ndarray:
        """Sorted ids of the patterns that contain location code ``location``."""
        if not 0 <= location < len(self.locations):
            raise IndexError(f"location code {location} outside 0..{len(self.locations) - 1}")
        bounds, pattern = self._location_index
        return pattern[bounds[location] : bounds[location + 1]]

    def select(self, mask: np.ndarray) -> PatternBase:
        """The patterns where boolean ``mask`` is true (universes and order kept)."""
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(self),):
            raise ValueError(f"mask must be a boolean array of shape ({len(self)},)")
        lengths = self.lengths()[mask]
        return make_base(
            self.users,
            self.locations,
            self.holder[mask],
            lengths,
            self.items[np.repeat(mask, self.lengths())],
            self.count[mask],
            self.n_cycles[mask],
            self.minsup,
            self.max_length,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per pattern: ``user``, ``pattern`` (location ids), ``support``, ``count``,
        ``n_cycles``; ``minsup`` and ``max_length`` ride along in ``attrs`` (kept by Parquet).
        """
        names = np.asarray(self.locations, dtype=object)[self.items].tolist()
        bounds = self.offsets.tolist()
        frame = pd.DataFrame(
            {
                "user": np.asarray(self.users, dtype=object)[self.holder],
                "pattern": [names[a:b] for a, b in itertools.pairwise(bounds)],
                "support": self.support.astype(np.float64),
                "count": self.count.astype(np.int64),
                "n_cycles": self.n_cycles.astype(np.int64),
            }
        )
        frame.attrs = {"minsup": self.minsup, "max_length": self.max_length}
        return frame

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        users: pd.Index | None = None,
        locations: pd.Index | None = None,
        *,
        minsup: float | None = None,
        max_length: int | None = None,
    ) -> PatternBase:
        """Rebuild a base from :meth:`to_frame`'s table (e.g. read back from Parquet).

        Args:
            frame: columns ``user``, ``pattern``, ``count``, ``n_cycles`` (``support`` is
                checked against ``count / n_cycles``).
            users, locations: the code universes; ``None`` takes the sorted ids in the frame.
            minsup, max_length: override ``frame.attrs``; without either, minsup is the
                smallest support in the frame (the tightest value it is consistent with) and
                max_length ``None``.

        Raises:
            ValueError: missing columns, ids outside the given universes, or inconsistent
                support.
        """
        missing = {"user", "pattern", "support", "count", "n_cycles"} - set(frame.columns)
        if missing:
            raise ValueError(f"pattern table lacks column(s) {sorted(missing)}")
        users, locations, holder, lengths, items = _frame_codes(frame, users, locations)
        count = frame["count"].to_numpy(dtype=np.int64)
        n_cycles = frame["n_cycles"].to_numpy(dtype=np.int64)
        support = frame["support"].to_numpy(dtype=np.float64)
        if not np.allclose(support, count / np.maximum(n_cycles, 1), rtol=0, atol=1e-9):
            raise ValueError("support differs from count / n_cycles")
        if minsup is None:
            minsup = frame.attrs.get("minsup", float(support.min()) if len(support) else 1.0)
        if max_length is None:
            max_length = frame.attrs.get("max_length")
        order = _canonical_order(holder, lengths, items)
        starts = (np.cumsum(lengths) - lengths)[order]
        return make_base(
            users,
            locations,
            holder[order],
            lengths[order],
            items[_ranges(starts, lengths[order])],
            count[order],
            n_cycles[order],
            float(minsup),
            None if max_length is None else int(max_length),
        )

    def intra_closed(self) -> PatternBase:
        """User intra-closed patterns: no same-user proper super-sequence with the same count.

        Definition and algorithm: :func:`~mcsim.mining.patterns.closed.intra_redundant`.
        Idempotent.
        """
        return self.select(~intra_redundant(self))

    def inter_closed(self) -> PatternBase:
        """User inter-closed patterns of the intra-closed set: no proper super-sequence of any
        user with at least the same support (:mod:`~mcsim.mining.patterns.closed`)."""
        base = self.intra_closed()
        return base.select(~inter_redundant(base))

    def summary(self) -> dict[str, int]:
        """Counts for reports: patterns (total, intra-closed, inter-closed), holders, longest."""
        intra = self.intra_closed()
        return {
            "users": len(self.users),
            "holders": len(np.unique(self.holder)),
            "locations": len(np.unique(self.items)),
            "patterns": len(self),
            "intra_closed": len(intra),
            "inter_closed": len(intra.inter_closed()),
            "longest": int(self.lengths().max(initial=0)),
        }


def make_base(
    users: pd.Index,
    locations: pd.Index,
    holder: np.ndarray,
    lengths: np.ndarray,
    items: np.ndarray,
    count: np.ndarray,
    n_cycles: np.ndarray,
    minsup: float,
    max_length: int | None,
) -> PatternBase:
    """A base from patterns already in canonical order, with the documented dtypes.

    ``lengths`` become ``offsets`` and ``support`` is derived as ``count / n_cycles``; used by
    the miner, the cache reader and :meth:`PatternBase.select`, so every base is built alike.
    """
    count = np.asarray(count, dtype=np.int32)
    n_cycles = np.asarray(n_cycles, dtype=np.int32)
    return PatternBase(
        users=users,
        locations=locations,
        holder=np.asarray(holder, dtype=np.int32),
        offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        items=np.asarray(items, dtype=np.int32),
        support=count / np.maximum(n_cycles, 1).astype(np.float64),
        count=count,
        n_cycles=n_cycles,
        minsup=minsup,
        max_length=max_length,
    )


def _frame_codes(
    frame: pd.DataFrame, users: pd.Index | None, locations: pd.Index | None
) -> tuple[pd.Index, pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Universes, holder codes, lengths and flat item codes of a pattern table's rows.

    Raises:
        ValueError: a user or location id outside the given universe.
    """
    sequences = [list(p) for p in frame["pattern"]]
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    flat = pd.Index([x for s in sequences for x in s], dtype=object)
    user_ids = pd.Index(frame["user"].astype(str), dtype=object)
    users = pd.Index(sorted(set(user_ids))) if users is None else users
    locations = pd.Index(sorted(set(flat))) if locations is None else locations
    holder = users.get_indexer(user_ids)
    items = locations.get_indexer(flat) if len(flat) else np.zeros(0, dtype=np.int64)
    if (holder < 0).any():
        raise ValueError(f"user {user_ids[holder < 0][0]!r} is not in the user universe")
    if (items < 0).any():
        raise ValueError(f"location {flat[items < 0][0]!r} is not in the location universe")
    return users, locations, holder, lengths, items


def _canonical_order(holder: np.ndarray, lengths: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Permutation sorting patterns by holder, length, then lexicographically."""
    width = int(lengths.max(initial=0))
    padded = np.full((len(lengths), width), -1, dtype=np.int64)
    padded[
        np.repeat(np.arange(len(lengths)), lengths),
        np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths),
    ] = items
    return np.lexsort((*padded.T[::-1], lengths, holder))


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start, start + size)`` for every pair, vectorised."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return np.arange(total) + shift
