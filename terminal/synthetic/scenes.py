"""Deterministic pictures of QR codes as a roadside camera sees them.

Test material for the scanner (tests keep a small set, ``make bench`` a larger one)
and the frames of the demo's virtual camera. Each category models one way real
codes reach the officer: a phone screen photographed (perspective, moiré, glare,
brightness, dark mode), paper (print blur, crease, low light, shadow), forwarded
screenshots (JPEG recompression, scaling), and camera trouble (rotation, a small
far code, motion blur, noise). Every picture is a function of (category, text, seed).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import segno

Image = np.ndarray
FRAME_720P = (1280, 720)
FRAME_VGA = (640, 480)


def qr_image(text: str, module_px: int = 4, border: int = 4) -> Image:
    """The code as issued: alphanumeric mode for certificates, error correction M."""
    mode = "alphanumeric" if _alphanumeric(text) else None
    qr = segno.make(text, error="m", mode=mode, boost_error=False)
    matrix = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    matrix = np.pad(matrix, border)
    image = np.where(matrix == 1, 0, 255).astype(np.uint8)
    return np.kron(image, np.ones((module_px, module_px), dtype=np.uint8))


def _alphanumeric(text: str) -> bool:
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    return bool(text) and set(text) <= allowed


def _canvas(size: tuple[int, int], rng: np.random.Generator, level: int = 120) -> Image:
    """A cluttered background (car, road, uniform) so the code is not the only edge."""
    w, h = size
    base = np.full((h, w), level, np.float32)
    base += np.linspace(-25, 25, w, dtype=np.float32)[None, :]
    for _ in range(12):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(
            base,
            (x, y),
            (x + int(rng.integers(20, 200)), y + int(rng.integers(10, 120))),
            float(rng.integers(40, 200)),
            -1,
        )
    return base


def _place(
    frame: Image, patch: Image, rng: np.random.Generator, corners_jitter: float = 0.0
) -> Image:
    """Paste ``patch`` off-centre into ``frame`` with an optional perspective tilt."""
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    scale = min(1.0, 0.8 * h / ph, 0.8 * w / pw)
    pw2, ph2 = int(pw * scale), int(ph * scale)
    x0 = int(rng.integers(0, max(1, w - pw2)))
    y0 = int(rng.integers(0, max(1, h - ph2)))
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    dst = np.array([[x0, y0], [x0 + pw2, y0], [x0 + pw2, y0 + ph2], [x0, y0 + ph2]], np.float32)
    dst += rng.uniform(-corners_jitter, corners_jitter, dst.shape).astype(np.float32) * pw2
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(patch.astype(np.float32), matrix, (w, h), borderValue=-1)
    mask = cv2.warpPerspective(np.ones_like(patch, np.float32), matrix, (w, h))
    return np.where(mask > 0.5, warped, frame)


def _finish(image: Image) -> Image:
    clipped: Image = np.clip(image, 0, 255)
    return clipped.astype(np.uint8)


def _phone(qr: Image, dark: bool = False, brightness: float = 1.0) -> Image:
    """The code on a phone screen: a bezel, a lit screen, the app's margins."""
    code = 255 - qr if dark else qr
    pad_colour = 20 if dark else 250
    screen = cv2.copyMakeBorder(
        code, 60, 140, 30, 30, cv2.BORDER_CONSTANT, value=pad_colour
    ).astype(np.float32)
    screen = screen * brightness
    return cv2.copyMakeBorder(screen, 18, 18, 12, 12, cv2.BORDER_CONSTANT, value=10)


def _paper(qr: Image) -> Image:
    return cv2.copyMakeBorder(qr, 80, 200, 60, 60, cv2.BORDER_CONSTANT, value=235).astype(
        np.float32
    )


def phone_clean(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    return _finish(_place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.02))


def phone_perspective(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    return _finish(_place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.2))


def phone_moire(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.04)
    h, w = frame.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(2.5, 4.0)
    wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    return _finish(frame + 45 * wave)


def phone_glare(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.04)
    h, w = frame.shape
    spots = np.zeros_like(frame)
    for _ in range(2):
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = rng.uniform(0.05, 0.12) * w
        yy, xx = np.ogrid[0:h, 0:w]
        spots += 230 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    return _finish(frame + spots)


