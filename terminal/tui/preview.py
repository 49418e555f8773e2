"""The camera's picture on the scan screen, so the officer can aim the code at it.

Each character cell shows two pixels, one above the other: ``▀`` with the upper
pixel as its colour and the lower as its background. The camera worker hands over a
frame it already has (never a second capture) through ``CameraPreview.show``; the
widget keeps at most ``fps`` of them a second, shrinks each one in the worker's
thread (cv2.resize with INTER_AREA, the aspect ratio kept) and marks the found code's
outline on the small picture, so the UI thread only turns a few thousand pixels into
lines. Styles are cached per colour pair and runs of equal cells share a segment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

Point = tuple[float, float]

HALF = "▀"
OUTLINE_RGB = (0, 255, 0)
"""The found code's outline: pure green, which a grey or skin-toned scene lacks."""
COLOUR_BITS = 5
"""Bits kept per colour channel: finer steps are invisible in a half-block picture and
would only make more styles."""
STYLE_CACHE_LIMIT = 8192


def fit_size(frame_w: int, frame_h: int, cols: int, rows: int) -> tuple[int, int]:
    """The picture's size in pixels (width, height) inside ``cols`` by ``rows`` cells,
    two pixels per cell vertically, the frame's aspect ratio kept (terminal cells are
    about twice as tall as wide, so a half-block pixel is about square)."""
    if frame_w <= 0 or frame_h <= 0 or cols <= 0 or rows <= 0:
        return 0, 0
    scale = min(cols / frame_w, rows * 2 / frame_h)
    width = max(1, min(cols, round(frame_w * scale)))
    height = max(2, min(rows * 2, round(frame_h * scale)))
    return width, height + height % 2


