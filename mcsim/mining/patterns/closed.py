"""Closed reductions of a pattern base (paper Section 3, Fig. 4: total > intra > inter-closed).

Kept apart from :mod:`~mcsim.mining.patterns.base` because it is the one piece of set algebra
on patterns: the base stores and indexes patterns, this module decides which are redundant.
Both reductions are vectorised level by level (patterns of one length at a time), looking up
one-longer super-sequences by deleting one position of the longer patterns.

* **user intra-closed** (:func:`intra_redundant`): a pattern p of user u is dropped when
  another pattern of u is a proper super-sequence of p (p is a subsequence of it) with the
  same count. This is the standard closed sequential pattern (BIDE's definition). Within a
  base mined with ``max_length``, "another pattern" means one in the base, i.e. of length at
  most ``max_length``: a longest kept pattern is not dropped for a super-sequence that the base
  does not hold.
* **user inter-closed** (:func:`inter_redundant`): on the intra-closed set, a pattern p of user
  u is dropped when some pattern q of *any* user is a proper super-sequence of p with
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

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mcsim.mining.patterns.base import PatternBase


def intra_redundant(base: PatternBase) -> np.ndarray:
    """Boolean mask of the patterns that are not user intra-closed.

    A super-sequence with equal count implies one exactly one location longer with equal
    count (counts only fall as patterns grow, and every pattern between the two is in a
    mined base, which holds all frequent patterns up to its length bound), so only
    one-longer super-sequences are looked up, by deleting each position.
    """
    dropped = np.zeros(len(base), dtype=bool)
    levels = _levels_of(base)
    for k, (ids, rows) in levels.items():
        longer = levels.get(k + 1)
        if longer is None:
            continue
        super_ids, super_rows = longer
        subs = _deletions(super_rows)
        keyed = np.column_stack((base.holder[ids], rows))
        sub_keyed = np.column_stack((np.tile(base.holder[super_ids], k + 1), subs))
        group, n_groups = _group_rows(np.concatenate((keyed, sub_keyed)))
        best = np.full(n_groups, -1, dtype=np.int64)
        np.maximum.at(best, group[len(ids) :], np.tile(base.count[super_ids], k + 1))
        dropped[ids] = best[group[: len(ids)]] == base.count[ids]
    return dropped


def inter_redundant(base: PatternBase) -> np.ndarray:
    """Boolean mask of the patterns of an intra-closed ``base`` that are not inter-closed.

    Top-down over lengths, every subsequence s of a kept pattern gets ``best(s)``, the
    highest support of a pattern (any user) that contains s or equals it; s's proper
    super-sequences all pass through a one-longer one, so ``dominating(s)`` is the maximum
    of ``best`` over s's one-longer super-sequences, obtained by deleting one position.
    """
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
    return dropped


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
