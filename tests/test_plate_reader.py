"""The plate reader on real photos (issue 16): ../shared/plates-dev, read where it is.

The photos are the EasyPR and LPRNet projects' (see that folder's README for their
licence); they are never copied into the project. One reader serves the module: its
models load once.
"""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.plates import DEV, frames
from keys.fields import is_valid_plate
from terminal.plates.provinces import doubtful_province, neighbours
from terminal.plates.reader import PlateCandidate, PlateReader

pytestmark = pytest.mark.skipif(
    not (DEV / "truth.tsv").exists(), reason=f"the plates-dev photos are not at {DEV}"
)


@pytest.fixture(scope="module")
def reader() -> Iterator[PlateReader]:
    yield PlateReader()


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(DEV / "images" / name))
    assert image is not None, name
    return image


def test_reads_a_whole_car_photo(reader: PlateReader) -> None:
    found = reader.read(photo("easypr_225.jpg"))  # 1280 x 719
    assert found[0].plate == "苏E2Y256"
    assert 0 < found[0].confidence <= 1
    x, y, w, h = found[0].box
    assert 0 <= x < x + w <= 1280 and 0 <= y < y + h <= 719


def test_candidates_are_valid_plates_best_first_each_once(reader: PlateReader) -> None:
    found = reader.read(photo("easypr_159.jpg"))
    assert found[0].plate == "粤A89311"
    assert all(is_valid_plate(c.plate) for c in found)
    assert len({c.plate for c in found}) == len(found)
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)


def test_a_grey_camera_frame_is_read_not_crashed(reader: PlateReader) -> None:
    """An infrared or monochrome camera (and the demo's virtual one) gives one channel:
    the colour look once raised OpenCV's "bad number of channels" on every card."""
    grey = cv2.cvtColor(photo("easypr_159.jpg"), cv2.COLOR_BGR2GRAY)
    found = reader.read(grey)
    assert all(is_valid_plate(c.plate) for c in found)
    assert "粤A89311" in [c.plate for c in found]  # the text is still there
    assert reader.read(grey[:, :, None]) == found
    bgra = cv2.cvtColor(photo("easypr_159.jpg"), cv2.COLOR_BGR2BGRA)
    assert reader.read(bgra)[0].plate == "粤A89311"


def test_reads_a_cropped_plate(reader: PlateReader) -> None:
    assert reader.read(photo("crop_001.jpg"))[0].plate == "京PL3N67"  # 94 x 24 px


def test_reads_a_two_row_plate(reader: PlateReader) -> None:
    """A bus's yellow rear plate: 粤A above, B2893 below."""
    assert reader.read(photo("easypr_169.jpg"))[0].plate == "粤AB2893"


def test_a_frame_without_a_plate_gives_none(reader: PlateReader) -> None:
    assert reader.read(np.full((720, 1280, 3), 128, np.uint8)) == []
    noise = np.random.default_rng(16).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    assert all(c.confidence < 0.6 for c in reader.read(noise))


@pytest.mark.parametrize("shape", [(1, 1), (2, 8), (10, 3000), (3000, 10), (100, 1), (5, 500)])
def test_odd_shapes_read_nothing_and_stay_bounded(reader: PlateReader, shape: tuple) -> None:
    """PP-OCR's detector blows the short side up to 736 px: a 3000 x 10 picture
    would become 220,800 px wide. The reader bounds every look."""
    assert reader.read(np.zeros((*shape, 3), np.uint8)) == []


def test_unreadable_province_is_offered_from_home() -> None:
    """The province of this one is lost to the frame's edge: offered, not guessed."""
    frame = photo("easypr_225.jpg")
    x, y, w, h = PlateReader().read(frame)[0].box
    cut = frame[y - 10 : y + h + 10, x + int(0.2 * w) : x + w + 10]  # province cut off
    found = PlateReader(home="苏").read(np.ascontiguousarray(cut))
    assert found[0].plate == "苏E2Y256"  # the home province first, then its neighbours
    assert {c.plate[0] for c in found} <= set(doubtful_province("", "苏"))
    assert set(neighbours("苏")) <= set(doubtful_province("", "苏"))
    assert not any(c.province_read for c in found)


def test_on_the_dev_photos(reader: PlateReader) -> None:
    """Every third frame of plates-dev: the best read is the truth in most, and a
    frame whose plates do not include the truth is rare (a false mismatch)."""
    rows = frames(None)[::3]
    best = missed = 0
    for row in rows:
        plates = [c.plate for c in reader.read(photo(row["file"]))]
        best += bool(plates) and plates[0] == row["plate"]
        missed += bool(plates) and row["plate"] not in plates
    assert best >= 0.85 * len(rows), (best, len(rows))
    assert missed <= 1


def test_reads_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models ship in the wheel: a fresh reader loads and reads with no network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert PlateReader().read(photo("easypr_205.jpg"))[0].plate == "苏A0CP56"


def test_candidate_json() -> None:
    c = PlateCandidate("桂A12345", 0.97349, (1, 2, 3, 4))
    assert json.loads(json.dumps(c.to_json())) == {
        "plate": "桂A12345",
        "confidence": 0.973,
        "box": [1, 2, 3, 4],
    }


def test_one_opencv_build_and_the_pinned_reader() -> None:
    """The project uses one OpenCV build, the headless one; the reader is installed
    without the opencv-python it names (Makefile: PLATE_READER)."""
    names = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    builds = {n for n in names if n.startswith("opencv")}
    assert builds == {"opencv-python-headless"}, builds
    assert importlib.metadata.version("rapidocr-onnxruntime") == "1.4.4"


def test_plate_modules_import_no_ocr_until_a_plate_is_read() -> None:
    """grammar, confusion, crosscheck and the reader's module load without numpy,
    OpenCV or onnxruntime: they come with the first frame read."""
    probe = (
        "import sys, json\n"
        "import terminal.plates.reader, terminal.plates.crosscheck, terminal.plate_cli\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    loaded = {m.split(".")[0] for m in json.loads(done.stdout)}
    assert not loaded & {"numpy", "cv2", "onnxruntime", "rapidocr_onnxruntime"}
