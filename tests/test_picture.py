"""Bad pictures are refused before they are decoded (terminal/scan/picture.py): a
decompression bomb costs nothing, a damaged or unknown file is BAD_INPUT."""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from terminal.scan.picture import MAX_PIXELS, PictureError, picture_size
from tests.support import World

VICHECK = str(Path(sys.executable).parent / "vicheck")


def png_bomb(side: int) -> bytes:
    """A white greyscale PNG of ``side`` x ``side`` pixels: a few KB on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * side
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose start-of-frame is rewritten to claim another size."""
    ok, data = cv2.imencode(".jpg", np.full((8, 8, 3), 255, np.uint8))
    assert ok
    raw = bytearray(data.tobytes())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp"])
def test_sizes_of_real_pictures_are_read(ext: str) -> None:
    image = np.zeros((37, 53, 3), np.uint8)
    ok, data = cv2.imencode(ext, image)
    assert ok
    assert picture_size(data.tobytes())[1:] == (53, 37)


def test_gif_size_is_read() -> None:
    gif = b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 8
    assert picture_size(gif) == ("GIF", 640, 480)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_bomb(8000), id="png-64-megapixels"),
        pytest.param(jpeg_claiming(50_000, 50_000), id="jpeg-claiming-50000-square"),
        pytest.param(b"II*\x00" + b"\x00" * 100, id="tiff-not-read"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", id="png-truncated-header"),
        pytest.param(b"\xff\xd8\xff\xe0\x00", id="jpeg-truncated-header"),
        pytest.param(b"plain text", id="not-a-picture"),
    ],
)
def test_bad_pictures_are_refused_by_their_header(data: bytes) -> None:
    with pytest.raises(PictureError):
        picture_size(data)


def test_the_bound_itself_passes() -> None:
    side = int(MAX_PIXELS**0.5)
    header = struct.pack(">II", side, side)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + header + b"\x08\x00\x00\x00\x00"
    assert picture_size(png) == ("PNG", side, side)


def _run(args: list[str]) -> tuple[int, dict, float]:
    """``vicheck`` in a child process: exit status, JSON, the child's peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([VICHECK, *args], capture_output=True, text=True, timeout=60)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), max(peak, before) / 1024


@pytest.mark.parametrize("command", ["verify", "scan"])
def test_a_decompression_bomb_is_bad_input_in_bounded_memory(
    world: World, tmp_path: Path, command: str
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(30_000))  # 900 megapixels in ~1 MB: 7.5 GB and a segfault before
    assert bomb.stat().st_size < 2 * 1024 * 1024
    data_dir = world.data_dir
    if command == "verify":
        code, body, rss = _run(
            ["--data-dir", str(data_dir), "verify", "--json", "--image", str(bomb)]
        )
        assert code == 2 and body["error"]["code"] == "BAD_INPUT", body
    else:
        code, body, rss = _run(
            ["--data-dir", str(data_dir), "scan", "--json", "--source", str(bomb)]
        )
        assert code == 2 and body["error"]["code"] == "BAD_INPUT", body
    assert "megapixels" in body["error"]["message"]
    assert rss < 400, f"peak RSS {rss:.0f} MB"
