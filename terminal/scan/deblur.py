"""Undoing blur before a decoder tries again: Wiener deconvolution with a few
candidate kernels.

A moving hand smears the code along one direction; a lens that has not focused
spreads each point over a disc. Neither kernel is known, but both are cheap to
measure on the busiest part of the frame (where the code is): the smear's direction
is the one in which the frame has least gradient energy (the structure tensor's
weaker axis), refined to where the smear's signature is deepest, its length where
the derivative's autocorrelation dips; the disc's radius from the same dip along
rows and columns. Fixed lengths and radii stay as fallbacks for stills.
Deconvolution happens in the frequency domain (two DFTs of the frame), with the
frame's edges tapered so that they do not ring across the code.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Image = np.ndarray
Step = Callable[[Image], Image]

NOISE_TO_SIGNAL = 0.01
"""The Wiener filter's regulariser: larger keeps noise down, smaller sharpens more."""


def busiest(gray: Image, fraction: float = 0.4) -> tuple[slice, slice]:
    """The window (``fraction`` of each side) with the most gradient energy: where
    the code is, since a QR code is the densest texture in a roadside frame (0.4:
    a half-frame window straddled a sharp payment code beside the smeared certificate
    and measured the mixture). The blur
    is measured there, not on the frame's centre: a code off the centre left the
    centre's measure to the background's few edges (the smear's length landed on the
    longest lag candidate on 6 of 40 synthetic smears; on the busiest window, on none)."""
    h, w = gray.shape
    wh, ww = max(8, int(h * fraction)), max(8, int(w * fraction))
    f = gray.astype(np.float32)
    energy = np.abs(cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3))
    energy += np.abs(cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3))
    # Summed over every window at once (a box filter), centres kept inside the frame.
    box = cv2.boxFilter(energy, -1, (ww, wh), normalize=False, borderType=cv2.BORDER_CONSTANT)
    inner = box[wh // 2 : h - (wh - wh // 2) + 1, ww // 2 : w - (ww - ww // 2) + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return slice(int(y), int(y) + wh), slice(int(x), int(x) + ww)


def blur_direction(gray: Image) -> float:
    """The angle (radians, image axes) along which the frame is smeared: the
    structure tensor's weaker axis (a few degrees off: the code's own edges, along
    its two axes, pull it), refined by ``smear``."""
    f = gray.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    strongest = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    return float(strongest + np.pi / 2)


def blur_length(gray: Image, angle: float, longest: int = 20) -> float:
    """The smear's length in pixels (2 to ``longest``) along ``angle``.

    A smear of length L turns every edge into a ramp L pixels long, so the derivative
    along the blur direction is a pair of opposite steps L apart: its autocorrelation
    dips to its minimum at lag L. Measured on the frame's busiest window, rotated so
    the blur runs along the rows."""
    return _dip(gray, angle, longest, busiest(gray))[1]


def smear(gray: Image, longest: int = 20) -> tuple[float, float]:
    """The smear's direction and length, both measured on the busiest window: the
    structure tensor's direction, then the one of a few directions around it (3 and
    6 degrees either side) along which the derivative's autocorrelation dips deepest,
    since a smear is sharpest along its own axis (mean error 4 degrees before, 1.3
    after, on 20 synthetic strong smears; at 18 pixels, 4 degrees put the smear's
    ends a pixel off)."""
    window = busiest(gray)
    first = blur_direction(gray[window])
    tried = [
        (_dip(gray, first + np.radians(d), longest, window), first + np.radians(d)) for d in SWING
    ]
    (_, lag), angle = min(tried, key=lambda t: t[0][0])
    return float(angle), lag


SWING = (-6, -3, 0, 3, 6)
"""Degrees around the structure tensor's direction that ``smear`` tries."""


def blur_radius(gray: Image, scale: float = 1.0, longest: int = 14) -> float:
    """The defocus disc's radius (pixels of ``gray``, a frame shrunk by ``scale``),
    measured on the busiest window.

    A disc's edge profile falls over its diameter, so (as for a smear) the derivative's
    autocorrelation along the rows and the columns dips near lag 2r; the dip is found
    to a fraction of a pixel (a parabola through it). On synthetic discs of radius 3
    to 6 the dip lies at 2r - 0.8 full-size pixels (at half size, half that), a pixel
    or more apart from one radius to the next, where the decoders read a
    deconvolution within half a pixel of the disc's radius and no other: the radius
    to deconvolve by is ``(dip + 0.8 * scale) / 2``."""
    window = gray[busiest(gray)].astype(np.float32)
    correlation = _correlation(window, longest) + _correlation(window.T, longest)
    return (_lowest(correlation) + 0.8 * scale) / 2


def _lowest(correlation: Image) -> float:
    """Where ``correlation`` is lowest past lag 1, to a fraction of a lag: the vertex
    of the parabola through the lowest lag and its two neighbours."""
    lag = int(np.argmin(correlation[2:])) + 2
    if lag + 1 >= len(correlation):
        return float(lag)
    before, at, after = correlation[lag - 1], correlation[lag], correlation[lag + 1]
    curve = float(before - 2 * at + after)
    return lag + (0.5 * float(before - after) / curve if curve > 0 else 0.0)


def _correlation(rows: Image, longest: int) -> Image:
    """The autocorrelation (lags 0 to ``longest``) of the derivative along the rows,
    summed over them: a product per lag (a few tenths of a millisecond on a window of
    a half-size frame, where a DFT of every row took ten times that)."""
    slope = np.diff(rows, axis=1).astype(np.float32)
    width = slope.shape[1]
    # Lags as wide as the window or wider (a tiny picture) have no pairs: zero.
    lags = [
        float(np.vdot(slope[:, : width - k], slope[:, k:])) if k < width else 0.0
        for k in range(longest + 1)
    ]
    return np.array(lags, np.float64)


def _dip(
    gray: Image, angle: float, longest: int, window: tuple[slice, slice]
) -> tuple[float, float]:
    """How deep the derivative's autocorrelation along ``angle`` dips (relative to
    its value at lag 0; more negative, deeper) and at which lag (2 to ``longest``, to
    a fraction of a pixel),
    on ``window`` of ``gray`` turned about its centre so that ``angle`` runs along
    the rows."""
    h, w = gray.shape
    rows, cols = window
    centre = ((cols.start + cols.stop) / 2, (rows.start + rows.stop) / 2)
    turn = cv2.getRotationMatrix2D(centre, float(np.degrees(angle)), 1.0)
    level = cv2.warpAffine(
        gray.astype(np.float32), turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    correlation = _correlation(level[rows, cols], longest)
    depth = float(correlation[2:].min() / max(float(correlation[0]), 1e-9))
    return depth, _lowest(correlation)


def line_kernel(length: float, angle: float) -> Image:
    """A straight smear of ``length`` pixels at ``angle``, summing to one: points a
    quarter pixel apart along a segment of ``length - 1`` pixels (the end pixels' centres;
    drawn one longer, the Wiener filter rang on every smear the bench measures), each
    shared between its four neighbours. A fractional length is kept: at half size a
    smear of 17 pixels is 8.5 long, and rounded to 8 or 9 the deconvolution read
    fewer frames (17 of 24 synthetic smears, 23 with the fraction kept). A whole
    length along an axis covers exactly ``length`` pixels."""
    span = max(float(length) - 1, 0.0)
    side = (int(np.ceil(span)) + 3) | 1
    kernel = np.zeros((side, side), np.float64)
    dx, dy = float(np.cos(angle)), float(np.sin(angle))
    # From the centre back by half the span, moved on by its fraction so that a whole
    # span starts on a pixel centre.
    back = np.floor(span / 2)
    along = np.linspace(0.0, span, max(2, round(span * 4) + 1)) - back
    x = side // 2 + along * dx
    y = side // 2 + along * dy
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    np.add.at(kernel, (y0, x0), (1 - fx) * (1 - fy))
    np.add.at(kernel, (y0, x0 + 1), fx * (1 - fy))
    np.add.at(kernel, (y0 + 1, x0), (1 - fx) * fy)
    np.add.at(kernel, (y0 + 1, x0 + 1), fx * fy)
    out: Image = (kernel / kernel.sum()).astype(np.float32)
    return out


def disc_kernel(radius: float) -> Image:
    """An out-of-focus disc of ``radius`` pixels, summing to one. Its rim is drawn
    at a fraction of a pixel (each pixel weighted by how far inside it lies), so a
    radius of 2.25 is not rounded to 2: at half size, a quarter-pixel of radius
    decides whether a heavily defocused code comes back."""
    side = 2 * int(np.ceil(radius)) + 1
    centre = side // 2
    yy, xx = np.mgrid[0:side, 0:side]
    inside = np.clip(radius + 0.5 - np.hypot(yy - centre, xx - centre), 0, 1)
    out: Image = (inside / inside.sum()).astype(np.float32)
    return out


def wiener(gray: Image, kernel: Image, nsr: float = NOISE_TO_SIGNAL) -> Image:
    """``gray`` deconvolved by ``kernel`` (Wiener), as uint8 of the same size."""
    h, w = gray.shape
    rows, cols = cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w)
    frame = cv2.copyMakeBorder(
        gray.astype(np.float32), 0, rows - h, 0, cols - w, cv2.BORDER_REFLECT
    )
    frame = _taper(frame, max(kernel.shape))
    psf = np.zeros((rows, cols), np.float32)
    kh, kw = kernel.shape
    psf[:kh, :kw] = kernel
    psf = np.roll(psf, (-(kh // 2), -(kw // 2)), (0, 1))
    g = cv2.dft(frame, flags=cv2.DFT_COMPLEX_OUTPUT)
    k = cv2.dft(psf, flags=cv2.DFT_COMPLEX_OUTPUT)
    power = k[..., 0] ** 2 + k[..., 1] ** 2 + nsr
    # G * conj(K) / (|K|^2 + nsr)
    re = (g[..., 0] * k[..., 0] + g[..., 1] * k[..., 1]) / power
    im = (g[..., 1] * k[..., 0] - g[..., 0] * k[..., 1]) / power
    out = cv2.idft(np.dstack([re, im]), flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    clipped: Image = np.clip(out[:h, :w], 0, 255).astype(np.uint8)
    return clipped


def _taper(frame: Image, width: int) -> Image:
    """Blend the frame's borders towards its blurred self, so the DFT's wrap-around
    does not ring through the picture."""
    width = max(4, 2 * width)
    h, w = frame.shape
    blurred = cv2.GaussianBlur(frame, (0, 0), width / 2)
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / width, 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / width, 0, 1)
    alpha = (ramp_y[:, None] * ramp_x[None, :]).astype(np.float32)
    out: Image = alpha * frame + (1 - alpha) * blurred
    return out


def _at_half(deconvolve: Callable[[Image], Image]) -> Step:
    """Deconvolve at half size (a quarter of the DFT work), then upscale by two so
    the sharpened modules are wide enough for the binariser again."""

    def step(gray: Image) -> Image:
        small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        sharp = deconvolve(small)
        return cv2.resize(sharp, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)

    return step


def unmotion(gray: Image) -> Image:
    """Undo the smear the frame shows, its direction and length measured on the frame."""
    return _at_half(_unsmear(0))(gray)


def unmotion_short(gray: Image) -> Image:
    """``unmotion`` with a smear one (half-size) pixel shorter than measured: the dip
    is found to the pixel at half size, two at full size, and either guess alone
    misses frames the other reads."""
    return _at_half(_unsmear(-0.5))(gray)


def unmotion_long(gray: Image) -> Image:
    """``unmotion`` with a smear one (half-size) pixel longer than measured."""
    return _at_half(_unsmear(0.5))(gray)


def smear_of(length: float) -> Step:
    """Undo a smear of ``length`` full-size pixels in the direction measured on the
    frame (at half size). Where the length measure fails, a few fixed lengths still
    bracket the true one within a pixel or two at half size."""

    def step(gray: Image) -> Image:
        return wiener(gray, line_kernel(length / 2, smear(gray)[0]))

    return _at_half(step)


def _unsmear(longer: float) -> Step:
    """At half size the smear of L full-size pixels spans (L - 1) / 2 half-size pixels:
    its kernel is half a pixel longer than the dip measured there."""

    def step(gray: Image) -> Image:
        angle, length = smear(gray)
        return wiener(gray, line_kernel(max(2.0, length + 0.5 + longer), angle))

    return step


def unmotion_full(gray: Image) -> Image:
    """``unmotion`` at full size: four times the work, for a still picture."""
    angle, length = smear(gray, longest=30)
    return wiener(gray, line_kernel(length, angle))


def defocus(radius: float, nsr: float = NOISE_TO_SIGNAL) -> Step:
    """Undo a defocus disc of ``radius`` full-size pixels (at half size). A wide disc
    wants a smaller ``nsr``: its transfer function has deep, wide troughs that the
    regulariser would otherwise fill with grey."""
    return _at_half(lambda g: wiener(g, disc_kernel(radius / 2), nsr))


def defocus_full(radius: float) -> Step:
    """Undo a defocus disc of ``radius`` pixels at full size, for a still picture."""
    return lambda g: wiener(g, disc_kernel(radius))


def unfocus(gray: Image) -> Image:
    """Undo the defocus disc the frame shows, its radius measured on the frame (at
    half size): one deconvolution where fixed radii need three or four, since each
    reads only the discs within half a pixel of its own."""

    def step(small: Image) -> Image:
        return wiener(small, disc_kernel(blur_radius(small, 0.5)), DISC_NSR)

    return _at_half(step)(gray)


def unfocus_full(gray: Image) -> Image:
    """``unfocus`` at full size, for a still picture."""
    return wiener(gray, disc_kernel(blur_radius(gray)), DISC_NSR)


DISC_NSR = 0.003
"""The Wiener regulariser for a measured disc: a disc's transfer function has deep,
wide troughs that the default regulariser fills with grey on the wide ones."""
