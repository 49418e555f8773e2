"""The scanning loop shared by ``vicheck scan`` and the terminal's camera worker:
frames in, what each frame showed out (``sightings``), and for the command one
outcome per code (or per image without one) (``scan``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

from terminal.scan.codes import InView, check_in_view
from terminal.scan.dedupe import RecentCodes
from terminal.scan.pipeline import Decoded, LiveCadence, ScanPipeline
from terminal.scan.sources import Frame, FrameSource
from terminal.verdict import Checker, CheckResult

NO_CODE_FOUND = "NO_CODE_FOUND"
BAD_INPUT = "BAD_INPUT"


class Outcome(NamedTuple):
    label: str
    """The image's file name or the frame number."""
    result: CheckResult | None
    decoded: Decoded | None
    error: str = ""
    """An error code of SPEC section 7 when there is no result; else empty."""
    detail: str = ""
    in_view: InView | None = None
    """With ``result``: every certificate's own result when several were in view, and
    the text read when it was not a certificate."""


class Sighting(NamedTuple):
    """What one frame showed: no picture, no code, a code seen just before, or a
    code checked."""

    frame: Frame
    decoded: Decoded | None
    """The code read, or None (no code, or no picture: ``frame.image`` is None)."""
    result: CheckResult | None
    """The check of a new code; None when there was none or it repeats."""
    in_view: InView | None = None
    """With ``result``: the check of everything in view (``terminal.scan.codes``)."""


Decode = Callable[[np.ndarray], Decoded | None]


def sightings(
    frames: Iterable[Frame], checker: Checker, decode: Decode, recent: RecentCodes | None
) -> Iterator[Sighting]:
    """Every frame decoded and every new code checked, one ``Sighting`` per frame.

    With ``recent``, a code seen within its window is not checked again (a live
    camera shows the same code for seconds); without it, every code is.
    """
    for frame in frames:
        if frame.image is None:
            yield Sighting(frame, None, None)
            continue
        decoded = decode(frame.image)
        if decoded is None or (recent is not None and not recent.is_new(_key(decoded))):
            yield Sighting(frame, decoded, None)
            continue
        seen = check_in_view(checker, decoded)
        yield Sighting(frame, decoded, seen.result, seen)


def _key(decoded: Decoded) -> str:
    """What counts as the same showing: the same certificates in view (or the same text)."""
    return "\n".join(decoded.certificates) or decoded.text


def live_sightings(
    frames: Iterable[Frame], checker: Checker, pipeline: ScanPipeline, clock: Callable[[], float]
) -> Iterator[Sighting]:
    """``sightings`` the way a live camera needs them: the cheap decoders on most
    frames (``LiveCadence``) and each code checked once per showing."""
    return sightings(frames, checker, LiveCadence(pipeline).decode, RecentCodes(clock))


def scan(
    source: FrameSource,
    checker: Checker,
    pipeline: ScanPipeline,
    clock: Callable[[], float],
    window: float = 3.0,
) -> Iterator[Outcome]:
    """Check every new code ``source`` shows.

    Live sources (cameras, videos) repeat a code over many frames: it is checked once
    and frames without a code pass silently. Stills (an image, a directory) are each
    their own question: every one gets an outcome, ``NO_CODE_FOUND`` included.
    """
    repeats = source.live or source_is_video(source)
    recent = RecentCodes(clock, window) if repeats else None
    decode = LiveCadence(pipeline).decode if source.live else _still(pipeline, repeats)
    for seen in sightings(source.frames(), checker, decode, recent):
        label = seen.frame.label
        if seen.frame.image is None:
            yield Outcome(label, None, None, BAD_INPUT, "not a picture OpenCV can read")
        elif seen.result is not None:
            yield Outcome(label, seen.result, seen.decoded, in_view=seen.in_view)
        elif seen.decoded is None and not repeats:
            yield Outcome(label, None, None, NO_CODE_FOUND, "no QR code found")


def _still(pipeline: ScanPipeline, video: bool) -> Decode:
    """A still picture gets every attempt (no next frame will show what this one hid);
    a recorded video the chain as a frame of a camera would."""
    if video:
        return pipeline.decode
    return lambda image: pipeline.decode(image, exhaustive=True)


def source_is_video(source: FrameSource) -> bool:
    from terminal.scan.sources import VideoSource

    return isinstance(source, VideoSource)
