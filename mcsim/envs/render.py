"""A campus frame as an RGB image: the env's ``render_mode="rgb_array"`` without matplotlib.

Videos (gymnasium's ``RecordVideo``) and notebooks call ``render()`` once per step, so a frame
must cost far less than a step: matplotlib takes tens of milliseconds a figure, this module a
fraction of a millisecond. :class:`CampusRenderer` projects the location coordinates once, draws
the still part (background, location dots) once, and per frame copies it and stamps a few
precomputed pixel patterns with numpy fancy indexing.

**What a frame shows** (:class:`Frame`; colours as in matplotlib's default cycle):

* grey dots: the locations with known coordinates;
* small blue dots: each user at its last reported location, shifted by a fixed offset of its
  user code (a golden-angle spiral, at most ``4 px`` at ``size=256``) so that co-located users
  stay visible and a user keeps its place from frame to frame; users at -1 (none reported
  yet) or at a location without coordinates are not drawn;
* orange rings: the candidate users of the current copy (padding -1 ignored);
* red outlines: the decision's other open tasks; a red filled square: the current task copy,
  drawn last so that it is never hidden;
* a progress bar along the top edge: time of day (``time_s / day_length_s``);
* the caption along the bottom edge in a built-in 3 x 5 pixel font (no new dependency, a few
  microseconds): upper case (lower case is shown upper), digits and
  ``, ; . / : - _ ( ) [ ] < > % = + # * ! '``; other characters show as ``?``; the text is cut
  at the image width.

**Projection.** Equirectangular around the centre of the coordinates' bounding box
(longitude scaled by cos(latitude)), north up, aspect kept, fitted into the map area with a
margin that holds every pattern; campus-sized areas only (no wrap at ±180°). Locations with
NaN coordinates are dropped: nothing is drawn for them. A single location (or all at one
point) is drawn at the centre. When no location has coordinates (a synthetic or anonymised
trace), the locations are laid out on a deterministic grid by location code instead (row-major,
code 0 top left), so users and tasks are still seen gathering and spreading.

Example:
    >>> import numpy as np
    >>> xy = np.array([[-117.24, 32.88], [-117.23, 32.87], [np.nan, np.nan]])
    >>> renderer = CampusRenderer(xy, size=128)
    >>> frame = Frame(
    ...     location_xy=xy,
    ...     user_location=np.array([0, 1, 1, -1]),
    ...     task_location=1,
    ...     candidates=np.array([2, 1, -1]),
    ...     open_task_locations=np.array([0]),
    ...     time_s=3600.0,
    ...     day_length_s=86400.0,
    ...     caption="decision 2, task 17, copy 1/3",
    ... )
    >>> image = renderer.render(frame)
    >>> image.shape, image.dtype
    ((128, 128, 3), dtype('uint8'))
    >>> row, col = renderer.location_px[1]
    >>> image[row, col].tolist()  # the current task is red
    [214, 39, 40]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BACKGROUND = (255, 255, 255)
LOCATION = (175, 175, 175)  # grey
USER = (31, 119, 180)  # blue
CANDIDATE = (255, 127, 14)  # orange
TASK = (214, 39, 40)  # red
BAR_TRACK = (228, 228, 228)
BAR_FILL = (90, 90, 90)
TEXT = (40, 40, 40)

MIN_SIZE = 64  # [px] below it the margins leave no map area
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))  # [rad] spreads consecutive codes evenly
GOLDEN_FRACTION = (math.sqrt(5.0) - 1.0) / 2.0  # Weyl sequence step of the jitter radius

# 3 x 5 glyphs: five rows, each an octal digit whose bits 4, 2, 1 are the left, middle and
# right pixel.
_GLYPHS = {
    "A": "25755", "B": "65656", "C": "34443", "D": "65556", "E": "74647", "F": "74644",
    "G": "34553", "H": "55755", "I": "72227", "J": "11152", "K": "55655", "L": "44447",
    "M": "57755", "N": "65555", "O": "25552", "P": "65644", "Q": "25563", "R": "65655",
    "S": "34216", "T": "72222", "U": "55557", "V": "55552", "W": "55775", "X": "55255",
    "Y": "55222", "Z": "71247", "0": "75557", "1": "26227", "2": "61247", "3": "61216",
    "4": "55711", "5": "74616", "6": "34757", "7": "71122", "8": "75757", "9": "75716",
    " ": "00000", ",": "00024", ".": "00002", "/": "11244", ":": "02020", "-": "00700",
    "_": "00007", "(": "12221", ")": "42224", "%": "51245", "=": "07070", "+": "02720",
    "#": "57575", "?": "61202", ";": "02024", "!": "22202", "'": "22000", "*": "05250",
    "[": "64446", "]": "31113", "<": "12421", ">": "42124",
}  # fmt: skip


def _glyph_bits(code: str) -> np.ndarray:
    """A glyph's (5, 3) bool pixels from its five octal row digits."""
    rows = [int(d, 8) for d in code]
    return np.array([[(r >> b) & 1 for b in (2, 1, 0)] for r in rows], dtype=bool)


