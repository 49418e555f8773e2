"""``vicheck plate --image`` and ``vicheck verify --car`` (issue 16), on real photos.

The car photos are plates-dev's (read where they are, never copied); certificates
come from the test PKI, whose 粤 key signs for the 粤 car of easypr_159.jpg.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import segno

from bench.plates import DEV
from tests.support import T0, World, at, run_cli

pytestmark = pytest.mark.skipif(
    not (DEV / "truth.tsv").exists(), reason=f"the plates-dev photos are not at {DEV}"
)

CAR = str(DEV / "images" / "easypr_159.jpg")  # 粤A89311
OTHER_CAR = str(DEV / "images" / "easypr_225.jpg")  # 苏E2Y256


def _qr(text: str, path: Path) -> str:
    mode = "alphanumeric" if text.startswith("VI1:") else None
    segno.make(text, error="m", mode=mode).save(str(path), scale=4, border=4)
    return str(path)


def _cert(world: World, plate: str = "粤A89311") -> str:
    return world.pki.certificate(plate, key=world.pki.yue)


def test_plate_json(tmp_path: Path) -> None:
    result = run_cli("plate", "--json", "--image", CAR, data_dir=tmp_path)
    assert result.code == 0, result.err
    plates = result.json["plates"]
    assert plates[0]["plate"] == "粤A89311"
    assert set(plates[0]) == {"plate", "confidence", "box"}
    assert 0 < plates[0]["confidence"] <= 1 and len(plates[0]["box"]) == 4
    assert "error" not in result.json


def test_plate_text(tmp_path: Path) -> None:
    result = run_cli("plate", "--image", CAR, data_dir=tmp_path)
    assert result.code == 0
    assert result.out.splitlines()[0].split("\t")[0] == "粤A89311"


def test_no_plate_found(tmp_path: Path) -> None:
    picture = _qr("https://pay.example/qr/123", tmp_path / "pay.png")
    result = run_cli("plate", "--json", "--image", picture, data_dir=tmp_path)
    assert result.code == 2
    assert result.json["plates"] == []
    assert result.json["error"]["code"] == "NO_PLATE_FOUND"
    text = run_cli("--lang", "zh_CN", "plate", "--image", picture, data_dir=tmp_path)
    assert text.code == 2 and "未找到号牌" in text.err and text.out == ""


@pytest.mark.parametrize("content", [b"not a picture", b"\x89PNG\r\n\x1a\n" + b"\0" * 8])
def test_unreadable_picture_is_bad_input(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.png").write_bytes(content)
    result = run_cli("plate", "--json", "--image", str(tmp_path / "bad.png"), data_dir=tmp_path)
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
    assert "Traceback" not in result.err


def test_missing_picture_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("plate", "--image", str(tmp_path / "none.jpg"), data_dir=tmp_path)
    assert result.code == 2 and "bad input" in result.err


def _verify(world: World, *args: str) -> object:
    return run_cli("verify", "--json", "--at", at(T0), *args, data_dir=world.data_dir)


def test_verify_with_the_car_of_the_certificate(world: World, tmp_path: Path) -> None:
    code = _qr(_cert(world), tmp_path / "code.png")
    plain = _verify(world, "--image", code)
    checked = _verify(world, "--image", code, "--car", CAR)
    assert checked.code == plain.code
    assert checked.json["verdict"] == plain.json["verdict"]
    assert "PLATE_MISMATCH" not in checked.codes
    assert checked.json["car_plates"][0]["plate"] == "粤A89311"
    assert "car_plates" not in plain.json  # nothing changes without --car


def test_verify_with_another_car_is_plate_mismatch(world: World, tmp_path: Path) -> None:
    result = _verify(world, _cert(world), "--car", OTHER_CAR)
    assert result.code == 3, result.out
    assert result.json["verdict"] == "CHECK"
    mismatch = [r for r in result.json["reasons"] if r["code"] == "PLATE_MISMATCH"]
    assert mismatch[0]["severity"] == "check"
    assert mismatch[0]["message"] == "the plate on the vehicle does not match the certificate"
    assert result.json["car_plates"][0]["plate"] == "苏E2Y256"


def test_mismatch_does_not_soften_a_worse_verdict(world: World) -> None:
    revoked = world.pki.certificate("桂A00001")  # status C: alert
    result = _verify(world, revoked, "--car", OTHER_CAR)
    assert result.json["verdict"] == "ALERT"
    assert "PLATE_MISMATCH" in result.codes


def test_verify_car_text_shows_the_plates_read(world: World) -> None:
    result = run_cli(
        "--lang",
        "zh_CN",
        "verify",
        "--at",
        at(T0),
        _cert(world),
        "--car",
        OTHER_CAR,
        data_dir=world.data_dir,
    )
    assert result.code == 3
    assert "实车号牌与凭证号牌不一致" in result.out
    assert "实车号牌: 苏E2Y256" in result.out


def test_verify_car_picture_without_plate_changes_nothing(world: World, tmp_path: Path) -> None:
    blank = _qr("https://pay.example/qr/123", tmp_path / "pay.png")
    plain = _verify(world, _cert(world))
    result = _verify(world, _cert(world), "--car", blank)
    assert (result.code, result.codes) == (plain.code, plain.codes)
    assert result.json["car_plates"] == []


def test_verify_car_unreadable_is_bad_input(world: World, tmp_path: Path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 nothing")
    result = _verify(world, _cert(world), "--car", str(tmp_path / "bad.jpg"))
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")


def test_province_must_be_one_of_the_31(tmp_path: Path) -> None:
    result = run_cli("plate", "--json", "--image", CAR, "--province", "XX", data_dir=tmp_path)
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
