"""The campus renderer (mcsim.envs.render): image format, determinism, what lands where, the
coordinate edge cases (partly or wholly unknown, a single location) and, as a hypothesis
property, that any valid frame draws inside its bands with the palette's colours only.

Speed is recorded, never asserted (a loaded CI machine must not fail a correct renderer):
test_render_speed_is_recorded stores the per-frame time [µs] in the test's user properties
``frame_us_68_users`` and ``frame_us_1000_users`` (``pytest --junitxml`` writes them)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcsim.envs import render
from mcsim.envs.render import CampusRenderer, Frame

RED = list(render.TASK)
ORANGE = list(render.CANDIDATE)
BLUE = list(render.USER)
PALETTE = {
    render.BACKGROUND,
    render.LOCATION,
    render.USER,
    render.CANDIDATE,
    render.TASK,
    render.BAR_TRACK,
    render.BAR_FILL,
    render.TEXT,
}


def campus(n_locations: int = 124, seed: int = 0) -> np.ndarray:
    """Longitude, latitude [deg] of a campus-sized area (about 1.6 x 1.6 km), 10 unknown."""
    rng = np.random.default_rng(seed)
    xy = np.column_stack(
        [rng.uniform(-117.2424, -117.2256, n_locations), rng.uniform(32.8729, 32.8874, n_locations)]
    )
    xy[rng.choice(n_locations, min(10, n_locations - 1), replace=False)] = np.nan
    return xy


def frame(xy: np.ndarray, n_users: int = 68, seed: int = 0, **change: object) -> Frame:
    """A frame with users at random known locations, a task at a known one, 3 candidates."""
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(np.isfinite(xy).all(axis=1))
    where = known if len(known) else np.arange(len(xy))
    fields: dict[str, Any] = {
        "location_xy": xy,
        "user_location": rng.choice(where, n_users),
        "task_location": int(where[0]),
        "candidates": np.array([1, 2, 3, -1, -1]),
        "open_task_locations": where[1:4],
        "time_s": 9 * 3600.0,
        "day_length_s": 24 * 3600.0,
        "caption": "decision 2, task 17, copy 1/3",
    }
    fields.update(change)
    return Frame(**fields)


def colours(image: np.ndarray) -> set[tuple[int, int, int]]:
    """The distinct (r, g, b) colours of an image (packed to one int each: a fast unique)."""
    rgb = image.reshape(-1, 3).astype(np.int32)
    packed = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2])
    return {(int(p >> 16), int(p >> 8) & 255, int(p) & 255) for p in packed}


@pytest.mark.parametrize("size", [64, 256, 513])
def test_image_is_uint8_rgb_of_the_size(size: int) -> None:
    xy = campus()
    image = CampusRenderer(xy, size=size).render(frame(xy))
    assert image.shape == (size, size, 3)
    assert image.dtype == np.uint8
    assert image.flags.writeable and image.flags.c_contiguous  # RecordVideo writes it as is


def test_same_frame_same_image_and_a_new_array_each_time() -> None:
    xy = campus()
    a, b = CampusRenderer(xy), CampusRenderer(xy)
    f = frame(xy)
    first = a.render(f)
    first[:] = 0  # a caller's edit must not leak into the next frame
    assert np.array_equal(a.render(f), b.render(f))
    assert np.array_equal(a.render(f), CampusRenderer(xy).render(frame(xy)))


def test_the_task_is_red_at_its_projected_position_even_among_candidates() -> None:
    xy = campus()
    renderer = CampusRenderer(xy)
    known = np.flatnonzero(np.isfinite(xy).all(axis=1))
    task = int(known[7])
    users = np.full(68, task)  # everyone, candidates included, crowds the task's location
    image = renderer.render(frame(xy, user_location=users, task_location=task))
    row, col = renderer.location_px[task]
    assert image[row, col].tolist() == RED
    assert image[row - 3 : row + 4, col - 3 : col + 4].reshape(-1, 3).tolist() == [RED] * 49


def test_projection_keeps_north_up_east_right_and_the_aspect() -> None:
    # Three points: origin, 0.01 deg east, 0.01 deg north, at latitude 60 (cos = 0.5).
    xy = np.array([[10.0, 60.0], [10.01, 60.0], [10.0, 60.01]])
    px = CampusRenderer(xy).location_px
    assert px[1, 0] == px[0, 0] and px[1, 1] > px[0, 1]  # east: same row, to the right
    assert px[2, 1] == px[0, 1] and px[2, 0] < px[0, 0]  # north: same column, above
    east, north = px[1, 1] - px[0, 1], px[0, 0] - px[2, 0]
    assert east == pytest.approx(north / 2, abs=1)  # 0.01 deg of longitude is half as long


def test_candidates_draw_orange_rings() -> None:
    xy = campus()
    renderer = CampusRenderer(xy)
    without = renderer.render(frame(xy, candidates=np.array([-1, -1, -1])))
    with_them = renderer.render(frame(xy))
    assert not np.array_equal(without, with_them)
    assert render.CANDIDATE not in colours(without)
    assert render.CANDIDATE in colours(with_them)


def test_users_at_minus_one_or_at_unknown_places_are_not_drawn() -> None:
    xy = campus()
    nowhere = int(np.flatnonzero(np.isnan(xy[:, 0]))[0])
    renderer = CampusRenderer(xy)
    users = np.array([-1, nowhere, -1, nowhere])
    image = renderer.render(frame(xy, user_location=users, candidates=np.array([0, 1, -1])))
    assert render.USER not in colours(image)
    assert render.CANDIDATE not in colours(image)  # candidates with no place have no ring
    assert np.array_equal(renderer.location_px[nowhere], [-1, -1])


def test_all_nan_coordinates_lay_locations_out_on_a_grid_by_code() -> None:
    xy = np.full((30, 2), np.nan)
    renderer = CampusRenderer(xy, size=128)
    px = renderer.location_px
    assert (px >= 0).all() and len(np.unique(px, axis=0)) == 30
    assert px[0, 0] == px[1, 0] and px[0, 1] < px[1, 1]  # row-major, code 0 top left
    image = renderer.render(frame(xy, task_location=12))
    assert image[px[12, 0], px[12, 1]].tolist() == RED
    assert render.USER in colours(image)


@pytest.mark.parametrize("xy", [[[7.0, 45.0]], [[7.0, 45.0], [7.0, 45.0]], [[np.nan, np.nan]]])
def test_a_single_place_is_drawn_at_the_centre(xy: list[list[float]]) -> None:
    renderer = CampusRenderer(np.array(xy), size=256)
    row, col = renderer.location_px[0]
    assert abs(col - 128) <= 1 and abs(row - 128) <= 8  # rows: between the bar and caption
    image = renderer.render(frame(np.array(xy), n_users=5, task_location=0))
    assert image[row, col].tolist() == RED


def test_time_bar_fills_the_share_of_the_day() -> None:
    xy = campus()
    renderer = CampusRenderer(xy, size=200)
    for time_s, filled in ((-5.0, 0), (0.0, 0), (21600.0, 50), (86400.0, 200), (1e6, 200)):
        image = renderer.render(frame(xy, time_s=time_s))
        assert (image[0] == render.BAR_FILL).all(axis=1).sum() == filled


def test_caption_is_written_in_the_bottom_band_only() -> None:
    xy = campus()
    renderer = CampusRenderer(xy)
    blank = renderer.render(frame(xy, caption=""))
    text = renderer.render(frame(xy, caption="decision 2, task 17 — ü"))  # ? for the unknown
    changed = np.flatnonzero((blank != text).any(axis=(1, 2)))
    assert len(changed) and changed.min() >= 256 - 7
    assert render.TEXT in colours(text) and render.TEXT not in colours(blank)
    renderer.render(frame(xy, caption="x" * 1000))  # cut at the width, no error


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"user_location": np.array([0, 124])}, "user_location"),
        ({"user_location": np.array([-2, 0])}, "user_location"),
        ({"task_location": 124}, "task_location"),
        ({"candidates": np.array([68])}, "candidates"),
        ({"open_task_locations": np.array([500])}, "open_task_locations"),
        ({"location_xy": np.zeros((3, 2))}, "locations"),
        ({"day_length_s": 0.0}, "day_length_s"),
        ({"time_s": float("nan")}, "time_s"),
    ],
)
def test_bad_frames_are_refused_with_the_field_named(change: dict, match: str) -> None:
    xy = campus()
    with pytest.raises(ValueError, match=match):
        CampusRenderer(xy).render(frame(xy, **change))


def test_bad_renderer_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        CampusRenderer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="size"):
        CampusRenderer(campus(), size=32)


@st.composite
def frames(draw: st.DrawFn) -> tuple[int, Frame]:
    """A size and a valid frame: any mix of known, NaN and coincident places, any codes."""
    n_loc = draw(st.integers(1, 30))
    spread = draw(st.sampled_from([0.0, 1e-6, 0.02, 5.0]))  # [deg] one point .. a region
    lon = draw(st.lists(st.floats(-1, 1), min_size=n_loc, max_size=n_loc))
    lat = draw(st.lists(st.floats(-1, 1), min_size=n_loc, max_size=n_loc))
    unknown = draw(st.lists(st.booleans(), min_size=n_loc, max_size=n_loc))
    xy = np.column_stack([10.0 + spread * np.array(lon), 45.0 + spread * np.array(lat)])
    xy[np.array(unknown)] = np.nan
    n_users = draw(st.integers(0, 80))
    loc_codes = st.integers(-1, n_loc - 1)
    users = draw(st.lists(loc_codes, min_size=n_users, max_size=n_users))
    cands = draw(st.lists(st.integers(-1, n_users - 1), max_size=8))
    opens = draw(st.lists(st.integers(0, n_loc - 1), max_size=10))
    f = Frame(
        location_xy=xy,
        user_location=np.array(users, dtype=np.int64),
        task_location=draw(loc_codes),
        candidates=np.array(cands, dtype=np.int64),
        open_task_locations=np.array(opens, dtype=np.int64),
        time_s=draw(st.floats(-1e5, 2e5)),
        day_length_s=draw(st.floats(1.0, 2e5)),
        caption=draw(st.text(max_size=60)),
    )
    return draw(st.integers(64, 520)), f


@settings(max_examples=60, deadline=None)
@given(case=frames())
def test_any_valid_frame_renders_inside_its_bands(case: tuple[int, Frame]) -> None:
    size, f = case
    renderer = CampusRenderer(f.location_xy, size=size)
    image = renderer.render(f)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    assert colours(image) <= PALETTE
    # Nothing of the map reaches the top row (the time bar) or the bottom row (the caption's
    # padding), and nothing wraps around an edge.
    assert colours(image[0]) <= {render.BAR_TRACK, render.BAR_FILL}
    assert colours(image[-1]) == {render.BACKGROUND}
    assert colours(image[1:-1, [0, -1]]) <= {render.BACKGROUND, render.BAR_TRACK, render.BAR_FILL}
    px = renderer.location_px
    known = np.isfinite(f.location_xy).all(axis=1) | ~np.isfinite(f.location_xy).any()
    assert ((px >= 0).all(axis=1) == known).all()
    assert ((px[known] > 0) & (px[known] < size - 1)).all()
    if f.task_location >= 0 and known[f.task_location]:
        row, col = px[f.task_location]
        assert image[row, col].tolist() == RED


def test_render_speed_is_recorded(request: pytest.FixtureRequest) -> None:
    xy = campus()
    renderer = CampusRenderer(xy)
    for n_users in (68, 1000):
        f = frame(xy, n_users=n_users, candidates=np.arange(8))
        expected = renderer.render(f)
        start = time.perf_counter()
        for _ in range(50):
            image = renderer.render(f)
        frame_us = (time.perf_counter() - start) / 50 * 1e6
        request.node.user_properties.append((f"frame_us_{n_users}_users", round(frame_us, 1)))
        assert np.array_equal(image, expected)
        assert render.USER in colours(image)
