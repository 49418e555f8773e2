"""Finding the QR codes in a picture (``vicheck verify --image``).

A thin layer over the scanning pipeline: read the file, run the whole decoder chain,
check what it read, and say clearly which of "unreadable" or "no code" went wrong.
OpenCV and the decoders are imported here, lazily, never on the ``verify TEXT`` path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from terminal.scan.codes import InView
    from terminal.verdict import Checker


class ImageUnreadable(ValueError):
    """The file cannot be read or is not a picture."""


class NoCodeFound(LookupError):
    """The picture holds no readable QR code."""


def check_picture(path: str | Path, checker: Checker) -> InView:
    """Every code in the picture at ``path``, checked (``terminal.scan.codes``)."""
    from terminal.scan.codes import check_in_view
    from terminal.scan.pipeline import ScanPipeline
    from terminal.scan.sources import SourceError, read_image

    try:
        image = read_image(Path(path))
    except SourceError as exc:
        raise ImageUnreadable(str(exc)) from None
    # A still picture has no next frame to wait for: every attempt, no time budget.
    decoded = ScanPipeline().decode(image, exhaustive=True)
    if decoded is None:
        raise NoCodeFound(f"no QR code found in {path}")
    return check_in_view(checker, decoded)
