"""The paper's four pattern-matching strategies (MLP, MDP, IU1, IU2) on one greedy engine.

Wang et al. (2018, Sec. 4.3.2, Alg. 2) allocate by matching the outstanding tasks against the
mined pattern base; the strategies differ only in how they score a matched pattern. So this
module has exactly one engine, :func:`greedy_match`, and four tiny subclasses that supply a
utility (and, for IU1, a pattern filter).

Workflow of one allocation (each pattern choice is one iteration):

1. T* = the tasks that still need copies, one copy each, in publish order (then lowest id).
2. Pattern p of holder h *matches* when it shares tasks with T*: its shared tasks are the T*
   tasks whose location lies in p and that h does not hold yet (held before the batch or given
   earlier in this allocation), capped at h's remaining capacity g - load - assigned, keeping
   the earliest published (then lowest id). matlg(p) = number of shared tasks,
   matdg(p) = support of p.
3. The pattern with the highest utility wins; each shared task gets one copy from h, with the
   claimed coverage degree matdg(p); tasks with no copies left leave T*.
4. Repeat until no pattern matches; the copies left are reported as unassigned. A holder at g
   matches nothing any more, which removes all its patterns.

Tie-breaking (not given in the paper): patterns are ranked by the strategy's key (a tuple:
its utility, then the other criterion), then by the lower holder code, then by the lower
pattern id. The key of every strategy is non-decreasing in matlg for a fixed matdg.

Efficiency: candidates are the patterns containing a batch location (one vectorised pass over
the items), their first scores from one vectorised pass, and the best pattern from a max-heap with
lazy invalidation instead of a rescan per iteration (see :func:`greedy_match` for why this is
exact; the initial entries are sorted once instead of heapified, as a sorted run in front of
the heap). At 100,000 users a batch has ~10^5-10^6 candidates and nearly all of them are popped
once and found dead (their tasks filled), so two costs dominated: deduplicating the
(candidate, location) pairs with a global sort, and re-scoring each popped candidate. The pairs
are now deduplicated within each pattern only, and re-scoring a one-location candidate (the
common case) slices its location's open tasks, already in publish order, without a sort.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

import numpy as np

from mcsim.platform.allocation import Assignment, PlatformState
from mcsim.platform.tasks import TaskBatch
from policies.base import (
    AllocationPolicy,
    build_assignment,
    check_unit_interval,
    held_ranks,
    publish_order,
)

if TYPE_CHECKING:
    from mcsim.mining.patterns import PatternBase

_Score = TypeVar("_Score", np.ndarray, float)


class Utility(Protocol):
    """A strategy's ranking key from (matlg, matdg), larger is better, compared as a tuple.

    It works element-wise on arrays (the first scores of all candidates) and on floats (one
    re-scored candidate), and returns the same kind it is given.
    """

    def __call__(self, matlg: _Score, matdg: _Score, /) -> tuple[_Score, _Score]: ...


#: A queue entry: (-key[0], -key[1], holder, candidate, matlg the key was computed with); the
#: smallest entry is the best pattern.
_Entry = tuple[float, float, int, int, int]


def greedy_match(
    tasks: TaskBatch, state: PlatformState, utility: Utility, eligible: np.ndarray | None = None
) -> Assignment:
    """Run the greedy pattern-matching allocation (paper Alg. 2) with one utility.

    Why the lazy heap is exact: as the allocation proceeds, a pattern's shared tasks can only
    shrink (tasks leave T* when filled, its holder takes tasks, its holder's capacity falls),
    and its support never changes, so every strategy's key can only fall. A heap entry's key
    is therefore an upper bound of the pattern's current key. When the entry on top still has
    the matlg it was pushed with, its key is exact and no other pattern can beat it (all other
    keys are at most their stored bounds); when matlg has changed it is re-scored and pushed
    back. This picks the same pattern, with the same tie-breaking, as rescanning every pattern
    in every iteration (the tests compare both).

    Args:
        tasks: the batch.
        state: the platform's knowledge.
        utility: the strategy's key (see :class:`Utility`).
        eligible: optional per-pattern filter (bool over the whole pattern base).

    Returns:
        The assignment (iterations = number of pattern choices; coverage = matdg).
    """
    order = publish_order(tasks)  # rank -> task position
    if len(tasks) == 0:
        return build_assignment(tasks, order, [], [], [], tasks.copies, 0)
    rank_location = tasks.location[order].astype(np.int64)
    capacity = state.capacity.astype(np.int64)
    book = _Book.open(tasks, state, order, rank_location, capacity)
    found = _candidates(state.patterns, rank_location, capacity, eligible)
    picks = _pick_patterns(found, utility, book)
    return build_assignment(
        tasks,
        order,
        picks.users,
        picks.ranks,
        picks.coverage,
        np.asarray(book.copies_left),
        picks.iterations,
    )


@dataclass(eq=False)
class _Book:
    """What the greedy loop reads and updates, as Python lists and dicts (one scalar at a time).

    Tasks are numbered by publish rank (see :func:`~policies.base.publish_order`).

    Attributes:
        copies_left: copies each task still needs.
        room_left: tasks each user may still take (capacity g - load, minus what it got here).
        held: user -> ranks it holds (before the batch or given earlier in this allocation).
        task_location: location of each task.
        active: T* by location: ranks of the tasks still needing copies, in rank order.
    """

    copies_left: list[int]
    room_left: list[int]
    held: dict[int, set[int]]
    task_location: list[int]
    active: dict[int, list[int]]

    @classmethod
    def open(
        cls,
        tasks: TaskBatch,
        state: PlatformState,
        order: np.ndarray,
        rank_location: np.ndarray,
        capacity: np.ndarray,
    ) -> _Book:
        """The book before any pattern is chosen: every task of the batch is in T*."""
        task_location = rank_location.tolist()
        active: dict[int, list[int]] = {}
        for rank, location in enumerate(task_location):
            active.setdefault(location, []).append(rank)
        return cls(
            copies_left=tasks.copies[order].tolist(),
            room_left=capacity.tolist(),
            held=held_ranks(tasks, state, order),
            task_location=task_location,
            active=active,
        )

    def shared_tasks(self, found: _Candidates) -> Callable[[int, int], list[int]]:
        """``shared(candidate, holder)``: ranks of the candidate's shared tasks now, capped at
        its holder's room, earliest published (then lowest id) first.

        A closure over local names rather than a method: it runs once per popped candidate,
        which is the hot path of the whole allocation.
        """
        room_left, held, active = self.room_left, self.held, self.active
        location_ptr = found.location_ptr.tolist()
        locations = found.location.tolist()

        def shared(candidate: int, user: int) -> list[int]:
            room = room_left[user]
            if room <= 0:
                return []
            mine = held.get(user)
            start, stop = location_ptr[candidate], location_ptr[candidate + 1]
            if stop - start == 1:  # most candidates: one list, already in rank order
                here = active[locations[start]]
                return [rank for rank in here if rank not in mine][:room] if mine else here[:room]
            ranks: list[int] = []
            for location in locations[start:stop]:
                ranks.extend(rank for rank in active[location] if not mine or rank not in mine)
            ranks.sort()  # earliest published first, then lowest id
            return ranks[:room]

        return shared


@dataclass(eq=False)
class _Picks:
    """The assigned (user, task rank, coverage) pairs in order, and the pattern choices."""

    users: list[int]
    ranks: list[int]
    coverage: list[float]
    iterations: int


def _pick_patterns(found: _Candidates, utility: Utility, book: _Book) -> _Picks:
    """The greedy loop: pop the best candidate, re-score it if its matlg fell, else let it win.

    The first scores come as a sorted stream (see :func:`_first_scores`), popped front to back,
    much cheaper than heap pops: most candidates are popped once and found dead. Only re-scored
    entries go to the heap. The best entry is the smaller of the stream's head and the heap's
    top (a candidate is in one of them only). ``book`` is updated in place.
    """
    stream = _first_scores(found, utility)
    heap: list[_Entry] = []
    head = 0
    support = found.support.tolist()
    shared = book.shared_tasks(found)
    held, room_left, copies_left = book.held, book.room_left, book.copies_left
    active, task_location = book.active, book.task_location
    open_tasks = len(copies_left)  # tasks still needing copies
    users: list[int] = []
    ranks: list[int] = []
    coverage: list[float] = []
    iterations = 0
    while open_tasks:
        if heap and (head == len(stream) or heap[0] < stream[head]):
            entry = heapq.heappop(heap)
        elif head < len(stream):
            entry = stream[head]
            head += 1
        else:
            break
        user, candidate, pushed = entry[2], entry[3], entry[4]
        chosen = shared(candidate, user)
        if not chosen:
            continue
        if len(chosen) != pushed:
            key = utility(float(len(chosen)), support[candidate])
            heapq.heappush(heap, (-key[0], -key[1], user, candidate, len(chosen)))
            continue
        # The winner: each shared task gets one copy from its holder (inline, not a helper:
        # a call per winner measurably slowed small batches). It matches nothing afterwards
        # (all its shared tasks are now held, or its holder is full): not pushed back.
        iterations += 1
        claim = support[candidate]
        mine = held.setdefault(user, set())
        room_left[user] -= len(chosen)
        for rank in chosen:
            users.append(user)
            ranks.append(rank)
            coverage.append(claim)
            mine.add(rank)
            copies_left[rank] -= 1
            if copies_left[rank] == 0:  # the task leaves T*
                active[task_location[rank]].remove(rank)
                open_tasks -= 1
    return _Picks(users, ranks, coverage, iterations)


def _first_scores(found: _Candidates, utility: Utility) -> list[_Entry]:
    """Every candidate's entry with its first score (matlg = its bound), best first.

    Sorted once with numpy instead of heapified. Candidates are in pattern-id order, so the
    candidate index breaks ties exactly as the pattern id does.
    """
    first, second = utility(found.bound.astype(np.float64), found.support)
    neg_first = -np.asarray(first, dtype=np.float64)
    neg_second = -np.asarray(second, dtype=np.float64)
    by_key = np.lexsort((np.arange(len(neg_first)), found.holder, neg_second, neg_first))
    return list(
        zip(
            neg_first[by_key].tolist(),
            neg_second[by_key].tolist(),
            found.holder[by_key].tolist(),
            by_key.tolist(),
            found.bound[by_key].tolist(),
            strict=True,
        )
    )


@dataclass(frozen=True, eq=False)
class _Candidates:
    """The patterns that may match a batch, with their batch locations (CSR).

    Candidates are numbered in ascending pattern-id order (which is all the engine needs of
    the ids: they only break ties).

    Attributes:
        holder: holder code of each.
        support: matdg of each.
        bound: upper bound of matlg: the batch tasks at the pattern's distinct locations,
            capped at the holder's capacity (held pairs are ignored, hence only a bound; the
            engine's re-scoring on pop makes the result exact).
        location_ptr, location: candidate ``i``'s distinct locations that hold batch tasks
            are ``location[location_ptr[i]:location_ptr[i + 1]]``.
    """

    holder: np.ndarray
    support: np.ndarray
    bound: np.ndarray
    location_ptr: np.ndarray
    location: np.ndarray


def _candidates(
    base: PatternBase, rank_location: np.ndarray, capacity: np.ndarray, eligible: np.ndarray | None
) -> _Candidates:
    """Patterns containing a batch location, vectorised.

    The batch must not be empty.
    """
    batch_locations, per_location = np.unique(rank_location, return_counts=True)
    # One pass over all items (a running count of batch-location hits, compared at pattern
    # bounds) instead of the base's location index: building that index is a one-off sort of
    # every item, which at 100,000 users cost more than a whole day of this pass.
    at_batch = np.zeros(len(base.locations), dtype=bool)
    at_batch[batch_locations] = True
    hits = np.concatenate(([0], np.cumsum(at_batch[base.items], dtype=np.int64)))
    matches = hits[base.offsets[1:]] > hits[base.offsets[:-1]]
    if eligible is not None:
        matches &= eligible
    pattern = np.flatnonzero(matches)
    pattern = pattern[capacity[base.holder[pattern]] > 0]
    starts = base.offsets[pattern]
    lengths = base.offsets[pattern + 1] - starts
    owner = np.repeat(np.arange(len(pattern)), lengths)
    element = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(len(owner))
    location = base.items[element].astype(np.int64)
    # Distinct (candidate, batch location) pairs, grouped by candidate: locations without batch
    # tasks are dropped, then a location repeated within a pattern (a pattern that revisits a
    # place shares its tasks once). Repeats are found by comparing each pair with the few
    # before it (a pattern has few batch locations), not by sorting all pairs: that sort cost
    # more than the whole greedy loop at 100,000 users. The engine does not depend on the
    # order of a candidate's locations.
    slot = np.minimum(np.searchsorted(batch_locations, location), len(batch_locations) - 1)
    in_batch = batch_locations[slot] == location
    pair_owner, pair_location, slot = owner[in_batch], location[in_batch], slot[in_batch]
    first = np.ones(len(pair_owner), dtype=bool)
    longest = int(np.bincount(pair_owner).max()) if len(pair_owner) else 0
    for lag in range(1, longest):
        first[lag:] &= (pair_owner[lag:] != pair_owner[:-lag]) | (
            pair_location[lag:] != pair_location[:-lag]
        )
    pair_owner, pair_location, slot = pair_owner[first], pair_location[first], slot[first]
    holder = base.holder[pattern].astype(np.int64)
    tasks_here = np.bincount(pair_owner, weights=per_location[slot], minlength=len(pattern))
    bound = np.minimum(tasks_here.astype(np.int64), capacity[holder])
    keep = bound > 0
    kept_pairs = keep[pair_owner]
    renumber = np.cumsum(keep) - 1
    location_ptr = np.concatenate(
        ([0], np.cumsum(np.bincount(renumber[pair_owner[kept_pairs]], minlength=int(keep.sum()))))
    )
    return _Candidates(
        holder=holder[keep],
        support=np.asarray(base.support, dtype=np.float64)[pattern[keep]],
        bound=bound[keep],
        location_ptr=location_ptr.astype(np.int64),
        location=pair_location[kept_pairs],
    )


class PatternPolicy(AllocationPolicy):
    """A pattern-matching strategy: the greedy engine plus a utility (and a pattern filter).

    Subclasses set :attr:`utility` and, where the strategy discards patterns, override
    :meth:`_eligible`. They are deterministic and take no seed.
    """

    utility: ClassVar[Utility]

    def _eligible(self, state: PlatformState) -> np.ndarray | None:
        """Patterns the strategy may use (None: all of them)."""
        return None

    def _allocate(self, tasks: TaskBatch, state: PlatformState) -> Assignment:
        return greedy_match(tasks, state, type(self).utility, self._eligible(state))


def _length_first(matlg: _Score, matdg: _Score, /) -> tuple[_Score, _Score]:
    return matlg, matdg


def _degree_first(matlg: _Score, matdg: _Score, /) -> tuple[_Score, _Score]:
    return matdg, matlg


def _product(matlg: _Score, matdg: _Score, /) -> tuple[_Score, _Score]:
    return matlg * matdg, matlg


class MLP(PatternPolicy):
    """Matching-length preferred: max matlg (ties: higher support, lower holder, lower id).

    Bundles as many tasks as possible per recruited user, so it recruits the fewest users and
    runs the fewest iterations, at the price of coverage.
    """

    utility = staticmethod(_length_first)


class MDP(PatternPolicy):
    """Matching-degree preferred: max matdg (ties: longer match, lower holder, lower id).

    Trusts the most regular routines first, so it claims the highest coverage.
    """

    utility = staticmethod(_degree_first)


class IU2(PatternPolicy):
    """Integrated utility 2: max matlg x matdg (ties: longer match, lower holder, lower id).

    The product is the expected number of the bundle's tasks the holder actually senses.
    """

    utility = staticmethod(_product)


class IU1(PatternPolicy):
    """Integrated utility 1: drop patterns with matdg < delta, then max matlg as MLP does.

    Args:
        delta: the support threshold in [0, 1] (the paper's 0.7). Patterns with support
            exactly delta are kept.
    """

    utility = staticmethod(_length_first)

    def __init__(self, *, delta: float = 0.7) -> None:
        self.delta = check_unit_interval(self.name, "delta", delta)

    def _eligible(self, state: PlatformState) -> np.ndarray:
        return np.asarray(state.patterns.support) >= self.delta

    def _parameters(self) -> dict[str, object]:
        return {"delta": self.delta}
