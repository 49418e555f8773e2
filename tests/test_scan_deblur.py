"""Deconvolution kernels and the steps built on them, on real synthetic frames read
by the real decoders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from terminal.scan import deblur
from terminal.scan.decoders import DECODERS, STEPS
from terminal.scan.pipeline import ScanPipeline
from terminal.synthetic.scenes import make_frame
from tests.support import Pki

TEXT = Pki().certificate()


@pytest.mark.parametrize("length", [3, 8, 14])
def test_a_horizontal_smear_kernel_is_exactly_its_length(length: int) -> None:
    kernel = deblur.line_kernel(length, 0.0)
    assert int(np.count_nonzero(kernel)) == length
    assert float(kernel.sum()) == pytest.approx(1.0)


def test_a_disc_keeps_its_fractional_radius() -> None:
    narrow, wider = deblur.disc_kernel(2.0), deblur.disc_kernel(2.25)
    assert narrow.sum() == pytest.approx(1.0) and wider.sum() == pytest.approx(1.0)
    # A quarter pixel more radius spreads weight outwards: the centre carries less.
    centre = wider.shape[0] // 2
    assert wider[centre, centre] < narrow[narrow.shape[0] // 2, narrow.shape[0] // 2]


def test_the_smear_length_is_measured_on_a_known_smear() -> None:
    frame = make_frame("phone", TEXT, 3).astype(np.float32)
    for degrees in (0, 90, 160):
        angle = np.radians(degrees)
        smeared = cv2.filter2D(frame, -1, deblur.line_kernel(14, angle))
        gray = np.clip(smeared, 0, 255).astype(np.uint8)
        measured = deblur.blur_direction(gray)
        assert abs(np.degrees(measured - angle) + 90) % 180 - 90 == pytest.approx(0, abs=8)
        assert abs(deblur.blur_length(gray, measured, 30) - 14) <= 1


def test_two_disc_radii_cover_heavy_defocus() -> None:
    # Seed 1009 is drawn with a disc of radius 7 (6 * 1.1, rounded): the radius-6
    # step misses it, the radius-7 step reads it.
    frame = make_frame("defocus-heavy", TEXT, 1009)
    assert TEXT not in DECODERS["zxing"](STEPS["unfocus-6"](frame))
    assert TEXT in DECODERS["zxing"](STEPS["unfocus-7"](frame))
    assert TEXT not in DECODERS["zxing"](frame)


def test_a_fractional_smear_keeps_its_fraction() -> None:
    # At half size a smear of 17 pixels is 8.5 long: spread over 9 pixels, the last
    # one partly, where rounding would give 8 or 9 equal ones.
    kernel = deblur.line_kernel(8.5, 0.0)
    row = kernel[kernel.shape[0] // 2]
    assert float(kernel.sum()) == pytest.approx(1.0)
    assert int(np.count_nonzero(row)) == 9
    assert 0 < row[row.nonzero()[0][-1]] < 0.5 * row.max()


def test_the_smear_is_measured_where_the_code_is() -> None:
    # The code sits off the centre: measured on the frame's central half, the smear's
    # length landed on the longest lag (40 pixels, for 9) and nothing deconvolved it.
    frame = make_frame("motion-blur", TEXT, 1000)
    small = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    _, length = deblur.smear(small)
    assert abs(2 * length - 9) <= 1.5
    assert TEXT not in DECODERS["zxing"](frame)
    assert TEXT in DECODERS["zxing"](STEPS["unmotion"](frame))


def test_the_measured_smear_reads_where_a_fixed_length_was_needed() -> None:
    # The first measure missed this strong smear (a fixed 16-pixel smear read it).
    frame = make_frame("motion-blur-strong", TEXT, 1003)
    assert TEXT not in DECODERS["zxing"](frame)
    assert TEXT in DECODERS["zxing"](STEPS["unmotion"](frame))


@pytest.mark.parametrize("radius", [3, 4, 5, 6])
def test_the_disc_radius_is_measured_on_a_known_disc(radius: int) -> None:
    frame = make_frame("phone", TEXT, 2).astype(np.float32)
    side = 2 * radius + 1
    disc = np.zeros((side, side), np.float32)
    cv2.circle(disc, (radius, radius), radius, 1.0, -1, cv2.LINE_AA)
    gray = np.clip(cv2.filter2D(frame, -1, disc / disc.sum()), 0, 255).astype(np.uint8)
    assert deblur.blur_radius(gray) == pytest.approx(radius, abs=0.5)


def test_the_measured_disc_reads_what_no_fixed_radius_reads() -> None:
    # Drawn with a disc of radius 5: the fixed radii 4.5, 6 and 7 all miss it.
    frame = make_frame("defocus-medium", TEXT, 1002)
    for fixed in ("unfocus-4", "unfocus-6", "unfocus-7"):
        assert TEXT not in DECODERS["zxing"](STEPS[fixed](frame))
    assert TEXT in DECODERS["zxing"](STEPS["unfocus"](frame))


def test_a_local_mean_threshold_reads_a_glared_dark_mode_screen() -> None:
    # The glare lifts the dark modules to a grey zxing-cpp's own binariser, and the
    # Gaussian threshold step, take for light.
    frame = make_frame("dark-mode-glare", TEXT, 1004)
    assert TEXT not in DECODERS["zxing"](frame)
    assert TEXT not in DECODERS["zxing"](STEPS["threshold"](frame))
    assert TEXT in DECODERS["zxing"](STEPS["binarise-half"](frame))


def test_lanczos_upscaling_reads_a_code_bicubic_merges() -> None:
    # About 1.2 pixels a module.
    frame = make_frame("small-far", TEXT, 1004)
    assert TEXT not in DECODERS["zxing"](STEPS["double-sharpen"](frame))
    assert TEXT in DECODERS["zxing"](STEPS["double-fine-sharpen"](frame))


@pytest.mark.parametrize(
    ("category", "seed"),
    [
        ("motion-blur", 1000),
        ("defocus-medium", 1002),
        ("dark-mode-glare", 1004),
        ("small-far", 1004),
    ],
)
def test_the_still_chain_reads_what_it_missed_before(category: str, seed: int) -> None:
    decoded = ScanPipeline().decode(make_frame(category, TEXT, seed), exhaustive=True)
    assert decoded is not None and decoded.text == TEXT
