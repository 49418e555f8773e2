"""A picture's format and size, read from its header before anything is decoded.

A few kilobytes of PNG can claim 50,000 x 50,000 pixels: decoding it takes gigabytes
and has crashed zxing-cpp (a 30,000 x 30,000 PNG of 948 KB: 7.5 GB, then a
segfault). So the size is read from the header first and a picture past
``MAX_PIXELS`` is refused; only formats whose header we can read are decoded at all
(what phones, scanners and screenshots give: PNG, JPEG, WebP, BMP, GIF).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MAX_PIXELS = 50_000_000
"""A 50-megapixel phone photo (8160 x 6120) still passes; decoded as BGR it is 150 MB,
the bound on what one picture may cost before the decoders downscale it."""


class PictureError(ValueError):
    """A picture that must not be decoded: unknown format, unreadable header, too large."""


class PictureSize(NamedTuple):
    kind: str
    width: int
    height: int


def picture_size(data: bytes) -> PictureSize:
    """The format and size a picture's header declares; ``PictureError`` when the
    header cannot be read or the picture is larger than ``MAX_PIXELS``."""
    for kind, magic, reader in _FORMATS:
        if data.startswith(magic):
            try:
                width, height = reader(data)
            except (struct.error, IndexError, ValueError):
                raise PictureError(f"the {kind} header is damaged") from None
            if width <= 0 or height <= 0:
                raise PictureError(f"the {kind} header declares {width} x {height} pixels")
            if width * height > MAX_PIXELS:
                raise PictureError(
                    f"the {kind} picture is {width} x {height} pixels,"
                    f" over the {MAX_PIXELS // 1_000_000} megapixels vicheck decodes"
                )
            return PictureSize(kind, width, height)
    raise PictureError("not a picture in a format vicheck reads (PNG, JPEG, WebP, BMP, GIF)")


def _png(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg(data: bytes) -> tuple[int, int]:
    """Walk the markers to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC)."""
    at = 2
    while True:
        while data[at] != 0xFF:
            at += 1
        while data[at] == 0xFF:
            at += 1
        marker = data[at]
        at += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        (length,) = struct.unpack(">H", data[at : at + 2])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return int(width), int(height)
        if length < 2:
            raise ValueError("bad segment length")
        at += length


def _webp(data: bytes) -> tuple[int, int]:
    if data[8:12] != b"WEBP":
        raise ValueError("not WebP")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise ValueError("unknown WebP chunk")


def _bmp(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack("<ii", data[18:26])
    return abs(int(width)), abs(int(height))


def _gif(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack("<HH", data[6:10])
    return int(width), int(height)


_FORMATS = (
    ("PNG", b"\x89PNG\r\n\x1a\n", _png),
    ("JPEG", b"\xff\xd8", _jpeg),
    ("WebP", b"RIFF", _webp),
    ("BMP", b"BM", _bmp),
    ("GIF", b"GIF8", _gif),
)