def shrink(
    frame: np.ndarray, cols: int, rows: int, outline: Sequence[Point] | None = None
) -> np.ndarray:
    """``frame`` (greyscale, BGR or BGRA) as a small RGB picture fitting ``cols`` by
    ``rows`` cells, with ``outline`` (points in frame coordinates) drawn on it."""
    frame_h, frame_w = frame.shape[:2]
    width, height = fit_size(frame_w, frame_h, cols, rows)
    if width == 0:
        return np.zeros((0, 0, 3), np.uint8)
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        rgb = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
    elif small.shape[2] == 4:
        rgb = cv2.cvtColor(small, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    if outline is not None and len(outline) >= 2:
        scale = np.array([width / frame_w, height / frame_h])
        points = np.round(np.asarray(outline, np.float64) * scale).astype(np.int32)
        cv2.polylines(rgb, [points.reshape(-1, 1, 2)], True, OUTLINE_RGB, 1)
    return rgb


def _packed(rgb: np.ndarray) -> np.ndarray:
    """Each pixel's colour, reduced to ``COLOUR_BITS`` a channel, as one int."""
    drop = 8 - COLOUR_BITS
    q = (rgb >> drop).astype(np.int64)
    return (q[..., 0] << (2 * COLOUR_BITS)) | (q[..., 1] << COLOUR_BITS) | q[..., 2]


class StyleCache:
    """Rich styles by (upper, lower) packed colour: a frame has far fewer distinct
    pairs than cells, and building a Style costs more than looking one up."""

    def __init__(self, limit: int = STYLE_CACHE_LIMIT) -> None:
        self.limit = limit
        self._styles: dict[int, Style] = {}

    def __call__(self, pair: int) -> Style:
        style = self._styles.get(pair)
        if style is None:
            if len(self._styles) >= self.limit:
                self._styles.clear()
            style = Style(color=_colour(pair >> 32), bgcolor=_colour(pair & 0xFFFFFFFF))
            self._styles[pair] = style
        return style


def _colour(packed: int) -> str:
    drop = 8 - COLOUR_BITS
    mask = (1 << COLOUR_BITS) - 1
    r = (packed >> (2 * COLOUR_BITS)) & mask
    g = (packed >> COLOUR_BITS) & mask
    b = packed & mask
    # scale back to 0..255, mid-step, so full white stays white
    r, g, b = ((c << drop) | (c >> (COLOUR_BITS - drop)) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def strips(rgb: np.ndarray, cols: int, styles: StyleCache) -> list[Strip]:
    """The small picture as lines of half blocks, centred in ``cols`` columns."""
    if rgb.size == 0:
        return []
    packed = _packed(rgb)
    pairs = (packed[0::2] << 32) | packed[1::2]
    width = pairs.shape[1]
    left = (cols - width) // 2
    right = cols - width - left
    lines = []
    for row in pairs:
        # runs of equal cells: where the pair changes from one column to the next
        starts = np.flatnonzero(np.diff(row, prepend=row[0] - 1))
        ends = np.append(starts[1:], width)
        segments = [Segment(" " * left)] if left > 0 else []
        runs = zip(starts.tolist(), ends.tolist(), row[starts].tolist(), strict=True)
        for start, end, pair in runs:
            segments.append(Segment(HALF * (end - start), styles(pair)))
        if right > 0:
            segments.append(Segment(" " * right))
        lines.append(Strip(segments).adjust_cell_length(cols))
    return lines


class CameraPreview(Widget):
    """The live picture. The camera worker calls ``show(frame, outline)`` for every
    frame it reads (from its own thread); the widget keeps ``fps`` a second. ``clear()``
    drops the picture (camera gone). Until a frame comes, ``placeholder`` is shown."""

    DEFAULT_CSS = """
    CameraPreview {
        width: 1fr;
        height: 1fr;
    }
    """

    class Updated(Message):
        """A new small picture is ready; pending ones merge into the newest."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CameraPreview.Updated)

    def __init__(
        self,
        placeholder: str = "",
        *,
        fps: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.placeholder = placeholder
        # A tenth early is on time: at 30 camera fps, frames 0.2 s apart may arrive
        # 0.1999 s apart, and waiting for the next would give 4.3 pictures a second.
        self.interval = 0.9 / fps if fps > 0 else 0.0
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._picture: np.ndarray | None = None
        self._last_shown = float("-inf")
        self._cells = (0, 0)
        """The content size in cells, as the UI thread last saw it."""
        self._strips: list[Strip] | None = None
        self._styles = StyleCache()
        self.frames_shown = 0
        """How many frames were kept (for the benchmark and tests)."""

    def show(self, frame: np.ndarray, outline: Sequence[Point] | None = None) -> bool:
        """Hand over a frame (greyscale, BGR or BGRA) and the found code's outline in
        frame coordinates. Safe from any thread; returns whether the frame was kept
        (False: too soon after the last one, or the widget has no size yet)."""
        now = self.monotonic()
        with self._lock:
            cols, rows = self._cells
            if now - self._last_shown < self.interval or cols <= 0 or rows <= 0:
                return False
            self._last_shown = now
        picture = shrink(frame, cols, rows, outline)
        with self._lock:
            self._picture = picture
            self._strips = None
            self.frames_shown += 1
        self.post_message(self.Updated())
        return True

    def clear(self) -> None:
        """Drop the picture (the camera is gone); safe from any thread."""
        with self._lock:
            self._picture = None
            self._strips = None
        self.post_message(self.Updated())

    def on_camera_preview_updated(self, message: Updated) -> None:
        message.stop()
        self.refresh()

    def on_resize(self) -> None:
        size = self.content_size
        with self._lock:
            self._cells = (size.width, size.height)
            self._strips = None

    def on_unmount(self) -> None:
        """Off screen, frames are refused instead of shrunk for nobody."""
        with self._lock:
            self._cells = (0, 0)

    def _lines(self) -> list[Strip]:
        with self._lock:
            if self._strips is None:
                picture = self._picture
                if picture is None:
                    self._strips = []
                else:
                    self._strips = strips(picture, self.content_size.width, self._styles)
            return self._strips

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines()
        top = (self.content_size.height - len(lines)) // 2
        if 0 <= y - top < len(lines):
            return lines[y - top]
        if not lines and y == self.content_size.height // 2 and self.placeholder:
            pad = max(0, (width - cell_len(self.placeholder)) // 2)
            return Strip([Segment(" " * pad + self.placeholder)]).adjust_cell_length(width)
        return Strip.blank(width)
