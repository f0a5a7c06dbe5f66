"""Repetitive mobility patterns: the breadth-first miner (paper Alg. 1) and the pattern base.

A *pattern* of user u is an ordered sequence of locations; a valid cycle of u *contains* it when
the locations occur in that order, other locations possibly in between (a subsequence, so
``home -> work -> home`` is a pattern of a day ``home, cafe, work, home``). Its count
``fre(mp)`` is the number of u's valid cycles containing it, its support ``count / N(u)``, and
it is *repetitive* when ``support >= minsup``.

Mining (:func:`mine_user`, :func:`mine_patterns`) follows the paper's Algorithm 1: level-wise,
GSP/Apriori style. Level 1 is the user's frequent locations (hot regions); the candidates of
level k are the frequent (k-1)-patterns p extended by a location z, kept only when ``p[:-1] +
z`` and ``p[-1] + z`` are frequent (two of its (k-1)- and 2-subsequences: Apriori pruning),
and counted against a vertical representation carried from level to level: per pattern, the
end of its leftmost embedding in every cycle that contains it. ``p + z`` is contained in a
cycle iff z occurs after that end. That representation is a bitmap per pattern, one Python
int with a slot of bits per cycle (after SPAM, Ayres et al. 2002), so extending and counting a
candidate in all cycles at once costs four big-int operations; for a user's ~30 short cycles
this beats both numpy (whose per-call overhead dominates arrays this small) and the
``prefixspan`` package (about 3x on routine users). The support threshold is the integer
``max(1, ceil(minsup * N - 1e-9))`` (:func:`min_count`): ``0.3 * 10`` is
``3.0000000000000004`` in floating point, and a plain ceil would demand 4 cycles instead of 3.
Users are independent, so :func:`mine_patterns` mines chunks of users in a process pool.

:class:`PatternBase` keeps every user's patterns in flat CSR arrays (like
:class:`~mcsim.mining.cycles.CycleTable`), sorted by holder, then length, then lexicographically by
location code, with a location -> patterns index for the allocators' matching step.

Closed reductions (paper Section 3, Fig. 4: total > intra-closed > inter-closed):

* **user intra-closed** (:meth:`PatternBase.intra_closed`): a pattern p of user u is dropped
  when another pattern of u is a proper super-sequence of p (p is a subsequence of it) with the
  same count. This is the standard closed sequential pattern (BIDE's definition). Within a
  base mined with ``max_length``, "another pattern" means one in the base, i.e. of length at
  most ``max_length``: a longest kept pattern is not dropped for a super-sequence that the base
  does not hold.
* **user inter-closed** (:meth:`PatternBase.inter_closed`): on the intra-closed set, a pattern
  p of user u is dropped when some pattern q of *any* user is a proper super-sequence of p with
  ``support(q) >= support(p)``. Such a q dominates p for a pattern-matching allocator: against
  any task set q shares every task that p shares (matlg(q) >= matlg(p)) with at least its
  degree (matdg(q) >= matdg(p)), so MLP, MDP, IU1 and IU2 never prefer p. Equality of support,
  the literal analogue of closedness, is almost never met across users with different N(u),
  so ">=" is the definition that removes what matching cannot use. Within one user it adds
  nothing to intra-closure (a super-sequence of the same user has count <= count(p), so
  ">=" means equal counts). Caveat: p's holder differs from q's, so an allocator whose q-holder
  has reached its task limit g could still have used p; allocators that care keep the
  intra-closed base.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from mcsim.data.outputs import atomic_file
from mcsim.mining.cycles import CycleTable

# Bump when the miner's output for the same input could change: it is part of the cache key.
MINER_VERSION = "patterns-1"

# Chunks per worker: enough to balance uneven users, few enough to keep IPC small.
_CHUNKS_PER_WORKER = 4


def min_count(minsup: float, n_cycles: int) -> int:
    """The count a pattern needs among ``n_cycles`` cycles: ``max(1, ceil(minsup * N - 1e-9))``.

    The 1e-9 absorbs floating error in ``minsup * N`` (``0.3 * 10 > 3``) so that a pattern
    whose support is exactly ``minsup`` is never dropped; at least one cycle is always needed.
    """
    return max(1, math.ceil(minsup * n_cycles - 1e-9))


def _check_params(minsup: float, max_length: int | None) -> None:
    if isinstance(minsup, bool) or not (isinstance(minsup, int | float) and 0 < minsup <= 1):
        raise ValueError(f"minsup must be a number in (0, 1], got {minsup!r}")
    if max_length is not None and (
        isinstance(max_length, bool)
        or not isinstance(max_length, int | np.integer)
        or max_length < 1
    ):
        raise ValueError(f"max_length must be None or an integer >= 1, got {max_length!r}")


# --------------------------------------------------------------------------------------------
# The miner


Pattern = tuple[int, ...]


def _mine_one(
    sequences: list[list[int]], need: int, max_length: int | None
) -> list[tuple[Pattern, int]]:
    """Algorithm 1 for one user on plain lists: ``(pattern, count)`` by length, then lex.

    Vertical representation (after SPAM, Ayres et al. 2002): a pattern is a bitmap, a Python
    int with one slot of ``width`` bits per cycle, bit i of a slot set where an embedding of
    the pattern ends at visit i. The top bit of every slot is a guard that stays clear in
    bitmaps and stops borrows, so per-slot arithmetic on the whole int is exact:

    * after-first ``T(B)``: in every slot, the bits above the lowest set bit, i.e. the visits
      after the end of the leftmost embedding; ``p + x`` ends where ``T(B_p) & I_x`` is set;
    * count: a slot is non-empty iff subtracting 1 leaves its guard set.

    Candidates (Apriori pruning): ``p + y + z`` is counted only if ``p + z`` and ``y + z`` are
    frequent, both being its subsequences; level 2 counts every pair of frequent items.
    """
    in_cycles = Counter(itertools.chain.from_iterable(map(set, sequences)))
    frequent = sorted(x for x, c in in_cycles.items() if c >= need)
    if not frequent:
        return []
    width = max(map(len, sequences)) + 1
    low = ((1 << (width * len(sequences))) - 1) // ((1 << width) - 1)  # bit 0 of every slot
    guard = low << (width - 1)
    data = guard - low
    bitmap = dict.fromkeys(in_cycles, 0)  # rare items too: cheaper than testing every visit
    for c, sequence in enumerate(sequences):
        for i, x in enumerate(sequence, start=c * width):
            bitmap[x] |= 1 << i
    items = [(x, bitmap[x]) for x in frequent]
    found: list[tuple[Pattern, int]] = [((x,), in_cycles[x]) for x in frequent]
    # (pattern, bitmap, (item, item bitmap) pairs that may extend it) of the last level
    level = [((x,), bits, items) for x, bits in items]
    successors: dict[int, set[int]] = {}  # y -> {z : y + z frequent}
    length = 1
    while level and (max_length is None or length < max_length):
        following = []
        for pattern, bits, candidates in level:
            guarded = bits | guard
            # Bits below and at the lowest set bit of every slot flipped: above it, only data
            # bits survive (an empty slot keeps just its guard, which item bitmaps clear).
            after = data ^ guarded ^ (guarded - low)
            extensions = []
            for z, item_bits in candidates:
                ends = after & item_bits
                # A slot's data bits plus ``data`` carry into its guard iff the slot is non-empty.
                count = ((ends + data) & guard).bit_count()
                if count >= need:
                    extensions.append((z, item_bits, ends, count))
            if length == 1:
                successors[pattern[0]] = {z for z, _, _, _ in extensions}
            keep = [(z, item_bits) for z, item_bits, _, _ in extensions]
            for z, _, ends, count in extensions:
                grown = (*pattern, z)
                found.append((grown, count))
                following.append((grown, ends, keep))
        # Prune with the now complete successors of level 1 (y + z must be frequent).
        level = [
            (p, b, [zb for zb in keep if zb[0] in successors[p[-1]]]) for p, b, keep in following
        ]
        length += 1
    return found


def mine_user(
    sequences: Sequence[np.ndarray], minsup: float, max_length: int | None = None
) -> list[tuple[Pattern, int]]:
    """All repetitive patterns of one user (paper Algorithm 1).

    Args:
        sequences: the user's valid cycles, each an array of location codes in time order.
        minsup: minimum support in (0, 1]; a pattern needs :func:`min_count` cycles of
            ``N = len(sequences)``.
        max_length: longest pattern to mine; ``None`` for no bound.

    Returns:
        ``(pattern, count)`` pairs ordered by length, then lexicographically; ``count`` is the
        number of cycles containing the pattern (support is ``count / len(sequences)``).
    """
    _check_params(minsup, max_length)
    if len(sequences) == 0:
        return []
    lists = [np.asarray(s).tolist() for s in sequences]
    return _mine_one(lists, min_count(minsup, len(lists)), max_length)


@dataclass(frozen=True)
class _Mined:
    """Patterns of a chunk of users, ordered by holder, length, then lexicographically."""

    holder: np.ndarray  # int64 user code
    lengths: np.ndarray  # int64
    items: np.ndarray  # int64 flat location codes
    count: np.ndarray  # int64


def _mine_chunk(
    offsets: np.ndarray,
    location: np.ndarray,
    cycle_user: np.ndarray,
    need: np.ndarray,
    first_user: int,
    max_length: int | None,
) -> _Mined:
    """Mine a chunk of users (the unit of work of a pool process: arrays in, arrays out).

    Args:
        offsets: cycle ``c`` owns ``location[offsets[c]:offsets[c + 1]]``, ``offsets[0] == 0``.
        location: location codes of the chunk's visits.
        cycle_user: user code of each cycle, sorted, none below ``first_user``.
        need: per user code from ``first_user`` on, the count a pattern needs.
        max_length: longest pattern, ``None`` for no bound.
    """
    flat = location.tolist()
    bounds = offsets.tolist()
    users, starts = np.unique(cycle_user, return_index=True)
    stops = np.append(starts, len(cycle_user))[1:]
    holder, lengths, items, count = [], [], [], []
    for u, c0, c1 in zip(users.tolist(), starts.tolist(), stops.tolist(), strict=True):
        mined = _mine_one(
            [flat[bounds[c] : bounds[c + 1]] for c in range(c0, c1)],
            int(need[u - first_user]),
            max_length,
        )
        holder.extend([u] * len(mined))
        for pattern, n in mined:
            lengths.append(len(pattern))
            items.extend(pattern)
            count.append(n)
    return _Mined(*(np.asarray(a, dtype=np.int64) for a in (holder, lengths, items, count)))


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start, start + size)`` for every pair, vectorised."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return np.arange(total) + shift


# --------------------------------------------------------------------------------------------
# The pattern base


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
        return _make(
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
        return _make(
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

        A super-sequence with equal count implies one exactly one location longer with equal
        count (counts only fall as patterns grow, and every pattern between the two is in a
        mined base, which holds all frequent patterns up to its length bound), so only
        one-longer super-sequences are looked up, by deleting each position. Idempotent.
        """
        dropped = np.zeros(len(self), dtype=bool)
        levels = _levels_of(self)
        for k, (ids, rows) in levels.items():
            longer = levels.get(k + 1)
            if longer is None:
                continue
            super_ids, super_rows = longer
            subs = _deletions(super_rows)
            keyed = np.column_stack((self.holder[ids], rows))
            sub_keyed = np.column_stack((np.tile(self.holder[super_ids], k + 1), subs))
            group, n_groups = _group_rows(np.concatenate((keyed, sub_keyed)))
            best = np.full(n_groups, -1, dtype=np.int64)
            np.maximum.at(best, group[len(ids) :], np.tile(self.count[super_ids], k + 1))
            dropped[ids] = best[group[: len(ids)]] == self.count[ids]
        return self.select(~dropped)

    def inter_closed(self) -> PatternBase:
        """User inter-closed patterns of the intra-closed set (definition in the module doc).

        Top-down over lengths, every subsequence s of a kept pattern gets ``best(s)``, the
        highest support of a pattern (any user) that contains s or equals it; s's proper
        super-sequences all pass through a one-longer one, so ``dominating(s)`` is the maximum
        of ``best`` over s's one-longer super-sequences, obtained by deleting one position.
        """
        base = self.intra_closed()
        dropped = np.zeros(len(base), dtype=bool)
        levels = _levels_of(base)
        above_rows = np.zeros((0, 0), dtype=np.int64)
        above_best = np.zeros(0)
        longest = max(levels, default=0)
        for k in range(longest, 0, -1):
            ids, rows = levels.get(k, (np.zeros(0, dtype=np.int64), np.zeros((0, k), np.int64)))
            subs = _deletions(above_rows) if k < longest else np.zeros((0, k), np.int64)
            candidates = np.concatenate((rows, subs))
            group, n_groups = _group_rows(candidates)
            dominating = np.full(n_groups, -np.inf)
            np.maximum.at(dominating, group[len(ids) :], np.tile(above_best, k + 1))
            dropped[ids] = dominating[group[: len(ids)]] >= base.support[ids]
            above_best = dominating
            np.maximum.at(above_best, group[: len(ids)], base.support[ids])
            representative = np.zeros(n_groups, dtype=np.int64)
            representative[group] = np.arange(len(group))  # rows of one group are equal
            above_rows = candidates[representative]
        return base.select(~dropped)

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


