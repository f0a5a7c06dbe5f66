"""Repetitive mobility patterns: the breadth-first miner (paper Alg. 1) and the pattern base.

A *pattern* of user u is an ordered sequence of locations; a valid cycle of u *contains* it when
the locations occur in that order, other locations possibly in between (a subsequence, so
``home -> work -> home`` is a pattern of a day ``home, cafe, work, home``). Its count
``fre(mp)`` is the number of u's valid cycles containing it, its support ``count / N(u)``, and
it is *repetitive* when ``support >= minsup``.

The package, one job per module:

* :mod:`~mcsim.mining.patterns.miner`: Algorithm 1 on SPAM bitmaps for one user
  (:func:`mine_user`), and all users in a process pool (:func:`mine_patterns`);
* :mod:`~mcsim.mining.patterns.base`: :class:`PatternBase`, the flat sorted arrays of every
  user's patterns, their location index and their table form;
* :mod:`~mcsim.mining.patterns.closed`: the user intra- and inter-closed reductions;
* :mod:`~mcsim.mining.patterns.cache`: the content-hash cache of mined bases.
"""

from mcsim.mining.patterns.base import PatternBase
from mcsim.mining.patterns.miner import MINER_VERSION, Pattern, min_count, mine_patterns, mine_user

__all__ = ["MINER_VERSION", "Pattern", "PatternBase", "min_count", "mine_patterns", "mine_user"]
