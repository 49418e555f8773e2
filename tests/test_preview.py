"""The camera preview: two pixels per cell in the right colours, the aspect ratio kept,
the code's outline marked, frames taken from the camera's thread at a few a second."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from rich.style import Style
from textual.app import App, ComposeResult

from terminal.synthetic.scenes import FRAME_VGA, make_frame
from terminal.tui.preview import (
    HALF,
    OUTLINE_RGB,
    CameraPreview,
    StyleCache,
    fit_size,
    shrink,
    strips,
)


def _two_colour_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """BGR: the upper half red, the lower half blue."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[: height // 2] = (0, 0, 255)
    frame[height // 2 :] = (255, 0, 0)
    return frame


def _colours(style: Style | None) -> tuple[str, str]:
    assert style is not None and style.color is not None and style.bgcolor is not None
    return style.color.triplet.hex, style.bgcolor.triplet.hex  # type: ignore[union-attr]


def test_fit_size_keeps_the_aspect_ratio_in_half_block_pixels() -> None:
    assert fit_size(640, 480, 100, 30) == (80, 60)  # 4:3 in 100x30 cells: 80x60 px
    assert fit_size(1280, 720, 40, 10) == (36, 20)
    assert fit_size(640, 480, 40, 100) == (40, 30)
    assert fit_size(640, 480, 0, 10) == (0, 0)


def test_shrink_downscales_and_converts_every_kind_of_frame() -> None:
    bgr = _two_colour_frame()
    small = shrink(bgr, 100, 30)
    assert small.shape == (60, 80, 3)
    assert tuple(small[0, 0]) == (255, 0, 0)  # red, now in RGB order
    assert tuple(small[-1, -1]) == (0, 0, 255)
    gray = make_frame("phone", "HC1:TEST", 1, FRAME_VGA)
    assert shrink(gray, 100, 30).shape == (60, 80, 3)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    assert shrink(bgra, 100, 30).shape == (60, 80, 3)


def test_the_outline_is_drawn_on_the_small_picture() -> None:
    frame = np.full((480, 640), 128, np.uint8)
    square = [(160.0, 120.0), (480.0, 120.0), (480.0, 360.0), (160.0, 360.0)]
    small = shrink(frame, 100, 30, square)
    marked = np.all(small == OUTLINE_RGB, axis=2)
    # the square's corners, scaled by 80/640 = 1/8: (20, 15) .. (60, 45)
    assert marked[15, 20] and marked[45, 60] and marked[15, 40] and marked[30, 20]
    assert not marked[30, 40]  # inside stays the scene
    assert not np.any(np.all(shrink(frame, 100, 30) == OUTLINE_RGB, axis=2))


def test_strips_put_the_upper_pixel_in_front_and_the_lower_behind() -> None:
    rgb = np.zeros((4, 3, 3), np.uint8)
    rgb[0::2] = (255, 255, 255)  # upper pixels white
    rgb[1::2] = (0, 0, 0)  # lower pixels black
    rgb[2, 2] = (255, 0, 0)  # one red upper pixel
    lines = strips(rgb, 7, StyleCache())
    assert len(lines) == 2
    assert [line.cell_length for line in lines] == [7, 7]
    first = list(lines[0])
    # centred: 2 blank columns, one run of three equal cells, 2 blank columns
    assert [s.text for s in first] == ["  ", HALF * 3, "  "]
    assert _colours(first[1].style) == ("#ffffff", "#000000")
    second = list(lines[1])
    assert [s.text for s in second] == ["  ", HALF * 2, HALF, "  "]
    assert _colours(second[2].style) == ("#ff0000", "#000000")


def test_the_style_cache_returns_one_style_per_colour_pair() -> None:
    cache = StyleCache(limit=2)
    a = cache(1)
    assert cache(1) is a
    cache(2)
    cache(3)  # over the limit: starts again rather than growing
    assert cache(1) is not a
    assert cache(1) == a


class _Preview(App[None]):
    def __init__(self, preview: CameraPreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        yield self.preview


class _Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_frames_from_another_thread_are_shown_at_most_fps_a_second() -> None:
    ticks = _Ticks()
    preview = CameraPreview("no camera", fps=5, monotonic=ticks)
    app = _Preview(preview)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "no camera" in preview.render_line(15).text
        kept: list[bool] = []

        def camera() -> None:  # the camera worker: 30 frames in one second
            frame = _two_colour_frame()
            for _ in range(30):
                kept.append(preview.show(frame))
                ticks.now += 1 / 30

        worker = threading.Thread(target=camera)
        worker.start()
        worker.join()
        await pilot.pause()
        assert kept.count(True) == 5 == preview.frames_shown
        assert kept[0] and not kept[1]
        line = preview.render_line(0)
        assert line.cell_length == 100
        assert HALF in line.text
        cells = [s for s in line if s.text.startswith(HALF)]
        assert _colours(cells[0].style) == ("#ff0000", "#ff0000")
        bottom = [s for s in preview.render_line(29) if s.text.startswith(HALF)]
        assert _colours(bottom[0].style) == ("#0000ff", "#0000ff")
        preview.clear()
        await pilot.pause()
        assert HALF not in preview.render_line(0).text
        assert "no camera" in preview.render_line(15).text
    ticks.now += 1
    assert not preview.show(_two_colour_frame())  # off screen: refused, not shrunk


@pytest.mark.parametrize("size", [(40, 10), (100, 30)])
async def test_the_picture_fills_the_widget_whatever_its_size(size: tuple[int, int]) -> None:
    preview = CameraPreview(fps=0)
    app = _Preview(preview)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert preview.show(make_frame("phone", "HC1:TEST", 2, FRAME_VGA), None)
        await pilot.pause()
        lines = [preview.render_line(y) for y in range(size[1])]
        drawn = [line for line in lines if HALF in line.text]
        assert all(line.cell_length == size[0] for line in lines)
        width, height = fit_size(*FRAME_VGA, *size)
        assert len(drawn) == height // 2
        assert max(len(line.text.strip()) for line in drawn) == width
