"""Deterministic pictures of QR codes as a roadside camera sees them.

Test material for the scanner (tests keep a small set, ``make bench`` a larger one)
and the frames of the demo's virtual camera. Each category models one way real
codes reach the officer: a phone screen photographed (perspective, moiré, glare,
brightness, dark mode), paper (print blur, crease, low light, shadow), forwarded
screenshots (JPEG recompression, scaling), and camera trouble (rotation, a small
far code, motion blur, noise). The second generation (issue 11) adds what the first
missed on real material: the certificate beside other QR codes (a payment code on the same
phone screen, two stickers on one printout), strong motion blur, defocus at three
strengths, a phone at its lowest brightness, a code curved on a bent printout, and
combinations (dark mode with glare, a forwarded JPEG with moiré). Every picture is a
function of (category, text, seed).
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


def code_at(
    text: str,
    corners: list[tuple[float, float]],
    size: tuple[int, int] = FRAME_720P,
    seed: int = 0,
    module_px: int = 5,
) -> Image:
    """A frame with the code's symbol (its quiet zone outside) mapped exactly onto
    ``corners`` (top left, top right, bottom right, bottom left) over a cluttered
    background: where the code is, is known to the pixel, so an outline can be checked."""
    rng = np.random.default_rng([seed, len(_SEED_ORDER) + 1])
    frame = _canvas(size, rng)
    qr = qr_image(text, module_px).astype(np.float32)
    h, w = qr.shape
    b = 4 * module_px
    src = np.array([[b, b], [w - b, b], [w - b, h - b], [b, h - b]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, np.array(corners, np.float32))
    warped = cv2.warpPerspective(qr, matrix, size, borderValue=-1)
    mask = cv2.warpPerspective(np.ones_like(qr), matrix, size)
    return _finish(np.where(mask > 0.5, warped, frame))


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
    return _finish(_moire(frame, rng, 45))


def phone_glare(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.04)
    return _finish(_glare(frame, rng))


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
    shot = _forwarded(shot, rng, (12, 30))
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
    return _finish(_motion(frame, rng, (8, 14)))


def noisy(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
    return _finish(frame + rng.normal(0, rng.uniform(40, 60), frame.shape))


def other_code_text(rng: np.random.Generator) -> str:
    """A code a driver shows by mistake: a payment code, a web page, a contact card."""
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, 18))
    choices = (
        f"https://qr.alipay.com/fkx{digits}",
        f"wxp://f2f0{digits}",
        f"https://example.cn/app/download?id={digits}",
        f"BEGIN:VCARD\nVERSION:3.0\nTEL:1{digits[:10]}\nEND:VCARD",
    )
    return choices[int(rng.integers(0, len(choices)))]


def _side_by_side(codes: list[Image], gap: int, vertical: bool) -> Image:
    """Codes of any sizes on one white sheet, in a row or a column."""
    long = max(c.shape[1 if vertical else 0] for c in codes)
    padded = []
    for code in codes:
        extra = long - code.shape[1 if vertical else 0]
        if vertical:
            padded.append(
                cv2.copyMakeBorder(code, 0, gap, 0, extra, cv2.BORDER_CONSTANT, value=255)
            )
        else:
            padded.append(
                cv2.copyMakeBorder(code, 0, extra, 0, gap, cv2.BORDER_CONSTANT, value=255)
            )
    return np.vstack(padded) if vertical else np.hstack(padded)


def _with_others(text: str, rng: np.random.Generator, count: int, module_px: int) -> list[Image]:
    """The certificate and ``count`` other codes, in an order drawn from ``rng``."""
    codes = [qr_image(text, module_px)]
    codes += [qr_image(other_code_text(rng), module_px) for _ in range(count)]
    order = rng.permutation(len(codes))
    return [codes[i] for i in order]


def phone_two_codes(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A payment code and the certificate on one phone screen, one above the other."""
    sheet = _side_by_side(_with_others(text, rng, 1, 4), 24, vertical=True)
    return _finish(_place(_canvas(size, rng), _phone(sheet), rng, 0.03))


