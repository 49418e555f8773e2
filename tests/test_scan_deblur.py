"""Deconvolution kernels and the steps built on them, on real synthetic frames read
by the real decoders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from terminal.scan import deblur
from terminal.scan.decoders import DECODERS, STEPS
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


def test_a_fixed_smear_length_reads_where_the_measure_fails() -> None:
    frame = make_frame("motion-blur-strong", TEXT, 1003)
    assert TEXT not in DECODERS["zxing"](STEPS["unmotion"](frame))
    assert TEXT in DECODERS["zxing"](STEPS["smear-16"](frame))
