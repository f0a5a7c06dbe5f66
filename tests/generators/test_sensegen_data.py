"""HAPT loading, gravity removal, user split, normalisation and TBPTT streams."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.sensegen.data import (
    UNLABELLED,
    Normalizer,
    Series,
    Streams,
    WindowAmplitudes,
    body_acceleration,
    load_hapt,
    read_activity_names,
    split_by_user,
    window_log_std,
)
from mcsim.errors import InputError


def test_loader_removes_gravity_and_labels_samples(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    assert [(r.user, r.experiment) for r in recs] == [(1, 1), (2, 2)]
    rec = recs[0]
    assert rec.acc.shape == (3000, 3) and rec.acc.dtype == np.float32
    assert np.abs(rec.acc[500:2500].mean(axis=0)).max() < 0.01  # gravity (1 g on z) is gone
    assert 0.1 < rec.acc[500:2500].std() < 0.2  # the 0.2 g sway stays
    # labels.txt is 1-based and inclusive: "1 101 1100" covers samples 100..1099
    assert rec.labels[99] == UNLABELLED and rec.labels[100] == 1 and rec.labels[1099] == 1
    assert rec.labels[1100] == UNLABELLED and rec.labels[1200] == 4
    assert read_activity_names(synthetic_hapt)[1] == "WALKING"


def test_body_acceleration_removes_slow_drift() -> None:
    t = np.arange(5000) / 50.0
    gravity = np.stack([np.zeros_like(t), 0.3 * np.sin(2 * np.pi * 0.02 * t), 1 + 0 * t], 1)
    motion = 0.1 * np.sin(2 * np.pi * 3.0 * t)[:, None] * np.ones(3)
    body = body_acceleration(gravity + motion)
    assert np.abs(body[500:-500] - motion[500:-500]).max() < 0.01


def test_split_by_user_is_disjoint(synthetic_hapt: Path) -> None:
    train, val = split_by_user(load_hapt(synthetic_hapt), (2,))
    assert {r.user for r in train} == {1} and {r.user for r in val} == {2}
    with pytest.raises(InputError, match="user split"):
        split_by_user(load_hapt(synthetic_hapt), (7,))


def test_normalizer_round_trip(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    norm = Normalizer.fit(recs)
    z = norm.normalize(recs[0].acc)
    assert np.allclose(norm.denormalize(z), recs[0].acc, atol=1e-6)
    assert Normalizer.from_dict(norm.to_dict()) == norm


def test_streams_carry_on_and_restart(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs))
    streams = Streams(series, 3, 700, 1.0, torch.Generator().manual_seed(0), lane_life=math.inf)
    x1, t1, c1, r1 = streams.next_chunk()
    x2, _, _, r2 = streams.next_chunk()
    assert x1.shape == (3, 700, 3) and c1.shape == (3, 700)
    assert torch.equal(t1[:, :-1], x1[:, 1:])  # target is the input shifted by one step
    cont = ~r2
    assert torch.equal(x2[cont, 0], t1[cont, -1])  # a lane continues where it stopped
    for _ in range(5):
        *_, reset = streams.next_chunk()
        assert reset.dtype == torch.bool
    assert not r1.any() and not c1.any()  # unconditioned lanes: condition "none"
    short = Streams(series, 200, 50, 1.0, torch.Generator().manual_seed(0), lane_life=4.0)
    short.next_chunk()
    x, _, _, reset = short.next_chunk()
    assert 0.15 < float(reset.float().mean()) < 0.35  # about 1 in 4 lanes restart
    assert not x[reset, 0].any() and x[~reset, 0].any()  # a fresh lane starts from zero


def test_conditioned_lanes_stay_inside_one_activity_segment(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs))
    # segments: walking (id 1) 100..1099 and sitting (id 4) 1200..2899 of each recording
    assert series.segment_labels.tolist() == [1, 4, 1, 4]
    assert series.segment_starts.tolist() == [100, 1200, 3100, 4200]
    assert series.segment_lengths.tolist() == [1000, 1700, 1000, 1700]
    streams = Streams(series, 16, 90, 0.0, torch.Generator().manual_seed(1))
    for _ in range(60):
        x, _, cond, reset = streams.next_chunk()
        assert reset.all() and not x[:, 0].any()  # fresh state, zero first input
        start = streams.position - 90  # where this chunk began
        labels = series.labels[start[:, None] + torch.arange(91)]
        assert (labels == cond[:, :1]).all()  # every step, target included, in the activity
        assert (cond == cond[:, :1]).all() and (cond > 0).all()
    mixed = Streams(series, 10, 50, 0.3, torch.Generator().manual_seed(2))
    _, _, cond, reset = mixed.next_chunk()
    assert not cond[:3].any() and (cond[3:] > 0).all() and reset[3:].all()


def test_conditioned_lanes_carry_their_users_style(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs), styles={2: 1})
    assert series.segment_styles.tolist() == [0, 0, 1, 1]  # user 1 has none, user 2 style 1
    streams = Streams(series, 32, 90, 0.0, torch.Generator().manual_seed(3), style_stride=13)
    seen = set()
    for _ in range(10):
        _, _, cond, _ = streams.next_chunk()
        start = streams.position - 90
        user_two = start >= len(recs[0].acc)
        labels = series.labels[start]
        assert (cond[:, 0] == labels + 13 * user_two).all()
        seen |= set(cond[:, 0].tolist())
    assert seen == {1, 4, 14, 17}


def test_window_amplitudes_are_the_mean_log_std_of_real_windows(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs), styles={2: 1})
    # segments: walking 1000 and sitting 1700 samples, in user 1 (no style) and user 2 (style 1)
    amplitudes = WindowAmplitudes(series, 300, style_stride=13)
    assert amplitudes.windows[[1, 4, 14, 17]].tolist() == [3, 5, 3, 5]
    assert int(amplitudes.windows.sum()) == 16  # no other condition has a window
    sitting = series.values[4200 : 4200 + 5 * 300].reshape(5, 300, 3)  # user 2's, style 1
    expected = sitting.std(dim=1).log().mean(0)
    assert torch.allclose(amplitudes.target[17], expected, atol=1e-5)
    drawn = amplitudes.draw(1600, torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) == {1, 4, 14, 17}
    assert 0.25 < float((drawn == 4).float().mean()) < 0.38  # 5 of 16 real windows
    # Each real window's own log std is kept, grouped by condition: draws of a condition come
    # from its windows only.
    assert torch.allclose(amplitudes.values[amplitudes.first[17] :][:5], sitting.std(1).log())
    real = amplitudes.real(torch.tensor([17, 1]), 200, torch.Generator().manual_seed(0))
    assert real.shape == (2, 200, 3)
    assert {tuple(v) for v in real[0].tolist()} == {tuple(v) for v in sitting.std(1).log().tolist()}
    assert len({tuple(v) for v in real[1].tolist()}) == 3  # walking without a style: 3 windows
    cond, run = amplitudes.draw_groups(9, 4, torch.Generator().manual_seed(0))
    assert run.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]  # two runs, none of a single window
    assert cond[:5].unique().numel() == 1 and cond[5:].unique().numel() == 1
    assert amplitudes.draw_groups(3, 4, torch.Generator())[1].tolist() == [0, 0, 0]
    assert amplitudes.activities(torch.tensor([1, 4, 14, 17])).tolist() == [1, 4, 1, 4]
    no_styles = WindowAmplitudes(series, 300)
    assert no_styles.activities(torch.tensor([1, 4])).tolist() == [1, 4]
    with pytest.raises(InputError, match="no labelled segment is 2000 samples long"):
        WindowAmplitudes(series, 2000)
    with pytest.raises(InputError, match="at least 2 samples, got 0"):
        WindowAmplitudes(series, 0)


def test_window_log_std_has_a_floor() -> None:
    windows = torch.stack([torch.zeros(50, 3), torch.linspace(-1, 1, 50)[:, None].expand(50, 3)])
    got = window_log_std(windows, floor=1e-3)
    assert torch.allclose(got[0], torch.full((3,), math.log(1e-3)))
    assert torch.allclose(got[1], windows[1].std(dim=0).log())


def test_random_windows_of_one_activity(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs))
    _, labels = series.random_windows(50, 400, torch.Generator().manual_seed(0), activity=4)
    assert (labels == 4).all()
    with pytest.raises(InputError, match="no segment of activity id 1 is 1500 samples long"):
        series.random_windows(5, 1500, torch.Generator(), activity=1)


def test_streams_state_round_trip(synthetic_hapt: Path) -> None:
    recs = load_hapt(synthetic_hapt)
    series = Series(recs, Normalizer.fit(recs))
    rng = torch.Generator().manual_seed(0)
    a = Streams(series, 2, 100, 0.5, rng)
    a.next_chunk()
    saved, rng_state = a.state_dict(), rng.get_state()
    expected = a.next_chunk()
    rng2 = torch.Generator()
    rng2.set_state(rng_state)
    b = Streams(series, 2, 100, 0.5, torch.Generator().manual_seed(9))
    b.generator = rng2
    b.load_state_dict(saved)
    for got, want in zip(b.next_chunk(), expected, strict=True):
        assert torch.equal(got, want)


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path / "nowhere")):
        load_hapt(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("content", "reason"),
    [("1 2\n3 4\n", "3 columns"), ("a b c\n" * 40, "numeric"), ("1 2 nan\n" * 40, "finite")],
)
def test_corrupt_recording_names_the_file(synthetic_hapt: Path, content: str, reason: str) -> None:
    bad = synthetic_hapt / "RawData" / "acc_exp01_user01.txt"
    bad.write_text(content)
    with pytest.raises(InputError, match=reason) as info:
        load_hapt(synthetic_hapt)
    assert "acc_exp01_user01.txt" in str(info.value)


def test_label_outside_recording_is_an_error(synthetic_hapt: Path) -> None:
    (synthetic_hapt / "RawData" / "labels.txt").write_text("1 1 1 10 99999\n")
    with pytest.raises(InputError, match="outside experiment 1"):
        load_hapt(synthetic_hapt)


def test_real_hapt_user(hapt_dir: Path) -> None:
    recs = load_hapt(hapt_dir, users={1})
    assert [r.experiment for r in recs] == [1, 2]
    acc = np.concatenate([r.acc for r in recs])
    assert np.abs(acc.mean(axis=0)).max() < 0.01  # gravity removed
    labels = np.concatenate([r.labels for r in recs])
    assert set(np.unique(labels)) <= set(range(13)) and (labels == 1).any()
    assert len(read_activity_names(hapt_dir)) == 13
