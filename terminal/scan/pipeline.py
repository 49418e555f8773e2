"""From a frame to its QR texts: the decoder chain the measurements justify.

``python -m bench.scan`` ranks every candidate attempt (a decoder on a preprocessing
step, ``terminal.scan.decoders``) on the synthetic categories of
``terminal.synthetic.scenes``: at each place of the chain, the attempt that reads the
most frames the places before it missed, per millisecond. That ranking (25
categories, 1280x720; docs/decoder-chain.md has the figures) gives this order:
zxing-cpp on a half-size frame reads three frames in four in under a millisecond;
the full-size frame, inverted, adds the codes too small for half size and
light-on-dark screens; a threshold against the local mean (half size, then full
size) adds a glared dark-mode screen and very dim ones; ZBar on the half-size frame
(which the ranking's still frames do not need, but the aligned mean of a dim clip
and the very dim screens within the budget do); the deconvolution of the
disc measured on the frame adds every strength of defocus, of the measured smear
(half a pixel shorter) the motion blur; ZBar on the binarised half-size frame the
very dim screens; upscaling, sharpened, small, far codes. The smear as measured, a
fixed wide disc and an unsharp mask follow for material the ranking's frames do
not hold (soft codes at 640x480). A still picture also gets the slow attempts that
only add a read now and then (``STILL_TAIL``).

Each attempt returns every code it sees: a certificate anywhere in view wins over
any other code, and two certificates are both reported (``terminal.scan.codes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import cv2
import numpy as np

from terminal.scan.codes import is_certificate
from terminal.scan.decoders import DECODERS, LOCATORS, STEPS, Point, scaled

DEFAULT_CHAIN: tuple[tuple[str, str], ...] = (
    ("zxing", "half"),
    ("zxing", "invert"),
    ("zxing", "binarise-half"),
    ("zxing", "binarise"),
    ("pyzbar", "half"),
    ("zxing", "unfocus"),
    ("zxing", "unmotion-short"),
    ("pyzbar", "binarise-half"),
    ("zxing", "double-sharpen"),
    ("zxing", "unmotion"),
    ("zxing", "unfocus-6"),
    ("zxing", "sharpen"),
)
STILL_TAIL: tuple[tuple[str, str], ...] = (
    ("zxing", "double-fine-sharpen"),
    ("pyzbar", "smear-20"),
    ("pyzbar", "unmotion"),
    ("zxing", "unmotion-long"),
    ("zxing", "unfocus-4"),
    ("zxing", "unfocus-7"),
    ("zxing", "clahe"),
    ("zxing", "smear-8"),
    ("zxing", "smear-12"),
    ("zxing", "smear-16"),
    ("zxing", "smear-20"),
    ("zxing", "unmotion-full"),
    ("pyzbar", "unmotion-full"),
    ("zxing", "unfocus-full"),
    ("pyzbar", "threshold"),
    ("opencv-aruco", "raw"),
)
"""Attempts that cost 12 to 150 ms for a read now and then: worth it on a still
picture (no next frame will come), never within a live frame's budget: Lanczos
upscaling, smears half a pixel off the measured one or of fixed lengths where the
measure is wrong, fixed disc radii, deconvolution at full size, the other
binarisations. ZBar on a binarised frame and OpenCV's ArUco detector, the first
chain's choices, add no read once the rest has run but stay last for material they
were chosen for."""
STILL_PIXELS = 4_000_000
"""A still picture larger than this (a 50-megapixel phone photo) is read once at full
size by zxing-cpp, then the chain runs on a copy shrunk to this many pixels: a code
that fills a fiftieth of such a photo still has modules of several pixels, and the
deblurring steps' DFTs (a few 8-byte complex planes of the frame) stay near 200 MB
instead of growing to gigabytes."""
DEFAULT_BUDGET_S = 0.040


class Decoded(NamedTuple):
    text: str
    """The certificate read (the first, when there are several); else the first other text."""
    attempt: str
    """Which decoder and step read ``text``, e.g. ``zxing/half``."""
    seconds: float
    texts: tuple[str, ...] = ()
    """Every distinct text the frame showed, in the order read: a certificate beside a
    payment code, or two certificates, are all here."""
    outline: tuple[Point, ...] = ()
    """Where ``text`` is: its corners in the coordinates of the frame given to
    ``decode`` (whatever size the attempt that read it worked at), for the preview
    (``CameraPreview.show(frame, outline)``)."""

    @property
    def certificates(self) -> tuple[str, ...]:
        """The distinct certificate texts in view (two means: say so, pick none)."""
        return tuple(t for t in self.texts if is_certificate(t))


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
        self.still_chain = self.chain + tuple(a for a in STILL_TAIL if a not in self.chain)
        self.budget_s = budget_s
        self.timer = timer
        self._cost: dict[tuple[str, str], float] = {}
        """What each attempt took last time (seconds): an attempt that would overrun the
        budget is not started. Written by any thread; a lost update only costs one
        estimate."""

    def decode(
        self,
        frame: np.ndarray,
        limit: int | None = None,
        exhaustive: bool = False,
        skip: int = 0,
    ) -> Decoded | None:
        """Every code in ``frame``, the certificate first; None when there is none.

        Each attempt returns every code it finds. The chain stops after the attempt
        that read a certificate (all the codes that attempt saw are kept, so two
        certificates side by side are both reported) or before an attempt that would
        overrun the budget (by what it took last time; the first always runs); a
        code that is not a certificate does not stop it, since the certificate may be
        beside it, harder to read. ``limit`` runs only the first attempts (the cheap
        ones), ``skip`` leaves out the first (already run on this frame).
        ``exhaustive`` is for a still picture, where no next frame will come: the whole
        chain however long it takes, whatever it found (a second certificate must not go
        unseen), then ``STILL_TAIL`` if no certificate was read yet.
        """
        start = self.timer()
        gray = _at_least(to_gray(frame), MIN_SIDE)
        found: dict[str, tuple[str, float, tuple[Point, ...]]] = {}
        full_h, full_w = gray.shape
        if exhaustive and gray.size > STILL_PIXELS:
            for code in LOCATORS["zxing"](gray):
                found.setdefault(code.text, ("zxing/full-size", self.timer() - start, code.corners))
            scale = (STILL_PIXELS / gray.size) ** 0.5
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        attempts = self.still_chain if exhaustive else self.chain[skip:limit]
        for index, (decoder, step) in enumerate(attempts):
            if exhaustive and index == len(self.chain) and any(map(is_certificate, found)):
                break
            before = self.timer()
            expected = self._cost.get((decoder, step), 0.0)
            if not exhaustive and index and before - start + expected > self.budget_s:
                # Halved each time it is passed over, so a one-off slow run (the first
                # call imports the decoder) does not bar the attempt for good.
                self._cost[(decoder, step)] = expected / 2
                break
            seen = STEPS[step](gray)
            codes = LOCATORS[decoder](seen)
            after = self.timer()
            self._cost[(decoder, step)] = after - before
            elapsed = after - start
            fx, fy = full_w / seen.shape[1], full_h / seen.shape[0]
            for code in codes:
                where = scaled(code.corners, fx, fy)
                found.setdefault(code.text, (f"{decoder}/{step}", elapsed, where))
            if not exhaustive and (
                elapsed > self.budget_s or any(is_certificate(t) for t in found)
            ):
                break
        if not found:
            return None
        texts = sorted(found, key=lambda t: not is_certificate(t))  # stable: reading order kept
        attempt, seconds, outline = found[texts[0]]
        return Decoded(texts[0], attempt, seconds, tuple(texts), outline)


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class LiveCadence:
    """For a live camera: the cheap attempts on every frame, the rest of the chain on
    every ``deep_every``-th, run on the sharpest of the frames since the last deep
    attempt. The cheap attempt is zxing-cpp on the half-size frame alone (``fast`` =
    1): it reads three frames in four and keeps a frame without a code near a
    millisecond, where adding the full-size frame would triple that for a few reads
    the next deep attempt makes anyway.

    A scene without a code then costs a fraction of a core instead of running every
    fallback 30 times a second, and a hard code is still tried in depth several times
    a second. A hand holding a phone shakes: of a few consecutive frames of the same
    code one is usually less smeared than the others, and the deep attempts (which
    deblur, sharpen, upscale) do best on it; the focus measure picks it. A hand held
    still at night shows the same dim code under fresh sensor noise on every frame:
    when the failed frames are equally sharp, the deep attempts run on their aligned
    mean (``aligned_mean``) instead: averaging four frames halves the noise.
    """

    def __init__(self, pipeline: ScanPipeline, deep_every: int = 4, fast: int = 1) -> None:
        self.pipeline = pipeline
        self.deep_every = deep_every
        self.fast = fast
        self._count = 0
        self._failed: list[tuple[float, np.ndarray]] = []
        """(focus, frame) of the frames the cheap attempts failed on since the last
        deep attempt: at most ``deep_every``."""

    def decode(self, frame: np.ndarray) -> Decoded | None:
        self._count += 1
        decoded = self.pipeline.decode(frame, self.fast)
        if decoded is not None and decoded.certificates:
            self._failed.clear()
            return decoded
        self._failed.append((focus(frame), frame))
        if self._count % self.deep_every:
            return decoded
        deep = self.pipeline.decode(self._deep_frame(), skip=self.fast)
        if deep is None or (decoded is not None and not deep.certificates):
            return decoded
        return deep

    def _deep_frame(self) -> np.ndarray:
        """The frame the deep attempts run on: the aligned mean of the failed frames
        when they are equally sharp (a steady hand: only the noise differs), else the
        sharpest (a shaking hand: the smear differs, and averaging would add it up)."""
        focuses = [seen[0] for seen in self._failed]
        frames = [seen[1] for seen in self._failed]
        self._failed.clear()
        if len(frames) > 1 and max(focuses) <= STEADY_FOCUS_RATIO * max(min(focuses), 1e-9):
            return aligned_mean(frames)
        return frames[focuses.index(max(focuses))]


MIN_SIDE = 64
"""Pictures narrower or lower than this (pixels) are padded with white to it before
the chain: the deconvolutions and the half-size steps need room (they failed on
sides below 26, measured), and no code is lost, since a QR code is at least 21
modules and white around it is its quiet zone."""


def _at_least(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray``, padded on the right and below (so the code's corners stay where
    they are) to ``side`` pixels each way when smaller."""
    h, w = gray.shape
    if h >= side and w >= side:
        return gray
    bottom, right = max(side - h, 0), max(side - w, 0)
    padded: np.ndarray = cv2.copyMakeBorder(
        gray, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=255
    )
    return padded


