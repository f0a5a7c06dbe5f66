"""The pattern base (mcsim.mining.patterns.base): order, location index, selection, table
round trip. Its closed reductions (mcsim.mining.patterns.closed) are tested in test_closed.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcsim.mining.patterns import PatternBase

ARRAYS = ("holder", "offsets", "items", "support", "count", "n_cycles")


def test_base_is_sorted_and_consistent(routine_base: PatternBase) -> None:
    base = routine_base
    keys = [
        (int(base.holder[i]), len(base.pattern(i)), base.pattern(i).tolist())
        for i in range(len(base))
    ]
    assert keys == sorted(keys)
    assert np.array_equal(base.support, base.count / base.n_cycles)
    for u in np.unique(base.holder):
        assert (base.holder[base.of_user(int(u))] == u).all()
        assert len(base.of_user(int(u))) == (base.holder == u).sum()
    assert base.holder.dtype == np.int32 and base.items.dtype == np.int32
    assert base.offsets.dtype == np.int64 and base.count.dtype == np.int32


def test_containing_agrees_with_brute_force(routine_base: PatternBase) -> None:
    base = routine_base
    for location in range(len(base.locations)):
        expected = [i for i in range(len(base)) if location in base.pattern(i)]
        assert base.containing(location).tolist() == expected
    with pytest.raises(IndexError):
        base.containing(len(base.locations))
    with pytest.raises(IndexError):
        base.containing(-1)


def test_select_keeps_order_and_universes(routine_base: PatternBase) -> None:
    mask = np.arange(len(routine_base)) % 3 == 0
    part = routine_base.select(mask)
    assert len(part) == mask.sum()
    assert part.users is routine_base.users and part.locations is routine_base.locations
    for j, i in enumerate(np.flatnonzero(mask)):
        assert part.pattern(j).tolist() == routine_base.pattern(int(i)).tolist()
        assert (part.holder[j], part.count[j]) == (routine_base.holder[i], routine_base.count[i])
    with pytest.raises(ValueError, match="boolean"):
        routine_base.select(np.ones(len(routine_base), dtype=int))
    with pytest.raises(ValueError, match="shape"):
        routine_base.select(np.ones(len(routine_base) + 1, dtype=bool))


def test_frame_round_trip(routine_base: PatternBase, tmp_path: Path) -> None:
    frame = routine_base.to_frame()
    assert list(frame.columns) == ["user", "pattern", "support", "count", "n_cycles"]
    assert isinstance(frame["pattern"][0], list) and isinstance(frame["pattern"][0][0], str)
    frame.to_parquet(tmp_path / "patterns.parquet")
    for again in (frame, pd.read_parquet(tmp_path / "patterns.parquet")):
        back = PatternBase.from_frame(again, routine_base.users, routine_base.locations)
        for name in ARRAYS:
            assert np.array_equal(getattr(back, name), getattr(routine_base, name)), name
        assert (back.minsup, back.max_length) == (0.3, None)
    # Without universes, codes follow the sorted ids in the table: same rows by name.
    shuffled = PatternBase.from_frame(frame.sample(frac=1.0, random_state=0))
    assert sorted(map(str, shuffled.to_frame().itertuples(index=False))) == sorted(
        map(str, frame.itertuples(index=False))
    )


def test_from_frame_validates(routine_base: PatternBase) -> None:
    frame = routine_base.to_frame()
    with pytest.raises(ValueError, match="lacks column"):
        PatternBase.from_frame(frame.drop(columns="count"))
    with pytest.raises(ValueError, match="user universe"):
        PatternBase.from_frame(frame, routine_base.users[1:], routine_base.locations)
    with pytest.raises(ValueError, match="location universe"):
        PatternBase.from_frame(frame, routine_base.users, routine_base.locations[:1])
    wrong = frame.assign(support=frame["support"] / 2)
    with pytest.raises(ValueError, match="support differs"):
        PatternBase.from_frame(wrong)
    # Without attrs, minsup falls back to the smallest support and max_length to None.
    bare = pd.DataFrame(frame.to_dict("list"))
    assert PatternBase.from_frame(bare).minsup == frame["support"].min()
    assert PatternBase.from_frame(bare, minsup=0.25, max_length=3).max_length == 3
