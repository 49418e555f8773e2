"""Scanning: synthetic camera frames through the real decoders, the frame sources,
duplicate suppression, the keyboard-wedge input and ``vicheck scan``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from terminal.scan.decoders import DECODERS
from terminal.scan.dedupe import RecentCodes
from terminal.scan.pipeline import ScanPipeline
from terminal.scan.sources import CameraSource, Frame, LatestFrame, SourceError, open_source
from terminal.scan.wedge import WedgeInput
from terminal.synthetic.scenes import CATEGORIES, FRAME_VGA, make_frame
from tests.support import T0, Pki, World, at, run_cli

TEXT = Pki().certificate()


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_synthetic_frames_are_deterministic() -> None:
    for category in CATEGORIES:
        a = make_frame(category, TEXT, 3, FRAME_VGA)
        b = make_frame(category, TEXT, 3, FRAME_VGA)
        assert a.shape == (480, 640) and a.dtype == np.uint8
        assert np.array_equal(a, b), category
    assert not np.array_equal(make_frame("phone", TEXT, 1), make_frame("phone", TEXT, 2))


@pytest.mark.parametrize(
    "category",
    ["phone", "phone-perspective", "phone-dark-mode", "paper-shadow", "screenshot-jpeg", "rotated"],
)
def test_pipeline_reads_common_scenes(category: str) -> None:
    for seed in range(3):
        decoded = ScanPipeline().decode(make_frame(category, TEXT, seed))
        assert decoded is not None and decoded.text == TEXT, (category, seed)


def test_pipeline_beats_every_single_decoder() -> None:
    # One 1280x720 frame of every category (the chain is ranked at that size);
    # bench/scan.py measures every category at scale.
    frames = [make_frame(c, TEXT, 11) for c in CATEGORIES]
    pipeline = ScanPipeline(budget_s=float("inf"))
    ours = {i for i, f in enumerate(frames) if (d := pipeline.decode(f)) and d.text == TEXT}
    for name, decoder in DECODERS.items():
        alone = {i for i, f in enumerate(frames) if TEXT in decoder(f)}
        assert alone <= ours, name
    zxing = sum(1 for f in frames if TEXT in DECODERS["zxing"](f))
    assert len(ours) >= zxing + 3  # deblurring, sharpening and upscaling add reads
    assert len(ours) >= 0.9 * len(frames)


def test_pipeline_prefers_the_certificate_and_reports_other_codes() -> None:
    other = make_frame("phone", "HTTPS://PAY.EXAMPLE/QR/42", 1, FRAME_VGA)
    decoded = ScanPipeline().decode(other)
    assert decoded is not None and decoded.text == "HTTPS://PAY.EXAMPLE/QR/42"
    both = np.hstack([other, make_frame("phone", TEXT, 2, FRAME_VGA)])
    decoded = ScanPipeline().decode(both)
    assert decoded is not None and decoded.text == TEXT


def test_pipeline_on_colour_and_empty_frames() -> None:
    colour = cv2.cvtColor(make_frame("phone", TEXT, 5, FRAME_VGA), cv2.COLOR_GRAY2BGR)
    decoded = ScanPipeline().decode(colour)
    assert decoded is not None and decoded.text == TEXT
    assert ScanPipeline().decode(np.full((480, 640), 128, np.uint8)) is None
    with pytest.raises(ValueError, match="unknown decoder"):
        ScanPipeline(chain=[("nope", "raw")])


def test_recent_codes_suppress_repeats_for_a_window() -> None:
    clock = FakeClock()
    recent = RecentCodes(clock, window=3.0)
    assert recent.is_new("A")
    clock.t += 1
    assert not recent.is_new("A")  # still in view
    assert recent.is_new("B")
    clock.t += 2.5
    assert not recent.is_new("A")  # seen 2.5 s ago: the same showing
    clock.t += 3.0
    assert recent.is_new("A")  # out of sight for 3 s: shown again


def test_wedge_turns_keystrokes_into_codes() -> None:
    clock = FakeClock()
    wedge = WedgeInput(clock, gap=0.3)
    assert wedge.feed_text(TEXT + "\r\n") == [TEXT]
    assert wedge.feed_text("\r") == []  # a lone Enter is nothing
    for ch in "VI1:AB":
        assert wedge.feed(ch) is None
    clock.t += 1.0  # the pause: those were stray keys, not a scan
    assert wedge.feed_text("VI1:CD\n") == ["VI1:CD"]
    long = WedgeInput(clock, limit=10)
    assert long.feed_text("X" * 11 + "\r") == []  # the over-long burst was dropped


def test_latest_frame_keeps_only_the_newest() -> None:
    slot = LatestFrame()
    for n in range(5):
        slot.put(Frame(None, str(n)))
    frame = slot.take(timeout=0.1)
    assert frame is not None and frame.label == "4"
    assert slot.take(timeout=0.05) is None  # nothing newer yet
    slot.put(None)
    assert slot.take(timeout=0.05) is None


def _video(path: Path, texts: list[str | None], repeat: int = 8) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, FRAME_VGA)
    assert writer.isOpened()
    for i, text in enumerate(texts):
        frame = (
            make_frame("phone", text, i, FRAME_VGA) if text else np.full((480, 640), 120, np.uint8)
        )
        for _ in range(repeat):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def test_camera_source_reads_in_its_own_thread(tmp_path: Path) -> None:
    # OpenCV opens a file like a device; the reader thread and its release are real.
    source = CameraSource(str(_video(tmp_path / "cam.avi", [TEXT, None], repeat=3)))
    labels = [f.label for f in source.frames()]
    source.close()
    assert labels and all(label.isdigit() for label in labels)
    assert [int(x) for x in labels] == sorted(int(x) for x in labels)
    assert not source._thread.is_alive()


def test_open_source_kinds(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "missing.png"))
    cv2.imwrite(str(tmp_path / "a.png"), make_frame("phone", TEXT, 1, FRAME_VGA))
    assert type(open_source(str(tmp_path / "a.png"))).__name__ == "ImageSource"
    assert type(open_source(str(tmp_path))).__name__ == "DirectorySource"


def _scan(world: World, source: Path) -> tuple[int, list[dict]]:
    result = run_cli(
        "scan", "--json", "--at", at(T0), "--source", str(source), data_dir=world.data_dir
    )
    return result.code, [json.loads(line) for line in result.out.splitlines()]


def test_scan_directory(world: World, tmp_path: Path) -> None:
    pki = world.pki
    cv2.imwrite(str(tmp_path / "1-valid.png"), make_frame("phone", pki.certificate(), 1))
    stolen = pki.certificate("桂A00001", serial=b"serial-0002")
    cv2.imwrite(str(tmp_path / "2-stolen.jpg"), make_frame("paper-shadow", stolen, 2))
    cv2.imwrite(str(tmp_path / "3-blank.png"), np.full((200, 200), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "4-pay.png"), make_frame("phone", "HTTPS://PAY.EXAMPLE/1", 4))
    (tmp_path / "5-broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored: not an image")
    code, lines = _scan(world, tmp_path)
    by_source = {line["source"]: line for line in lines}
    assert list(by_source) == [
        "1-valid.png",
        "2-stolen.jpg",
        "3-blank.png",
        "4-pay.png",
        "5-broken.png",
    ]
    assert by_source["1-valid.png"]["verdict"] == "VALID"
    assert by_source["2-stolen.jpg"]["verdict"] == "ALERT"
    assert by_source["3-blank.png"]["error"]["code"] == "NO_CODE_FOUND"
    assert by_source["4-pay.png"]["verdict"] == "INVALID"
    assert [r["code"] for r in by_source["4-pay.png"]["reasons"]] == ["FORMAT"]
    assert by_source["5-broken.png"]["error"]["code"] == "BAD_INPUT"
    assert code == 5  # the worst verdict seen


def test_scan_video_checks_each_code_once(world: World, tmp_path: Path) -> None:
    other = world.pki.certificate("桂A54321", serial=b"serial-0003")
    video = _video(tmp_path / "clip.avi", [world.pki.certificate(), None, other])
    code, lines = _scan(world, video)
    assert [line["certificate"]["plate"] for line in lines] == ["桂A12345", "桂A54321"]
    assert all(line["source"].isdigit() for line in lines)
    assert code == 0


def test_scan_errors(world: World, tmp_path: Path) -> None:
    code, lines = _scan(world, tmp_path / "nothing-here")
    assert code == 2 and lines[0]["error"]["code"] == "BAD_INPUT"
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((100, 100), 128, np.uint8))
    code, lines = _scan(world, tmp_path / "blank.png")
    assert code == 2 and lines == [
        {
            "source": "blank.png",
            "error": {"code": "NO_CODE_FOUND", "message": lines[0]["error"]["message"]},
        }
    ]