STEADY_FOCUS_RATIO = 1.25
"""Frames whose focus measures lie within this ratio are one steady scene under fresh
noise (measured: 1.06 to 1.17 on ``dim_clip``, 1.5 to 2.4 on ``shaky_clip``)."""


def aligned_mean(frames: Sequence[np.ndarray]) -> np.ndarray:
    """The frames, each shifted onto the last (phase correlation at half size: the
    hand's tremor of a few pixels), averaged: the same scene with its noise cut by the
    square root of their number. A frame whose shift is not found clearly (the scene
    changed) is left out."""
    grays = [to_gray(frame) for frame in frames]
    last = grays[-1]
    h, w = last.shape
    reference = _half_float(last)
    total = last.astype(np.float32)
    count = 1
    for gray in grays[:-1]:
        if gray.shape != last.shape:
            continue
        (dx, dy), response = cv2.phaseCorrelate(reference, _half_float(gray))
        if response < ALIGNED_RESPONSE:
            continue
        back = np.array([[1, 0, -2 * dx], [0, 1, -2 * dy]], np.float32)
        total += cv2.warpAffine(
            gray.astype(np.float32), back, (w, h), borderMode=cv2.BORDER_REFLECT
        )
        count += 1
    mean: np.ndarray = np.clip(total / count + 0.5, 0, 255).astype(np.uint8)
    return mean


ALIGNED_RESPONSE = 0.05
"""The phase correlation's peak below which two frames are not the same scene shifted."""


def _half_float(gray: np.ndarray) -> np.ndarray:
    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def focus(frame: np.ndarray) -> float:
    """How sharp a frame is: the variance of its Laplacian, at half size (~0.3 ms at
    1280x720). Blur of any kind lowers it; a code in view raises it."""
    gray = to_gray(frame)
    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(small, cv2.CV_32F).var())