_FONT = {ch: _glyph_bits(code) for ch, code in _GLYPHS.items()}


@dataclass(frozen=True, eq=False)
class Frame:
    """What one rendered frame shows (all arrays numpy).

    Codes are those of the env: location codes index ``location_xy``, user codes index
    ``user_location``. ``eq=False``: frames hold arrays, so equality is identity.
    """

    location_xy: np.ndarray  # float (n_locations, 2): longitude, latitude [deg] of each
    # location code; NaN where unknown
    user_location: np.ndarray  # int (n_users,): each user's last reported location code,
    # -1 unknown
    task_location: int  # location code of the current task copy, -1 none
    candidates: np.ndarray  # int (K,): user codes of the candidate slots, -1 padding
    open_task_locations: np.ndarray  # int: location codes of the decision's other open tasks
    time_s: float  # [s from cycle start]
    day_length_s: float  # [s]
    caption: str = ""  # e.g. "decision 2, task 17, copy 1/3"


def _disk(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (rows, cols) of the pixels within ``radius`` of the centre (a round dot)."""
    d = np.arange(-radius, radius + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    keep = dr**2 + dc**2 <= radius**2 + radius  # + radius: rounder small disks
    return dr[keep], dc[keep]


def _ring(radius: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of a ring of outer ``radius`` and ``width`` pixels."""
    d = np.arange(-radius, radius + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    r2 = dr**2 + dc**2
    keep = (r2 <= radius**2 + radius) & (r2 > (radius - width) ** 2 + (radius - width))
    return dr[keep], dc[keep]


def _square(half: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of a filled square of side ``2 half + 1``, or its outline ``width`` thick."""
    d = np.arange(-half, half + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    keep = np.ones(dr.shape, dtype=bool)
    if width is not None:
        keep = np.maximum(np.abs(dr), np.abs(dc)) > half - width
    return dr[keep], dc[keep]


class CampusRenderer:
    """Draws :class:`Frame` objects of one campus as ``uint8 (size, size, 3)`` RGB images.

    Everything that does not change between frames (the projection, the location dots, the
    pixel patterns) is computed here, once per env.

    Args:
        location_xy: float (n_locations, 2): longitude, latitude [deg] of each location code,
            NaN where unknown (those locations are dropped; all NaN: a grid by code).
        size: side of the square image [px], at least 64; patterns scale with ``size / 256``.

    Attributes:
        location_px: int (n_locations, 2): (row, column) [px] of each location code in the
            image, -1 where dropped; read-only.
    """

    def __init__(self, location_xy: np.ndarray, size: int = 256) -> None:
        xy = np.asarray(location_xy, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"location_xy must have shape (n_locations, 2), got {xy.shape}")
        if int(size) < MIN_SIZE:
            raise ValueError(f"size must be at least {MIN_SIZE} px, got {size}")
        self.size = int(size)
        self.n_locations = len(xy)
        u = max(1, self.size // 256)  # pattern scale
        self._bar_h = 3 * u  # [px] time bar along the top
        self._text_scale = u
        self._caption_h = 7 * u  # [px] caption band along the bottom: 5 px glyphs + padding
        self._jitter_px = 4 * u  # [px] largest user offset from its location
        self._margin = self._jitter_px + 6 * u  # [px] holds a candidate ring around a user
        self._user = _square(u // 2) if u > 1 else (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
        self._ring = _ring(5 * u, u + 1)
        self._task = _square(3 * u)
        self._open_task = _square(3 * u, u)
        self.location_px = self._project(xy)
        self.location_px.flags.writeable = False
        self._known = self.location_px[:, 0] >= 0
        self._background = self._draw_background()
        self._jitter = np.zeros((0, 2), dtype=np.int64)

    def _project(self, xy: np.ndarray) -> np.ndarray:
        """Pixel (row, col) of every location code, -1 where the coordinates are unknown."""
        top = self._bar_h + self._margin
        bottom = self.size - self._caption_h - self._margin  # exclusive
        left, right = self._margin, self.size - self._margin
        height, width = bottom - top - 1, right - left - 1  # [px] spans of the map area
        cy, cx = top + height / 2.0, left + width / 2.0
        px = np.full((len(xy), 2), -1, dtype=np.int64)
        known = np.isfinite(xy).all(axis=1)
        if not known.any():
            # No coordinates at all: a row-major grid by location code, aspect of the area.
            # Cells are centred, so one location lands in the middle.
            n = len(xy)
            cols = min(n, math.ceil(math.sqrt(n * width / height)))
            rows = math.ceil(n / cols)
            code = np.arange(n)
            px[:, 0] = np.rint(top + (code // cols + 0.5) * height / rows)
            px[:, 1] = np.rint(left + (code % cols + 0.5) * width / cols)
            return px
        lon, lat = xy[known, 0], xy[known, 1]
        lon0 = (lon.min() + lon.max()) / 2.0
        lat0 = (lat.min() + lat.max()) / 2.0
        x = (lon - lon0) * math.cos(math.radians(lat0))  # [deg of latitude]
        y = lat - lat0
        span_x, span_y = float(np.ptp(x)), float(np.ptp(y))
        scale = min(
            width / span_x if span_x > 0 else math.inf,
            height / span_y if span_y > 0 else math.inf,
        )  # [px / deg]
        if not math.isfinite(scale):
            scale = 0.0  # one point: the centre
        px[known, 0] = np.rint(cy - y * scale)
        px[known, 1] = np.rint(cx + x * scale)
        return px

    def _draw_background(self) -> np.ndarray:
        """White image with the time-bar track and the grey location dots."""
        img = np.empty((self.size, self.size, 3), dtype=np.uint8)
        img[:] = BACKGROUND
        img[: self._bar_h] = BAR_TRACK
        px = self.location_px[self._known]
        self._stamp(img, px[:, 0], px[:, 1], _disk(max(1, self.size // 256)), LOCATION)
        img.flags.writeable = False
        return img

    def _stamp(
        self,
        img: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pattern: tuple[np.ndarray, np.ndarray],
        colour: tuple[int, int, int],
    ) -> None:
        """Paint ``pattern`` centred on each (row, col); pixels outside the image are dropped
        (numpy would wrap negative indices to the opposite edge)."""
        r = rows[:, None] + pattern[0][None, :]
        c = cols[:, None] + pattern[1][None, :]
        inside = (r >= 0) & (r < self.size) & (c >= 0) & (c < self.size)
        img.reshape(-1, 3)[(r * self.size + c)[inside]] = colour

    def _user_jitter(self, n_users: int) -> np.ndarray:
        """(row, col) [px] offset of each user code: a golden-angle spiral in a disk of radius
        ``jitter_px``, so neighbouring codes point apart (cached per population size)."""
        if len(self._jitter) != n_users:
            code = np.arange(n_users)
            radius = self._jitter_px * np.sqrt((code * GOLDEN_FRACTION + 0.5) % 1.0)
            angle = code * GOLDEN_ANGLE
            self._jitter = np.rint(
                np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
            ).astype(np.int64)
        return self._jitter

    def _check(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The frame's code arrays as int64, after checking them against this campus."""
        users = np.asarray(frame.user_location, dtype=np.int64).reshape(-1)
        cands = np.asarray(frame.candidates, dtype=np.int64).reshape(-1)
        opens = np.asarray(frame.open_task_locations, dtype=np.int64).reshape(-1)
        n_loc, n_users = self.n_locations, len(users)
        if len(frame.location_xy) != n_loc:
            raise ValueError(
                f"frame has {len(frame.location_xy)} locations, the renderer was built for {n_loc}"
            )
        for name, codes, n in (
            ("user_location", users, n_loc),
            ("open_task_locations", opens, n_loc),
            ("candidates", cands, n_users),
            ("task_location", np.array([frame.task_location]), n_loc),
        ):
            if len(codes) and (codes.min() < -1 or codes.max() >= n):
                raise ValueError(
                    f"{name} codes must lie in [-1, {n}), got {codes.min()}..{codes.max()}"
                )
        if not (math.isfinite(frame.day_length_s) and frame.day_length_s > 0):
            raise ValueError(f"day_length_s must be finite and positive, got {frame.day_length_s}")
        if not math.isfinite(frame.time_s):
            raise ValueError(f"time_s must be finite, got {frame.time_s}")
        return users, cands, opens

    def render(self, frame: Frame) -> np.ndarray:
        """Draw ``frame`` as a new ``uint8 (size, size, 3)`` RGB image (the caller may keep or
        edit it).

        The positions come from the projection made at construction, not from
        ``frame.location_xy`` (only its length is checked): projecting per frame would cost
        more than drawing. ``Frame.location_xy`` is there so that a frame stands alone, e.g.
        for a matplotlib plot in a notebook.

        Raises:
            ValueError: a code outside [-1, n) of its kind, a location count other than this
                renderer's, a non-positive day length or a non-finite time.
        """
        users, cands, opens = self._check(frame)
        img = self._background.copy()
        share = min(max(frame.time_s / frame.day_length_s, 0.0), 1.0)
        img[: self._bar_h, : round(share * self.size)] = BAR_FILL

        loc_px, known = self.location_px, self._known
        # Users (and so candidates) at their last location; -1 indexes the last row of
        # loc_px and known, hence the explicit users >= 0.
        seen = (users >= 0) & known[users]
        user_px = loc_px[users] + self._user_jitter(len(users))
        pos = user_px[seen]
        self._stamp(img, pos[:, 0], pos[:, 1], self._user, USER)
        opens = opens[opens >= 0]
        opens = opens[known[opens]]  # outlines above the users: a crowd must not hide them
        self._stamp(img, loc_px[opens, 0], loc_px[opens, 1], self._open_task, TASK)
        cands = cands[cands >= 0]
        pos = user_px[cands[seen[cands]]]
        self._stamp(img, pos[:, 0], pos[:, 1], self._ring, CANDIDATE)

        task = frame.task_location
        if task >= 0 and known[task]:
            self._stamp(
                img, loc_px[task : task + 1, 0], loc_px[task : task + 1, 1], self._task, TASK
            )
        if frame.caption:
            self._draw_caption(img, frame.caption)
        return img

    def _draw_caption(self, img: np.ndarray, caption: str) -> None:
        """Write ``caption`` along the bottom edge, cut at the image width."""
        s = self._text_scale
        fits = max(0, (self.size - 2 * s) // (4 * s))  # glyphs of 3 px + 1 px space
        glyphs = [_FONT.get(ch, _FONT["?"]) for ch in caption.upper()[:fits]]
        if not glyphs:
            return
        space = np.zeros((5, 1), dtype=bool)
        bits = np.concatenate([part for g in glyphs for part in (g, space)], axis=1)
        if s > 1:
            bits = bits.repeat(s, axis=0).repeat(s, axis=1)
        top = self.size - self._caption_h + s
        left = 2 * s
        img[top : top + bits.shape[0], left : left + bits.shape[1]][bits] = TEXT