def phone_dim(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    phone = _phone(qr_image(text, 5), brightness=rng.uniform(0.15, 0.3))
    frame = _place(_canvas(size, rng, level=40), phone, rng, 0.04)
    return _finish(frame + rng.normal(0, 4, frame.shape))


def phone_dark_mode(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    return _finish(_place(_canvas(size, rng), _phone(qr_image(text, 5), dark=True), rng, 0.04))


def paper_blur(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _paper(qr_image(text, 5)), rng, 0.03)
    k = int(rng.choice([7, 9, 11]))
    return _finish(cv2.GaussianBlur(frame, (k, k), 0))


def paper_crease(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    paper = _paper(qr_image(text, 5))
    h, w = paper.shape
    x = int(rng.uniform(0.35, 0.65) * w)
    paper[:, x:] *= 0.75  # the far side of the fold catches less light
    cv2.line(paper, (x, 0), (x + int(rng.integers(-20, 20)), h), 90, 3)
    return _finish(_place(_canvas(size, rng), paper, rng, 0.05))


def paper_low_light(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng, level=60), _paper(qr_image(text, 5)), rng, 0.03)
    frame = frame * rng.uniform(0.12, 0.25)
    return _finish(frame + rng.normal(0, 8, frame.shape))


def paper_shadow(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _paper(qr_image(text, 5)), rng, 0.03)
    w = frame.shape[1]
    ramp = np.clip(np.linspace(-1.0, 2.0, w, dtype=np.float32), 0, 1)[None, :]
    if rng.random() < 0.5:
        ramp = ramp[:, ::-1]
    return _finish(frame * (0.15 + 0.85 * ramp))


def screenshot_jpeg(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    shot = _phone(qr_image(text, 3))
    scale = rng.uniform(0.7, 1.0)
    shot = cv2.resize(shot, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for _ in range(2):  # forwarded twice, recompressed each time
        quality = int(rng.integers(12, 30))
        _, data = cv2.imencode(".jpg", _finish(shot), [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
        if decoded is None:  # cannot happen for bytes imencode just wrote
            raise ValueError("the JPEG just encoded does not decode")
        shot = decoded.astype(np.float32)
    return _finish(_place(_canvas(size, rng), shot, rng, 0.0))


def rotated(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    phone = _phone(qr_image(text, 5))
    h, w = phone.shape
    side = int(np.hypot(h, w)) + 4
    padded = cv2.copyMakeBorder(
        phone,
        (side - h) // 2,
        (side - h + 1) // 2,
        (side - w) // 2,
        (side - w + 1) // 2,
        cv2.BORDER_CONSTANT,
        value=-1,
    )
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), float(rng.uniform(20, 340)), 1.0)
    turned = cv2.warpAffine(padded, matrix, (side, side), borderValue=-1)
    frame = _canvas(size, rng)
    placed = _place(frame, turned, rng, 0.0)
    return _finish(np.where(placed < 0, frame, placed))


def small_far(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _canvas(size, rng)
    code = _phone(qr_image(text, 2))
    scale = rng.uniform(0.6, 0.8)
    code = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return _finish(_place(frame, code, rng, 0.02))


def motion_blur(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
    length = int(rng.integers(8, 14))
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0 / length
    matrix = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    turned = cv2.warpAffine(line, matrix, (length, length))
    kernel = (turned / max(float(turned.sum()), 1e-6)).astype(np.float32)
    return _finish(cv2.filter2D(frame, -1, kernel))


def noisy(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
    return _finish(frame + rng.normal(0, rng.uniform(40, 60), frame.shape))


Scene = Callable[[str, np.random.Generator, tuple[int, int]], Image]

CATEGORIES: dict[str, Scene] = {
    "phone": phone_clean,
    "phone-perspective": phone_perspective,
    "phone-moire": phone_moire,
    "phone-glare": phone_glare,
    "phone-dim": phone_dim,
    "phone-dark-mode": phone_dark_mode,
    "paper-blur": paper_blur,
    "paper-crease": paper_crease,
    "paper-low-light": paper_low_light,
    "paper-shadow": paper_shadow,
    "screenshot-jpeg": screenshot_jpeg,
    "rotated": rotated,
    "small-far": small_far,
    "motion-blur": motion_blur,
    "noise": noisy,
}


def make_frame(category: str, text: str, seed: int, size: tuple[int, int] = FRAME_720P) -> Image:
    """One greyscale frame of ``category`` showing ``text``; same inputs, same pixels."""
    rng = np.random.default_rng([seed, sorted(CATEGORIES).index(category)])
    return CATEGORIES[category](text, rng, size)
