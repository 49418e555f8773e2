"""From a frame to a QR text: the decoder chain the measurements justify.

``make bench`` (bench/scan.py) ranks every decoder and preprocessing step on the
synthetic categories of ``terminal.synthetic.scenes``. zxing-cpp on a half-size frame reads
most codes in well under a millisecond; the full-size frame adds the codes too small
for half size; doubling adds small, far codes; ZBar on a binarised frame adds a few
glare and blur cases; OpenCV's ArUco detector is the last, slowest resort. The chain
stops at the first certificate it reads, and when the frame's time budget is spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import cv2
import numpy as np

from keys.wire import QR_PREFIX
from terminal.scan.decoders import DECODERS, STEPS

DEFAULT_CHAIN: tuple[tuple[str, str], ...] = (
    ("zxing", "half"),
    ("zxing", "raw"),
    ("zxing", "double"),
    ("pyzbar", "half"),
    ("pyzbar", "threshold"),
    ("opencv-aruco", "raw"),
)
DEFAULT_BUDGET_S = 0.040


class Decoded(NamedTuple):
    text: str
    attempt: str
    """Which decoder and step read it, e.g. ``zxing/half``."""
    seconds: float


class ScanPipeline:
    """Runs the chain on one frame at a time; safe to share across threads."""

    def __init__(
        self,
        chain: Sequence[tuple[str, str]] = DEFAULT_CHAIN,
        budget_s: float = DEFAULT_BUDGET_S,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        unknown = [f"{d}/{s}" for d, s in chain if d not in DECODERS or s not in STEPS]
        if unknown:
            raise ValueError(f"unknown decoder or step: {', '.join(unknown)}")
        self.chain = tuple(chain)
        self.budget_s = budget_s
        self.timer = timer

    def decode(self, frame: np.ndarray, limit: int | None = None) -> Decoded | None:
        """The first certificate text in ``frame``; else any QR text; else None.

        ``limit`` runs only the first attempts of the chain (the cheap ones).
        """
        start = self.timer()
        gray = to_gray(frame)
        other: Decoded | None = None
        for decoder, step in self.chain[:limit]:
            texts = DECODERS[decoder](STEPS[step](gray))
            elapsed = self.timer() - start
            for text in texts:
                found = Decoded(text, f"{decoder}/{step}", elapsed)
                if text.startswith(QR_PREFIX):
                    return found
                other = other or found
            if other is not None or elapsed > self.budget_s:
                break
        return other


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class LiveCadence:
    """For a live camera: the cheap attempts on every frame, the whole chain on every
    ``deep_every``-th. A scene without a code then costs a fraction of a core instead
    of running every fallback 30 times a second, and a hard code is still tried in
    depth several times a second."""

    def __init__(self, pipeline: ScanPipeline, deep_every: int = 4, fast: int = 2) -> None:
        self.pipeline = pipeline
        self.deep_every = deep_every
        self.fast = fast
        self._count = 0

    def decode(self, frame: np.ndarray) -> Decoded | None:
        self._count += 1
        deep = self._count % self.deep_every == 0
        return self.pipeline.decode(frame, None if deep else self.fast)
