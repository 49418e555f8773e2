"""Where a plate may be, by its colour: the reader's fast first look.

Chinese plates are blue (ordinary cars), yellow (large vehicles, coaches, learner
cars) or green (new energy): saturated rectangles about three times as wide as tall.
Finding them in a small HSV copy of the frame costs a few milliseconds; reading
them is then one recogniser pass per region, no text detector over the whole frame
(which costs ten times that on the handheld). When the colour look finds no
confident plate the reader falls back to the detector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Frame = NDArray[np.uint8]

LOOK_SIDE = 640
"""The colour look works on a copy this wide at most."""
COLOURS = (
    ((100, 90, 50), (125, 255, 255)),  # blue
    ((15, 90, 90), (35, 255, 255)),  # yellow
    ((40, 50, 90), (85, 255, 255)),  # green
)
"""HSV ranges (OpenCV's 0-180 hue) of plate backgrounds."""
MAX_REGIONS = 6


def colour_regions(frame: Frame) -> list[tuple[int, int, int, int]]:
    """Plate-coloured, plate-shaped rectangles (x, y, w, h) in frame pixels,
    largest first, at most ``MAX_REGIONS``."""
    import cv2
    import numpy as np

    height, width = frame.shape[:2]
    scale = min(1.0, LOOK_SIDE / max(height, width))
    small = frame
    if scale < 1.0:
        small = np.asarray(
            cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 3))
    min_area = 0.0004 * small.shape[0] * small.shape[1]
    found = []
    for low, high in COLOURS:
        mask = cv2.inRange(hsv, np.array(low, np.uint8), np.array(high, np.uint8))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if h < 6 or w * h < min_area or not 1.4 <= w / h <= 6.5:
                continue
            if cv2.contourArea(contour) < 0.45 * w * h:
                continue
            box = tuple(round(v / scale) for v in (x, y, w, h))
            found.append((w * h, box))
    found.sort(key=lambda f: -f[0])
    return [box for _, box in found[:MAX_REGIONS]]
