"""The code's outline: each attempt's corners, brought back to the full frame, land
where the synthetic scene put the code (so the preview marks the right place)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from terminal.scan.decoders import Point
from terminal.scan.pipeline import ScanPipeline
from terminal.synthetic.scenes import code_at, make_frame
from tests.support import Pki

TEXT = Pki().certificate()
CORNERS = [(400.0, 150.0), (700.0, 170.0), (690.0, 460.0), (390.0, 440.0)]
"""A tilted code in the left half of a 1280x720 frame."""
TOLERANCE_PX = 4.0


def _worst_miss(outline: tuple[Point, ...], corners: list[tuple[float, float]]) -> float:
    """The farthest any expected corner is from the nearest outline point (ZBar lists
    its corners in its own order)."""
    got = np.asarray(outline, np.float64)
    assert got.shape == (4, 2), outline
    return max(float(np.min(np.hypot(*(got - c).T))) for c in corners)


@pytest.mark.parametrize(
    "attempt",
    [
        ("zxing", "half"),  # read at half size: corners doubled back
        ("zxing", "raw"),
        ("zxing", "double"),  # read at twice the size: corners halved back
        ("pyzbar", "half"),
        ("opencv-aruco", "raw"),
    ],
)
def test_outline_is_where_the_scene_put_the_code(attempt: tuple[str, str]) -> None:
    decoded = ScanPipeline(chain=(attempt,)).decode(code_at(TEXT, CORNERS))
    assert decoded is not None and decoded.text == TEXT
    assert decoded.attempt == "/".join(attempt)
    assert _worst_miss(decoded.outline, CORNERS) <= TOLERANCE_PX


def test_default_chain_outlines_a_colour_frame_and_each_code_of_two() -> None:
    frame = cv2.cvtColor(code_at(TEXT, CORNERS, seed=3), cv2.COLOR_GRAY2BGR)
    decoded = ScanPipeline().decode(frame)
    assert decoded is not None and _worst_miss(decoded.outline, CORNERS) <= TOLERANCE_PX
    # Moved to the right half: the outline follows the code, not a fixed place.
    moved = [(x + 500, y + 100) for x, y in CORNERS]
    decoded = ScanPipeline().decode(code_at(TEXT, moved))
    assert decoded is not None and _worst_miss(decoded.outline, moved) <= TOLERANCE_PX


def test_a_large_still_is_outlined_in_its_own_coordinates() -> None:
    # 6 MP: above STILL_PIXELS, read at full size first, then on a shrunk copy.
    corners = [(x * 2.5, y * 2.5) for x, y in CORNERS]
    frame = code_at(TEXT, corners, size=(3200, 1900), module_px=12)
    decoded = ScanPipeline().decode(frame, exhaustive=True)
    assert decoded is not None and decoded.text == TEXT
    assert _worst_miss(decoded.outline, corners) <= 2.5 * TOLERANCE_PX


def test_a_scene_frame_gets_an_outline_inside_the_frame() -> None:
    frame = make_frame("phone-perspective", TEXT, 2)
    decoded = ScanPipeline().decode(frame)
    assert decoded is not None and len(decoded.outline) == 4
    xs, ys = zip(*decoded.outline, strict=True)
    assert 0 <= min(xs) < max(xs) <= 1280 and 0 <= min(ys) < max(ys) <= 720
    assert (max(xs) - min(xs)) * (max(ys) - min(ys)) > 100 * 100  # a code, not a speck
