"""QR decoders and image preprocessing steps, each a plain function on a greyscale
numpy image, so the pipeline can chain them and the benchmark can rank them."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Image = np.ndarray
Decoder = Callable[[Image], list[str]]
Step = Callable[[Image], Image]


def pyzbar_qr(gray: Image) -> list[str]:
    """ZBar restricted to QR codes (it would otherwise try every 1-D symbology)."""
    from pyzbar import pyzbar

    return _texts(r.data for r in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]))


def zxing_qr(gray: Image) -> list[str]:
    """zxing-cpp, QR only."""
    import zxingcpp

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(gray, formats=qr_only)
    return [r.text for r in results if r.valid and r.text]


def opencv_qr(gray: Image) -> list[str]:
    """OpenCV's classic QR detector and decoder."""
    return _opencv(cv2.QRCodeDetector(), gray)


def opencv_aruco_qr(gray: Image) -> list[str]:
    """OpenCV's ArUco-based QR detector (better finder search, same decoder)."""
    return _opencv(cv2.QRCodeDetectorAruco(), gray)


def _opencv(detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco, gray: Image) -> list[str]:
    try:
        ok, texts, _, _ = detector.detectAndDecodeMulti(gray)
    except cv2.error:
        return []
    return [t for t in texts if t] if ok else []


def _texts(raw: object) -> list[str]:
    out = []
    for data in raw:  # type: ignore[attr-defined]
        try:
            out.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return out


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


def denoise(gray: Image) -> Image:
    """A median filter removes sensor noise and screen moiré without smearing modules."""
    return cv2.medianBlur(gray, 3)


def half(gray: Image) -> Image:
    """Downscale by two: faster, and averages away moiré and noise."""
    return cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def double(gray: Image) -> Image:
    """Upscale by two: a small, far code gets modules wide enough for the binariser."""
    return cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)


def sharpen(gray: Image) -> Image:
    """Unsharp mask against print blur and motion blur."""
    blurred = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 1.8, blurred, -0.8, 0)


DECODERS: dict[str, Decoder] = {
    "pyzbar": pyzbar_qr,
    "zxing": zxing_qr,
    "opencv": opencv_qr,
    "opencv-aruco": opencv_aruco_qr,
}
STEPS: dict[str, Step] = {
    "raw": identity,
    "invert": invert,
    "clahe": clahe,
    "threshold": adaptive_threshold,
    "denoise": denoise,
    "half": half,
    "double": double,
    "sharpen": sharpen,
}
