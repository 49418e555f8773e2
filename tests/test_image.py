"""``vicheck verify --image``: a real QR image, decoded by the real decoders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import segno

from tests.support import T0, World, at, run_cli


def _qr_png(text: str, path: Path, scale: int = 4, dark: bool = False) -> Path:
    qr = segno.make(text, error="m", mode="alphanumeric" if text.startswith("VI1:") else None)
    qr.save(str(path), scale=scale, border=4)
    if dark:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(path), cv2.bitwise_not(image))
    return path


def _verify_image(world: World, path: Path) -> object:
    return run_cli(
        "verify", "--json", "--at", at(T0), "--image", str(path), data_dir=world.data_dir
    )


def test_image_of_valid_certificate(world: World, tmp_path: Path) -> None:
    text = world.pki.certificate("桂A12345")
    result = _verify_image(world, _qr_png(text, tmp_path / "cert.png"))
    assert result.code == 0, result.out
    assert result.json["verdict"] == "VALID"
    assert result.json["certificate"]["plate"] == "桂A12345"


def test_dark_mode_screenshot(world: World, tmp_path: Path) -> None:
    text = world.pki.certificate("桂A00001")
    result = _verify_image(world, _qr_png(text, tmp_path / "dark.png", dark=True))
    assert result.json["verdict"] == "ALERT"
    assert "STATUS_C" in result.codes


def test_certificate_wins_over_other_code_in_same_picture(world: World, tmp_path: Path) -> None:
    cert = cv2.imread(str(_qr_png(world.pki.certificate(), tmp_path / "a.png")), 0)
    payment = cv2.imread(str(_qr_png("https://pay.example/qr/123", tmp_path / "b.png")), 0)
    height = max(cert.shape[0], payment.shape[0])
    canvas = np.full((height + 40, cert.shape[1] + payment.shape[1] + 60), 255, np.uint8)
    canvas[20 : 20 + payment.shape[0], 20 : 20 + payment.shape[1]] = payment
    x = 40 + payment.shape[1]
    canvas[20 : 20 + cert.shape[0], x : x + cert.shape[1]] = cert
    cv2.imwrite(str(tmp_path / "both.png"), canvas)
    result = _verify_image(world, tmp_path / "both.png")
    assert result.json["verdict"] == "VALID"


def test_other_qr_code_is_format(world: World, tmp_path: Path) -> None:
    result = _verify_image(world, _qr_png("https://pay.example/qr/123", tmp_path / "pay.png"))
    assert (result.code, result.json["verdict"], result.codes) == (4, "INVALID", ["FORMAT"])


def test_picture_without_code(world: World, tmp_path: Path) -> None:
    blank = np.full((480, 640), 200, np.uint8)
    cv2.putText(blank, "no code here", (50, 240), cv2.FONT_HERSHEY_SIMPLEX, 2, 0, 3)
    cv2.imwrite(str(tmp_path / "blank.png"), blank)
    result = _verify_image(world, tmp_path / "blank.png")
    assert result.code == 2
    assert result.json["error"]["code"] == "NO_CODE_FOUND"


def test_unreadable_files(world: World, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a picture")
    for path in (tmp_path / "missing.png", tmp_path / "notes.txt", tmp_path):
        result = _verify_image(world, path)
        assert result.code == 2, (path, result.out)
        assert result.json["error"]["code"] == "BAD_INPUT"
