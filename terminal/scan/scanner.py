"""The scanning loop shared by ``vicheck scan`` and the terminal's scan screen:
frames in, one outcome per code (or per image without one) out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from terminal.scan.dedupe import RecentCodes
from terminal.scan.pipeline import Decoded, LiveCadence, ScanPipeline
from terminal.scan.sources import FrameSource
from terminal.verdict import Checker, CheckResult

NO_CODE_FOUND = "NO_CODE_FOUND"
BAD_INPUT = "BAD_INPUT"


class Outcome(NamedTuple):
    label: str
    """The image's file name or the frame number."""
    result: CheckResult | None
    decoded: Decoded | None
    error: str | None = None
    """An error code of SPEC section 7 when there is no result."""
    detail: str = ""


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
    recent = RecentCodes(clock, window)
    repeats = source.live or source_is_video(source)
    decode = LiveCadence(pipeline).decode if source.live else pipeline.decode
    for frame in source.frames():
        if frame.image is None:
            yield Outcome(frame.label, None, None, BAD_INPUT, "not a picture OpenCV can read")
            continue
        decoded = decode(frame.image)
        if decoded is None:
            if not repeats:
                yield Outcome(frame.label, None, None, NO_CODE_FOUND, "no QR code found")
            continue
        if repeats and not recent.is_new(decoded.text):
            continue
        yield Outcome(frame.label, checker.verify(decoded.text.strip()), decoded)


def source_is_video(source: FrameSource) -> bool:
    from terminal.scan.sources import VideoSource

    return isinstance(source, VideoSource)
