"""Finding a QR code in a picture (``vicheck verify --image``).

A thin layer over the scanning pipeline: read the file, run the decoder chain,
say clearly which of "unreadable" or "no code" went wrong. OpenCV and the decoders
are imported here, lazily, never on the ``verify TEXT`` path.
"""

from __future__ import annotations

from pathlib import Path


class ImageUnreadable(ValueError):
    """The file cannot be read or is not a picture."""


class NoCodeFound(LookupError):
    """The picture holds no readable QR code."""


def read_code_from_file(path: str | Path) -> str:
    from terminal.scan.pipeline import ScanPipeline
    from terminal.scan.sources import SourceError, read_image

    try:
        image = read_image(Path(path))
    except SourceError as exc:
        raise ImageUnreadable(str(exc)) from None
    # A still picture has no next frame to wait for: no time budget.
    decoded = ScanPipeline(budget_s=float("inf")).decode(image)
    if decoded is None:
        raise NoCodeFound(f"no QR code found in {path}")
    return decoded.text
