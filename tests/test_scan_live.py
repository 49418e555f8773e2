"""The live path's use of time: a steady, noisy scene is averaged over aligned frames
before the deep attempts, a shaking one is not (the sharpest frame is used)."""

from __future__ import annotations

import cv2
import numpy as np

from terminal.scan.pipeline import LiveCadence, ScanPipeline, aligned_mean, focus
from terminal.synthetic.scenes import FRAME_VGA, dim_clip, make_frame, shaky_clip
from tests.support import Pki

TEXT = Pki().certificate()
UNBOUNDED = float("inf")
"""No time budget: what is measured is what the frames hold, not the machine's load."""


def _shifted(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    h, w = frame.shape
    move = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    moved: np.ndarray = cv2.warpAffine(frame, move, (w, h), borderMode=cv2.BORDER_REFLECT)
    return moved


def test_aligned_mean_undoes_the_tremor() -> None:
    still = make_frame("phone", TEXT, 4, FRAME_VGA)
    moved = [_shifted(still, 3, -2), _shifted(still, -2, 1), still]
    mean = aligned_mean(moved).astype(np.float32)
    unaligned = np.mean([f.astype(np.float32) for f in moved], axis=0)
    inner = (slice(10, -10), slice(10, -10))  # the reflected borders differ anyway
    error = float(np.abs(mean - still)[inner].mean())
    assert error < 2.0
    assert float(np.abs(unaligned - still)[inner].mean()) > 4 * error


def test_a_frame_of_another_scene_is_left_out() -> None:
    still = make_frame("phone", TEXT, 4, FRAME_VGA)
    other = np.random.default_rng(0).integers(0, 256, still.shape, dtype=np.uint8)
    assert np.array_equal(aligned_mean([other, still]), still)


def test_averaging_reads_a_dim_code_no_single_frame_shows() -> None:
    frames = dim_clip(TEXT, 4, 4)
    pipeline = ScanPipeline(budget_s=UNBOUNDED)
    for frame in frames:  # the whole chain, no budget: each frame alone fails
        decoded = pipeline.decode(frame)
        assert decoded is None or decoded.text != TEXT
    averaged = pipeline.decode(aligned_mean(frames))
    assert averaged is not None and averaged.text == TEXT
    cadence = LiveCadence(pipeline, deep_every=4)
    seen = [cadence.decode(frame) for frame in frames]
    assert seen[:3] == [None, None, None]
    assert seen[3] is not None and seen[3].text == TEXT


def test_a_shaking_hand_gets_the_sharpest_frame_not_the_mean() -> None:
    frames = shaky_clip(TEXT, 0, 4)
    cadence = LiveCadence(ScanPipeline(), deep_every=4)
    for frame in frames:
        cadence._failed.append((focus(frame), frame))
    chosen = cadence._deep_frame()
    assert any(chosen is frame for frame in frames)
    steady = dim_clip(TEXT, 0, 4)
    for frame in steady:
        cadence._failed.append((focus(frame), frame))
    averaged = cadence._deep_frame()
    assert not any(averaged is frame for frame in steady)
