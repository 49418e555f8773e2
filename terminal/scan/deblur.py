"""Undoing blur before a decoder tries again: Wiener deconvolution with a few
candidate kernels.

A moving hand smears the code along one direction; a lens that has not focused
spreads each point over a disc. Neither kernel is known, but both are cheap to
guess: the smear's direction is the one in which the frame has least gradient
energy (the structure tensor's weaker axis), its length one of a few candidates;
the disc's radius one of a few. Deconvolution happens in the frequency domain
(two DFTs of the frame), with the frame's edges tapered so that they do not ring
across the code.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Image = np.ndarray
Step = Callable[[Image], Image]

NOISE_TO_SIGNAL = 0.01
"""The Wiener filter's regulariser: larger keeps noise down, smaller sharpens more."""


def blur_direction(gray: Image) -> float:
    """The angle (radians, image axes) along which the frame is smeared."""
    f = gray.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    strongest = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    return float(strongest + np.pi / 2)


def blur_length(gray: Image, angle: float, longest: int = 20) -> int:
    """The smear's length in pixels (2 to ``longest``) along ``angle``.

    A smear of length L turns every edge into a ramp L pixels long, so the derivative
    along the blur direction is a pair of opposite steps L apart: its autocorrelation
    dips to its minimum at lag L. Measured on the frame's central half, rotated so
    the blur runs along the rows."""
    return _dip(gray, angle, longest)[1]


def _dip(gray: Image, angle: float, longest: int) -> tuple[float, int]:
    """How deep the derivative's autocorrelation along ``angle`` dips (relative to
    its value at lag 0; more negative, deeper) and at which lag (2 to ``longest``)."""
    h, w = gray.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.degrees(angle)), 1.0)
    level = cv2.warpAffine(
        gray.astype(np.float32), turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    slope = np.diff(level[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4], axis=1)
    spectrum = np.fft.rfft(slope, n=2 * slope.shape[1], axis=1)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : longest + 1].sum(axis=0)
    lag = int(np.argmin(correlation[2:])) + 2
    return float(correlation[lag] / max(float(correlation[0]), 1e-9)), lag


def line_kernel(length: float, angle: float) -> Image:
    """A straight smear of ``length`` pixels at ``angle``, summing to one."""
    side = int(np.ceil(length)) | 1
    kernel = np.zeros((side, side), np.float32)
    c = side // 2
    # The line's end pixels are both drawn: ``length`` pixels span ``length - 1``.
    # (Drawn one longer, the Wiener filter rang on every smear the bench measures.)
    span = max(length - 1, 1.0)
    dx, dy = np.cos(angle) * span, np.sin(angle) * span
    x0, y0 = int(np.floor(c - dx / 2 + 0.5)), int(np.floor(c - dy / 2 + 0.5))
    cv2.line(kernel, (x0, y0), (x0 + round(dx), y0 + round(dy)), 1.0, 1)
    out: Image = kernel / float(kernel.sum())
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
    """``unmotion`` with a smear one (half-size) pixel shorter than measured: on the
    strongest smears the autocorrelation's dip lands a pixel late, and either guess
    alone misses frames the other reads."""
    return _at_half(_unsmear(-1))(gray)


def smear_of(length: float) -> Step:
    """Undo a smear of ``length`` full-size pixels in the direction measured on the
    frame (at half size). Where the length measure fails (a smear along the frame's
    short axis, a code off the measured centre: the dip lands on the longest lag), a
    few fixed lengths still bracket the true one within a pixel or two at half size."""

    def step(gray: Image) -> Image:
        return wiener(gray, line_kernel(length / 2, blur_direction(gray)))

    return _at_half(step)


def _unsmear(shorter: int) -> Step:
    def step(gray: Image) -> Image:
        angle = blur_direction(gray)
        length = max(2, blur_length(gray, angle) + shorter)
        return wiener(gray, line_kernel(length, angle))

    return step


def unmotion_full(gray: Image) -> Image:
    """``unmotion`` at full size: four times the work, for a still picture."""
    angle = blur_direction(gray)
    return wiener(gray, line_kernel(blur_length(gray, angle, longest=30), angle))


def defocus(radius: float, nsr: float = NOISE_TO_SIGNAL) -> Step:
    """Undo a defocus disc of ``radius`` full-size pixels (at half size). A wide disc
    wants a smaller ``nsr``: its transfer function has deep, wide troughs that the
    regulariser would otherwise fill with grey."""
    return _at_half(lambda g: wiener(g, disc_kernel(radius / 2), nsr))


def defocus_full(radius: float) -> Step:
    """Undo a defocus disc of ``radius`` pixels at full size, for a still picture."""
    return lambda g: wiener(g, disc_kernel(radius))
