"""QR decoders and image preprocessing steps, each a plain function on a greyscale
numpy image, so the pipeline can chain them and the benchmark can rank them."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from terminal.scan import deblur

Image = np.ndarray
Point = tuple[float, float]
Decoder = Callable[[Image], list[str]]
Step = Callable[[Image], Image]


class Found(NamedTuple):
    """One code a decoder read, with where it is: so the preview can mark it."""

    text: str
    corners: tuple[Point, ...]
    """The code's outline (four corners, clockwise from the top left when the decoder
    knows them) in the coordinates of the picture the decoder was given."""


Locator = Callable[[Image], list[Found]]


def pyzbar_located(gray: Image) -> list[Found]:
    """ZBar restricted to QR codes (it would otherwise try every 1-D symbology)."""
    from pyzbar import pyzbar

    out = []
    for r in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = r.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(Found(text, tuple((float(p.x), float(p.y)) for p in r.polygon)))
    return out


def zxing_located(gray: Image) -> list[Found]:
    """zxing-cpp, QR only."""
    import zxingcpp

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    out = []
    for r in zxingcpp.read_barcodes(gray, formats=qr_only):
        if r.valid and r.text:
            p = r.position
            corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            out.append(Found(r.text, tuple((float(c.x), float(c.y)) for c in corners)))
    return out


def opencv_located(gray: Image) -> list[Found]:
    """OpenCV's classic QR detector and decoder."""
    return _opencv(cv2.QRCodeDetector(), gray)


def opencv_aruco_located(gray: Image) -> list[Found]:
    """OpenCV's ArUco-based QR detector (better finder search, same decoder)."""
    return _opencv(cv2.QRCodeDetectorAruco(), gray)


def _opencv(detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco, gray: Image) -> list[Found]:
    try:
        ok, texts, points, _ = detector.detectAndDecodeMulti(gray)
    except cv2.error:
        return []
    if not ok or points is None:
        return []
    return [
        Found(t, tuple((float(x), float(y)) for x, y in np.asarray(quad).reshape(-1, 2)))
        for t, quad in zip(texts, points, strict=False)
        if t
    ]


def texts_only(locate: Locator) -> Decoder:
    """A locator's texts alone: what the ranking and the tests compare."""
    return lambda gray: [found.text for found in locate(gray)]


def scaled(corners: tuple[Point, ...], fx: float, fy: float) -> tuple[Point, ...]:
    """``corners`` found on a resized picture, back in the original's coordinates."""
    return tuple((x * fx, y * fy) for x, y in corners)


# --- preprocessing ------------------------------------------------------------


def identity(gray: Image) -> Image:
    return gray


def invert(gray: Image) -> Image:
    """Dark-mode screens show light modules on dark; most decoders want the opposite."""
    return cv2.bitwise_not(gray)


def clahe(gray: Image) -> Image:
    """Local contrast equalisation: dim screens, low light, shadows across paper."""
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)


def adaptive_threshold(gray: Image) -> Image:
    """Binarise against the local mean: glare and shadow gradients, moiré."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    return cv2.adaptiveThreshold(
        blurred, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5
    )


def binarise(gray: Image) -> Image:
    """Binarise against the mean of a 25-pixel block (five modules at the usual
    size), the threshold a shade above it: under glare on a dark-mode screen the dark
    modules are lifted to a grey that zxing-cpp's own binariser (a threshold per
    8x8 block, blocks of low contrast taken from their neighbours) gives to the light
    ones; a small block follows the glare's slope. (A Gaussian mean and a threshold
    below it, ``threshold``, read none of those frames.)"""
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 25, -2)


def binarise_half(gray: Image) -> Image:
    """``binarise`` on the half-size frame (a 13-pixel block): a quarter of the work."""
    return cv2.adaptiveThreshold(
        half(gray), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 13, -2
    )


def denoise(gray: Image) -> Image:
    """A median filter removes sensor noise and screen moiré without smearing modules."""
    return cv2.medianBlur(gray, 3)


def half(gray: Image) -> Image:
    """Downscale by two: faster, and averages away moiré and noise."""
    return cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def double(gray: Image) -> Image:
    """Upscale by two: a small, far code gets modules wide enough for the binariser."""
    return cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)


def double_fine_sharpen(gray: Image) -> Image:
    """Upscaled by Lanczos, then sharpened: a code of 1.2 pixels a module keeps its
    modules apart where bicubic merges them (on the bench's small, far codes, 6 of 6
    read where bicubic read 4), for eight times bicubic's cost (12 ms at 1280x720)."""
    return sharpen(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LANCZOS4))


def sharpen(gray: Image) -> Image:
    """Unsharp mask against print blur and motion blur."""
    blurred = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 1.8, blurred, -0.8, 0)


def sharpen_twice(gray: Image) -> Image:
    """A double unsharp mask: defocus wider than one module needs more than one pass."""
    return sharpen(sharpen(gray))


def double_sharpen(gray: Image) -> Image:
    """Upscaled, then sharpened: a small, far code is also a soft one."""
    return sharpen(double(gray))


def double_clahe(gray: Image) -> Image:
    """Equalised, then upscaled: a dim or glared screen whose modules are also small."""
    return double(clahe(gray))


LOCATORS: dict[str, Locator] = {
    "pyzbar": pyzbar_located,
    "zxing": zxing_located,
    "opencv": opencv_located,
    "opencv-aruco": opencv_aruco_located,
}
DECODERS: dict[str, Decoder] = {name: texts_only(locate) for name, locate in LOCATORS.items()}
STEPS: dict[str, Step] = {
    "raw": identity,
    "invert": invert,
    "clahe": clahe,
    "threshold": adaptive_threshold,
    "binarise": binarise,
    "binarise-half": binarise_half,
    "denoise": denoise,
    "half": half,
    "double": double,
    "sharpen": sharpen,
    "sharpen2": sharpen_twice,
    "double-clahe": double_clahe,
    "double-sharpen": double_sharpen,
    "double-fine-sharpen": double_fine_sharpen,
    "unmotion": deblur.unmotion,
    "unmotion-short": deblur.unmotion_short,
    "unmotion-long": deblur.unmotion_long,
    "unfocus": deblur.unfocus,
    "unfocus-full": deblur.unfocus_full,
    "unfocus-4": deblur.defocus(4.5),
    "unfocus-6": deblur.defocus(6, nsr=0.003),
    "unfocus-7": deblur.defocus(7, nsr=0.003),
    "unmotion-full": deblur.unmotion_full,
    **{f"smear-{n}": deblur.smear_of(n) for n in (8, 12, 16, 20)},
    "unfocus-6-full": deblur.defocus_full(6),
}
