"""Bad pictures are refused before they are decoded (terminal/scan/picture.py): a
decompression bomb costs nothing, a damaged or unknown file is BAD_INPUT. Pictures
that are merely unusual (16 bits a channel, CMYK) are read: they are what scanners
and print shops produce."""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from terminal.scan.picture import MAX_PIXELS, PictureError, picture_size
from tests.support import T0, World, at

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


def _run(args: list[str]) -> tuple[int, dict[str, Any], float]:
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


def png_claiming(side: int) -> bytes:
    """A PNG whose header claims ``side`` x ``side`` pixels, followed by the first rows
    only: a few KB, the way a decompression bomb arrives."""
    whole = png_bomb(64)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    ihdr = b"IHDR" + header
    return (
        whole[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + whole[33:]
    )


def test_a_50000_square_png_of_a_few_kb_is_bad_input_in_bounded_memory(
    world: World, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(50_000))
    assert bomb.stat().st_size < 4096
    for args in (["verify", "--json", "--image"], ["scan", "--json", "--source"]):
        code, body, rss = _run(["--data-dir", str(world.data_dir), *args, str(bomb)])
        assert code == 2 and body["error"]["code"] == "BAD_INPUT", body
        assert "50000 x 50000" in body["error"]["message"]
        assert rss < 400, f"peak RSS {rss:.0f} MB"


def _certificate_frame(world: World) -> np.ndarray:
    from terminal.synthetic.scenes import FRAME_VGA, make_frame

    return make_frame("phone", world.pki.certificate(), 1, FRAME_VGA)


def _assert_valid_picture(world: World, path: Path) -> None:
    """``verify --image`` of ``path`` (the world's valid certificate) says VALID."""
    args = ["--data-dir", str(world.data_dir), "verify", "--json", "--at", at(T0)]
    code, body, _ = _run([*args, "--image", str(path)])
    assert (code, body["verdict"]) == (0, "VALID"), body


def test_a_16_bit_png_is_read(world: World, tmp_path: Path) -> None:
    """16 bits a channel (a scanner's or a camera app's export): read as 8 bits."""
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), _certificate_frame(world).astype(np.uint16) * 257)
    written = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert written is not None and written.dtype == np.uint16
    _assert_valid_picture(world, path)


def test_a_cmyk_jpeg_is_read(world: World, tmp_path: Path) -> None:
    """CMYK (a print shop's or a scanner's JPEG): converted to colour, then read."""
    from PIL import Image

    path = tmp_path / "print.jpg"
    rgb = cv2.cvtColor(_certificate_frame(world), cv2.COLOR_GRAY2RGB)
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    _assert_valid_picture(world, path)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_damaged_pictures_are_bad_input(
    world: World, tmp_path: Path, ext: str, damage: str
) -> None:
    ok, data = cv2.imencode(ext, _certificate_frame(world))
    assert ok
    raw = bytearray(data.tobytes())
    if damage == "truncated":
        raw = raw[: len(raw) // 3]
    else:  # the header intact, the picture data replaced by noise
        noise = np.random.default_rng(7).integers(0, 256, len(raw) - 64, dtype=np.uint8)
        raw[64:] = noise.tobytes()
    path = tmp_path / f"damaged{ext}"
    path.write_bytes(bytes(raw))
    for args in (["verify", "--json", "--image"], ["scan", "--json", "--source"]):
        code, body, _ = _run(["--data-dir", str(world.data_dir), *args, str(path)])
        assert code == 2, body
        assert body["error"]["code"] == "BAD_INPUT", body


@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (3, 40), (40, 3), (2, 500), (25, 25)])
def test_a_picture_too_small_for_a_code_is_no_code_found(
    world: World, tmp_path: Path, shape: tuple[int, int]
) -> None:
    """A few pixels of noise (a thumbnail, a cropped icon): the deconvolutions once
    failed on such sides (exit 1, INTERNAL); now the chain runs on it padded white."""
    path = tmp_path / "tiny.png"
    noise = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    assert cv2.imwrite(str(path), noise)
    for args in (["verify", "--json", "--image"], ["scan", "--json", "--source"]):
        code, body, _ = _run(["--data-dir", str(world.data_dir), *args, str(path)])
        assert (code, body["error"]["code"]) == (2, "NO_CODE_FOUND"), body


def test_a_code_one_pixel_a_module_without_its_quiet_zone_is_read(
    world: World, tmp_path: Path
) -> None:
    """A tight crop at one pixel a module (53 px, under the chain's 64 px minimum):
    padded, it is read as before, not refused as too small."""
    from terminal.synthetic.scenes import qr_image

    inner = qr_image(world.pki.certificate(), 1, border=0)  # cropped tight
    path = tmp_path / "tight.png"
    assert cv2.imwrite(str(path), inner)
    _assert_valid_picture(world, path)