def paper_other_codes(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """One or two other codes printed beside the certificate on the same sheet."""
    sheet = _side_by_side(_with_others(text, rng, int(rng.integers(1, 3)), 3), 30, vertical=False)
    frame = _place(_canvas(size, rng), _paper(sheet), rng, 0.03)
    return _finish(frame + rng.normal(0, 6, frame.shape))


def _motion(frame: Image, rng: np.random.Generator, lengths: tuple[int, int]) -> Image:
    """A straight smear of a length drawn from ``lengths`` at any angle: the hand moving."""
    length = int(rng.integers(*lengths))
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0 / length
    matrix = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    turned = cv2.warpAffine(line, matrix, (length, length))
    kernel = (turned / max(float(turned.sum()), 1e-6)).astype(np.float32)
    return cv2.filter2D(frame, -1, kernel)


def motion_blur_strong(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A smear of three to four modules, then sensor noise."""
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
    blurred = _motion(frame, rng, (15, 21))
    return _finish(blurred + rng.normal(0, 2, frame.shape))


def _defocus(radius: float) -> Scene:
    """An out-of-focus lens spreads each point over a disc of ``radius`` pixels."""

    def scene(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
        frame = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
        r = radius * rng.uniform(0.9, 1.1)
        side = 2 * int(np.ceil(r)) + 1
        disc = np.zeros((side, side), np.float32)
        cv2.circle(disc, (side // 2, side // 2), round(r), 1.0, -1, cv2.LINE_AA)
        blurred = cv2.filter2D(frame, -1, disc / float(disc.sum()))
        return _finish(blurred + rng.normal(0, 2, frame.shape))

    return scene


def phone_very_dim(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """The screen at its lowest brightness at night: a few grey levels of contrast."""
    frame = _very_dim_screen(text, rng, size)
    return _finish(frame + rng.normal(0, 2.5, frame.shape))


def _very_dim_screen(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """``phone_very_dim`` before the sensor's noise."""
    phone = _phone(qr_image(text, 5), brightness=rng.uniform(0.05, 0.09))
    return _place(_canvas(size, rng, level=15) * 0.5, phone, rng, 0.04)


def _bend(patch: Image, rng: np.random.Generator) -> Image:
    """The patch seen on a cylinder: paper held in one hand bows towards the camera."""
    h, w = patch.shape
    arc = rng.uniform(1.4, 2.2)  # radians of the cylinder the sheet covers
    radius = w / arc
    out_w = int(2 * radius * np.sin(arc / 2))
    u = np.arange(out_w, dtype=np.float32) - out_w / 2
    s = radius * np.arcsin(np.clip(u / radius, -1, 1))
    depth = 0.12 * (np.cos(s / radius) - np.cos(arc / 2))  # nearer the camera: larger
    yy = np.arange(h, dtype=np.float32)[:, None] - h / 2
    map_x = np.broadcast_to((s + w / 2)[None, :], (h, out_w)).astype(np.float32)
    map_y = (yy / (1 + depth[None, :]) + h / 2).astype(np.float32)
    shade = (0.8 + 0.2 * np.cos(s / radius))[None, :].astype(np.float32)
    bent = cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR, borderValue=235)
    shaded: Image = bent * shade
    return shaded


def paper_curved(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _bend(_paper(qr_image(text, 5)), rng), rng, 0.03)
    return _finish(frame + rng.normal(0, 4, frame.shape))


def _glare(frame: Image, rng: np.random.Generator, spots: int = 2) -> Image:
    h, w = frame.shape
    light = np.zeros_like(frame)
    yy, xx = np.ogrid[0:h, 0:w]
    for _ in range(spots):
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = rng.uniform(0.05, 0.12) * w
        light += 230 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    lit: Image = frame + light
    return lit


def dark_mode_glare(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    frame = _place(_canvas(size, rng), _phone(qr_image(text, 5), dark=True), rng, 0.04)
    return _finish(_glare(frame, rng))


def _moire(frame: Image, rng: np.random.Generator, amplitude: float) -> Image:
    h, w = frame.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(2.5, 4.0)
    wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    waved: Image = frame + amplitude * wave
    return waved


def _forwarded(shot: Image, rng: np.random.Generator, quality: tuple[int, int]) -> Image:
    """Recompressed twice, as a screenshot forwarded through two chat apps."""
    for _ in range(2):
        q = int(rng.integers(*quality))
        _, data = cv2.imencode(".jpg", _finish(shot), [cv2.IMWRITE_JPEG_QUALITY, q])
        decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
        if decoded is None:  # cannot happen for bytes imencode just wrote
            raise ValueError("the JPEG just encoded does not decode")
        shot = decoded.astype(np.float32)
    return shot


def jpeg_moire(text: str, rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A forwarded screenshot shown on a second phone and photographed off its screen."""
    shot = _forwarded(_phone(qr_image(text, 4)), rng, (15, 35))
    frame = _place(_canvas(size, rng), shot, rng, 0.04)
    return _finish(_moire(frame, rng, 35))


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
    "phone-two-codes": phone_two_codes,
    "paper-other-codes": paper_other_codes,
    "motion-blur-strong": motion_blur_strong,
    "defocus-light": _defocus(3.0),
    "defocus-medium": _defocus(4.5),
    "defocus-heavy": _defocus(6.0),
    "phone-very-dim": phone_very_dim,
    "paper-curved": paper_curved,
    "dark-mode-glare": dark_mode_glare,
    "jpeg-moire": jpeg_moire,
}
FIRST_GENERATION = (
    "phone",
    "phone-perspective",
    "phone-moire",
    "phone-glare",
    "phone-dim",
    "phone-dark-mode",
    "paper-blur",
    "paper-crease",
    "paper-low-light",
    "paper-shadow",
    "screenshot-jpeg",
    "rotated",
    "small-far",
    "motion-blur",
    "noise",
)
"""The categories of the first decoder chain; ``make_frame`` seeds them as it always did
(by their sorted position), so their pictures, and the figures measured on them, stay."""
_SEED_ORDER = sorted(FIRST_GENERATION) + [c for c in CATEGORIES if c not in FIRST_GENERATION]


def make_frame(category: str, text: str, seed: int, size: tuple[int, int] = FRAME_720P) -> Image:
    """One greyscale frame of ``category`` showing ``text``; same inputs, same pixels."""
    rng = np.random.default_rng([seed, _SEED_ORDER.index(category)])
    return CATEGORIES[category](text, rng, size)


def shaky_clip(text: str, seed: int, count: int, size: tuple[int, int] = FRAME_720P) -> list[Image]:
    """``count`` frames of one phone held in a shaking hand: the scene stays put, the
    smear changes from frame to frame (a length of 8 to 22 pixels, any direction), as
    a live camera sees a code the driver cannot hold still."""
    rng = np.random.default_rng([seed, len(_SEED_ORDER)])
    still = _place(_canvas(size, rng), _phone(qr_image(text, 5)), rng, 0.03)
    return [
        _finish(_motion(still, rng, (8, 23)) + rng.normal(0, 2, still.shape)) for _ in range(count)
    ]


def dim_clip(
    text: str, seed: int, count: int, size: tuple[int, int] = FRAME_720P, noise: float = 8.0
) -> list[Image]:
    """``count`` frames of a very dim phone screen held fairly still at night: the
    same scene, a pixel or two of hand tremor between frames, fresh sensor noise on
    each (``noise``: the standard deviation a camera at high gain gives, three times
    ``phone_very_dim``'s). The noise, not a smear, hides the code: averaging aligned
    frames is the remedy this clip measures."""
    rng = np.random.default_rng([seed, len(_SEED_ORDER) + 2])
    still = _very_dim_screen(text, rng, size)
    frames = []
    for _ in range(count):
        dx, dy = rng.uniform(-2, 2, 2)
        moved = cv2.warpAffine(
            still,
            np.array([[1, 0, dx], [0, 1, dy]], np.float32),
            size,
            borderMode=cv2.BORDER_REFLECT,
        )
        frames.append(_finish(moved + rng.normal(0, noise, still.shape)))
    return frames
