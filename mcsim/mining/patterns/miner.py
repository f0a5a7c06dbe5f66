"""The breadth-first miner of repetitive patterns (paper Algorithm 1), one user and all users.

Mining follows the paper's Algorithm 1: level-wise, GSP/Apriori style. Level 1 is the user's
frequent locations (hot regions); the candidates of level k are the frequent (k-1)-patterns p
extended by a location z, kept only when ``p[:-1] + z`` and ``p[-1] + z`` are frequent (two of
its (k-1)- and 2-subsequences: Apriori pruning), and counted against a vertical representation
carried from level to level: per pattern, the end of its leftmost embedding in every cycle that
contains it. ``p + z`` is contained in a cycle iff z occurs after that end. That representation
is a bitmap per pattern, one Python int with a slot of bits per cycle (after SPAM, Ayres et al.
2002), so extending and counting a candidate in all cycles at once costs four big-int
operations; for a user's ~30 short cycles this beats both numpy (whose per-call overhead
dominates arrays this small) and the ``prefixspan`` package (about 3x on routine users). The
support threshold is the integer ``max(1, ceil(minsup * N - 1e-9))`` (:func:`min_count`):
``0.3 * 10`` is ``3.0000000000000004`` in floating point, and a plain ceil would demand 4
cycles instead of 3.

Users are independent, so :func:`mine_patterns` cuts them into chunks of about equal visit
counts and mines the chunks in a process pool (arrays in, arrays out); the result is the same
whatever the number of workers.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from mcsim.errors import CacheWarning
from mcsim.mining.cycles import CycleTable
from mcsim.mining.patterns.base import PatternBase, make_base
from mcsim.mining.patterns.cache import CacheProblem, cache_path, read_cache, write_cache
from mcsim.processes import process_pool, usable_cores

# Bump when the miner's output for the same input could change: it is part of the cache key.
MINER_VERSION = "patterns-1"

# Chunks per worker: enough to balance uneven users, few enough to keep IPC small.
_CHUNKS_PER_WORKER = 4

Pattern = tuple[int, ...]

# One node of a level: (pattern, its bitmap, the (item, item bitmap) pairs that may extend it).
_Node = tuple[Pattern, int, list[tuple[int, int]]]


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
# One user: SPAM bitmaps


class _Slots(NamedTuple):
    """Masks of a bitmap with one slot of ``width`` bits per cycle.

    Bit i of a slot is set where an embedding of a pattern ends at visit i. The top bit of
    every slot is a guard that stays clear in bitmaps and stops borrows, so per-slot arithmetic
    on the whole int is exact.
    """

    width: int
    low: int  # bit 0 of every slot
    guard: int  # the top bit of every slot
    data: int  # every bit but the guards


def _slots(sequences: list[list[int]]) -> _Slots:
    width = max(map(len, sequences)) + 1
    low = ((1 << (width * len(sequences))) - 1) // ((1 << width) - 1)
    guard = low << (width - 1)
    return _Slots(width, low, guard, guard - low)


def _item_bitmaps(sequences: list[list[int]], items: Iterable[int], width: int) -> dict[int, int]:
    """Bitmap of every location in ``items``: bit ``c * width + i`` set where visit i of
    cycle c is there."""
    bitmap = dict.fromkeys(items, 0)
    for c, sequence in enumerate(sequences):
        for i, x in enumerate(sequence, start=c * width):
            bitmap[x] |= 1 << i
    return bitmap


def _mine_one(
    sequences: list[list[int]], need: int, max_length: int | None
) -> list[tuple[Pattern, int]]:
    """Algorithm 1 for one user on plain lists: ``(pattern, count)`` by length, then lex.

    On the bitmaps of :class:`_Slots`:

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
    width, low, guard, data = _slots(sequences)
    bitmap = _item_bitmaps(sequences, in_cycles, width)  # rare items too: cheaper than a test
    items = [(x, bitmap[x]) for x in frequent]
    found: list[tuple[Pattern, int]] = [((x,), in_cycles[x]) for x in frequent]
    level: list[_Node] = [((x,), bits, items) for x, bits in items]
    successors: dict[int, set[int]] = {}  # y -> {z : y + z frequent}
    length = 1
    while level and (max_length is None or length < max_length):
        following: list[_Node] = []
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


# --------------------------------------------------------------------------------------------
# All users: chunks in a process pool


@dataclass(frozen=True)
class _Mined:
    """Patterns of a chunk of users, ordered by holder, length, then lexicographically."""

    holder: np.ndarray  # int64 user code
    lengths: np.ndarray  # int64
    items: np.ndarray  # int64 flat location codes
    count: np.ndarray  # int64

    @classmethod
    def concatenate(cls, parts: Sequence[_Mined]) -> _Mined:
        empty = np.zeros(0, np.int64)
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts] or [empty])
                for f in ("holder", "lengths", "items", "count")
            )
        )


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
    holder: list[int] = []
    lengths: list[int] = []
    items: list[int] = []
    count: list[int] = []
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


def _mine_all(
    cycles: CycleTable, need: np.ndarray, max_length: int | None, workers: int, progress: bool
) -> _Mined:
    """Every user's patterns, chunk by chunk, in this process (``workers == 1``) or a pool."""
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
        with process_pool(min(workers, len(tasks))) as pool:
            futures = [pool.submit(_mine_chunk, *task) for task in tasks]
            for (u0, u1, _, _), future in zip(chunks, futures, strict=True):
                parts.append(future.result())
                bar.update(u1 - u0)
    bar.close()
    return _Mined.concatenate(parts)


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
    workers = usable_cores() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    cache = _usable_cache(cache_dir, cycles, minsup, max_length)
    if cache is not None and (cache.exists() or cache.is_symlink()):
        try:
            return read_cache(cache, cycles, minsup, max_length, _key(cache))
        except CacheProblem as problem:
            warnings.warn(
                f"pattern cache {cache} is unusable ({problem}); mining again",
                CacheWarning,
                stacklevel=2,
            )
    n_cycles = cycles.n_cycles()
    need = np.array([min_count(minsup, n) for n in n_cycles.tolist()], dtype=np.int64)
    mined = _mine_all(cycles, need, max_length, workers, progress)
    base = make_base(
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
        try:
            if cache.is_dir() or cache.is_symlink():
                raise IsADirectoryError(f"{cache} is in the way")
            write_cache(cache, base, _key(cache))
        except OSError as exc:
            warnings.warn(
                f"pattern cache {cache} could not be written ({exc}); results are unaffected",
                CacheWarning,
                stacklevel=2,
            )
    return base


def _key(cache: Path) -> str:
    return cache.stem.removeprefix("patterns-")


def _usable_cache(
    cache_dir: str | Path | None, cycles: CycleTable, minsup: float, max_length: int | None
) -> Path | None:
    """The cache file of this input, or None (with a warning) when the folder is unusable."""
    if cache_dir is None:
        return None
    folder = Path(cache_dir)
    if folder.exists() and not folder.is_dir():
        warnings.warn(
            f"cache folder {folder} is not a folder; mining without a cache",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return cache_path(folder, cycles, minsup, max_length, MINER_VERSION)