def _make(
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


def _canonical_order(holder: np.ndarray, lengths: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Permutation sorting patterns by holder, length, then lexicographically."""
    width = int(lengths.max(initial=0))
    padded = np.full((len(lengths), width), -1, dtype=np.int64)
    padded[
        np.repeat(np.arange(len(lengths)), lengths),
        np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths),
    ] = items
    return np.lexsort((*padded.T[::-1], lengths, holder))


def _levels_of(base: PatternBase) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per length k: (pattern ids, their items as a k-column matrix)."""
    lengths = base.lengths()
    levels = {}
    for k in np.unique(lengths).tolist():
        ids = np.flatnonzero(lengths == k)
        levels[k] = (ids, base.items[base.offsets[ids][:, None] + np.arange(k)])
    return levels


def _deletions(rows: np.ndarray) -> np.ndarray:
    """Every row with one position deleted, position-major: block i deletes column i."""
    k = rows.shape[1]
    return np.concatenate([np.delete(rows, i, axis=1) for i in range(k)])


def _group_rows(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Group id of every row (equal rows, equal ids) and the number of groups."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if rows.shape[1] == 0:
        return np.zeros(len(rows), dtype=np.int64), int(len(rows) > 0)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    unique, group = np.unique(keys, return_inverse=True)
    return group.ravel(), len(unique)


# --------------------------------------------------------------------------------------------
# All users: parallel mining and the cache


def mine_patterns(
    cycles: CycleTable,
    minsup: float,
    *,
    max_length: int | None = None,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> PatternBase:
    """Mine every user's repetitive patterns from their valid cycles.

    Args:
        cycles: the training cycles.
        minsup: minimum support in (0, 1].
        max_length: longest pattern; ``None`` for no bound.
        workers: processes; ``None`` uses every core, 1 mines in this process. The result is
            identical whatever the number.
        cache_dir: when given, the base is cached there as ``patterns-<sha256>.npz``, the
            hash covering the cycles, both universes, the parameters and
            :data:`MINER_VERSION`, and read back on the next identical call.
        progress: show a progress bar over users.

    Raises:
        ValueError: minsup outside (0, 1], max_length < 1 or workers < 1.
    """
    _check_params(minsup, max_length)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"patterns-{_cache_key(cycles, minsup, max_length)}.npz"
        if cache.exists():
            return _read_cache(cache, cycles, minsup, max_length)
    n_cycles = cycles.n_cycles()
    need = np.array([min_count(minsup, n) for n in n_cycles.tolist()], dtype=np.int64)
    chunks = _chunks(cycles, 1 if workers == 1 else workers * _CHUNKS_PER_WORKER)
    tasks = [
        (
            cycles.offsets[c0 : c1 + 1] - cycles.offsets[c0],
            cycles.location[cycles.offsets[c0] : cycles.offsets[c1]],
            cycles.user[c0:c1],
            need[u0:u1],
            u0,
            max_length,
        )
        for u0, u1, c0, c1 in chunks
    ]
    bar = tqdm(total=len(cycles.users), unit="user", desc="mining patterns", disable=not progress)
    parts: list[_Mined] = []
    if workers == 1 or len(tasks) <= 1:
        for (u0, u1, _, _), task in zip(chunks, tasks, strict=True):
            parts.append(_mine_chunk(*task))
            bar.update(u1 - u0)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            futures = [pool.submit(_mine_chunk, *task) for task in tasks]
            for (u0, u1, _, _), future in zip(chunks, futures, strict=True):
                parts.append(future.result())
                bar.update(u1 - u0)
    bar.close()
    mined = _Mined(
        *(
            np.concatenate([getattr(p, f) for p in parts] or [np.zeros(0, np.int64)])
            for f in ("holder", "lengths", "items", "count")
        )
    )
    base = _make(
        cycles.users,
        cycles.locations,
        mined.holder,
        mined.lengths,
        mined.items,
        mined.count,
        n_cycles[mined.holder],
        float(minsup),
        max_length,
    )
    if cache is not None:
        _write_cache(cache, base)
    return base


def _chunks(cycles: CycleTable, n_chunks: int) -> list[tuple[int, int, int, int]]:
    """(first user, end user, first cycle, end cycle) of about equal visit counts."""
    starts, stops = cycles.user_bounds()
    n_users = len(cycles.users)
    if n_users == 0:
        return []
    visits_before = cycles.offsets[starts]  # visits of all users before each user
    targets = np.linspace(0, cycles.offsets[-1], n_chunks + 1)[1:-1]
    cuts = np.unique(np.concatenate(([0], np.searchsorted(visits_before, targets), [n_users])))
    return [
        (int(u0), int(u1), int(starts[u0]), int(stops[u1 - 1]))
        for u0, u1 in itertools.pairwise(cuts)
    ]


def _cache_key(cycles: CycleTable, minsup: float, max_length: int | None) -> str:
    digest = hashlib.sha256()
    for array in (cycles.user, cycles.offsets, cycles.location):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    for index in (cycles.users, cycles.locations):
        digest.update("\x1f".join(map(str, index)).encode() + b"\x1e")
    digest.update(f"{float(minsup)!r}|{max_length!r}|{MINER_VERSION}".encode())
    return digest.hexdigest()


def _write_cache(path: Path, base: PatternBase) -> None:
    """Write atomically: a crash never leaves a half cache."""
    with atomic_file(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            holder=base.holder,
            offsets=base.offsets,
            items=base.items,
            count=base.count,
            n_cycles=base.n_cycles,
        )


def _read_cache(
    path: Path, cycles: CycleTable, minsup: float, max_length: int | None
) -> PatternBase:
    with np.load(path) as data:
        return _make(
            cycles.users,
            cycles.locations,
            data["holder"],
            np.diff(data["offsets"]),
            data["items"],
            data["count"],
            data["n_cycles"],
            float(minsup),
            max_length,
        )
