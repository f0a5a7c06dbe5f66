"""Seed streams (mcsim.seeding): deterministic, independent across streams and keys, and the
stream numbers pinned (they are part of every run's results)."""

from __future__ import annotations

import numpy as np
import pytest

from mcsim.seeding import Stream, rng_for, seed_for


def test_stream_numbers_are_pinned() -> None:
    # Renumbering a stream changes every run's metrics (and the golden files).
    assert {s.name: int(s) for s in Stream} == {
        "TRACE": 0,
        "DAY_ORDER": 1,
        "DAY": 2,
        "TASKS": 3,
        "SENSOR": 4,
        "POPULATION": 5,
        "TRAIN_DAY": 6,
        "DISHONEST": 7,
    }


def test_seed_for_reference_values() -> None:
    # SeedSequence(seed, spawn_key=(stream, *key)).generate_state(1)[0], computed once.
    assert seed_for(20180101, Stream.TRACE) == 1250807068
    assert seed_for(20180101, Stream.DAY, 0) == 1750878068
    assert seed_for(0, Stream.SENSOR, 0, 1) == 482028579
    assert rng_for(20180101, Stream.TASKS, 0, 0).integers(1000, size=3).tolist() == [24, 356, 957]


def test_seed_for_is_the_spawn_key_of_its_stream() -> None:
    expected = np.random.SeedSequence(7, spawn_key=(3, 1, 2)).generate_state(1)[0]
    assert seed_for(7, Stream.TASKS, 1, 2) == int(expected)
    assert isinstance(seed_for(7, Stream.TASKS, 1, 2), int)
    assert 0 <= seed_for(2**63 - 1, Stream.POPULATION) < 2**32


def test_deterministic() -> None:
    for stream in Stream:
        a, b = rng_for(11, stream, 4, 5), rng_for(11, stream, 4, 5)
        assert np.array_equal(a.random(8), b.random(8))
        assert seed_for(11, stream, 4, 5) == seed_for(11, stream, 4, 5)


def test_streams_and_keys_differ() -> None:
    draws = {
        (stream, key): tuple(rng_for(11, stream, *key).integers(2**62, size=2).tolist())
        for stream in Stream
        for key in [(), (0,), (1,), (0, 1), (1, 0)]
    }
    assert len(set(draws.values())) == len(draws)  # every (stream, key) its own sequence
    seeds = {seed_for(11, s, *k) for s, k in draws}
    assert len(seeds) == len(draws)
    assert seed_for(11, Stream.DAY, 0) != seed_for(12, Stream.DAY, 0)  # and the seed matters


@pytest.mark.parametrize("stream", list(Stream))
def test_rng_for_draws_from_the_same_sequence_as_seed_for(stream: Stream) -> None:
    sequence = np.random.SeedSequence(3, spawn_key=(int(stream), 9))
    assert rng_for(3, stream, 9).random() == np.random.default_rng(sequence).random()
