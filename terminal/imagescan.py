"""Finding a QR code in a picture (``vicheck verify --image``).

pyzbar (restricted to QR) is tried first on the grey image, then OpenCV's own
detector, then both on an inverted image for dark-mode screenshots. When several
codes are in the picture, a vehicle-inspection code wins over others (a payment
code on the same screen must not hide it). OpenCV and pyzbar are imported here,
lazily, never on the ``verify TEXT`` path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from keys.wire import QR_PREFIX


class ImageUnreadable(ValueError):
    """The file cannot be read or is not a picture."""


class NoCodeFound(LookupError):
    """The picture holds no readable QR code."""


def read_code_from_file(path: str | Path) -> str:
    import cv2
    import numpy as np

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ImageUnreadable(f"{path} is not a picture OpenCV can read")
    text = read_code(image)
    if text is None:
        raise NoCodeFound(f"no QR code found in {path}")
    return text


def read_code(gray: Any) -> str | None:
    """The best QR text in a greyscale image, or None."""
    found: list[str] = []
    for texts in _attempts(gray):
        found += texts
        best = _prefer_certificate(found)
        if best is not None and best.startswith(QR_PREFIX):
            return best
    return _prefer_certificate(found)


def _prefer_certificate(texts: list[str]) -> str | None:
    for text in texts:
        if text.startswith(QR_PREFIX):
            return text
    return texts[0] if texts else None


def _attempts(gray: Any) -> Iterator[list[str]]:
    import cv2

    decoders: list[Callable[[Any], list[str]]] = [_pyzbar, _opencv]
    for decode in decoders:
        yield decode(gray)
    inverted = cv2.bitwise_not(gray)
    for decode in decoders:
        yield decode(inverted)


def _pyzbar(gray: Any) -> list[str]:
    from pyzbar import pyzbar

    results = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    out = []
    for r in results:
        try:
            out.append(r.data.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return out


def _opencv(gray: Any) -> list[str]:
    import cv2

    detector = cv2.QRCodeDetector()
    try:
        ok, texts, _, _ = detector.detectAndDecodeMulti(gray)
    except cv2.error:
        return []
    return [t for t in texts if t] if ok else []
