"""Every code in the frame, the certificate first (issue 11): a payment code beside
the certificate does not hide it, two certificates are both reported and never one
silently, and a code that is not a certificate is shown in words and in ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from terminal.scan.codes import TEXT_SHOWN, code_kind, notices
from terminal.scan.decoders import DECODERS
from terminal.scan.pipeline import LiveCadence, ScanPipeline, focus
from terminal.strings import EN, ZH, Catalogue
from terminal.synthetic.scenes import FRAME_VGA, make_frame
from tests.support import T0, Pki, World, at, run_cli

TEXT = Pki().certificate()
PAY = "HTTPS://PAY.EXAMPLE/QR/42"
UNBOUNDED = ScanPipeline(budget_s=float("inf"))
"""No time budget: what is read must not depend on how loaded the machine is."""


@pytest.mark.parametrize("category", ["phone-two-codes", "paper-other-codes"])
def test_certificate_beside_other_codes_is_read_with_them(category: str) -> None:
    for seed in range(4):
        frame = make_frame(category, TEXT, seed)
        decoded = UNBOUNDED.decode(frame)
        assert decoded is not None and decoded.text == TEXT, (category, seed)
        assert decoded.certificates == (TEXT,)
        assert len(decoded.texts) >= 2  # the other code was seen too, and set aside


@pytest.mark.parametrize(
    ("category", "seed"), [("small-far", 0), ("defocus-light", 0), ("motion-blur", 15)]
)
def test_another_code_does_not_end_the_chain(category: str, seed: int) -> None:
    both = np.hstack(
        [make_frame("phone", PAY, 1, FRAME_VGA), make_frame(category, TEXT, seed, FRAME_VGA)]
    )
    first = UNBOUNDED.decode(both, limit=1)
    assert first is not None and first.texts == (PAY,)  # the first attempt saw only the other
    decoded = UNBOUNDED.decode(both)
    assert decoded is not None and decoded.text == TEXT
    assert set(decoded.texts) == {TEXT, PAY}


def test_two_certificates_in_view_are_both_reported() -> None:
    other = Pki().certificate("桂A54321", serial=b"serial-0003")
    frame = np.hstack(
        [make_frame("phone", TEXT, 1, FRAME_VGA), make_frame("phone", other, 2, FRAME_VGA)]
    )
    decoded = UNBOUNDED.decode(frame)
    assert decoded is not None and set(decoded.certificates) == {TEXT, other}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("wxp://f2f0abc", "payment"),
        ("https://qr.alipay.com/fkx123", "payment"),
        ("HTTPS://QR.ALIPAY.COM/FKX123", "payment"),
        ("https://example.cn/a?b=c", "url"),
        ("www.example.cn", "url"),
        ("BEGIN:VCARD\nVERSION:3.0\nEND:VCARD", "contact"),
        ("WIFI:S:road;T:WPA;P:x;;", "wifi"),
        ("桂A12345", "text"),
        ("", "text"),
    ],
)
def test_code_kind(text: str, kind: str) -> None:
    assert code_kind(text) == kind


def test_every_kind_is_worded_in_both_languages() -> None:
    from terminal.scan.codes import KINDS
    from terminal.strings import MESSAGES

    for lang in (ZH, EN):
        for kind in KINDS:
            assert f"scan.kind.{kind}" in MESSAGES[lang], (lang, kind)
        assert "scan.other_code" in MESSAGES[lang] and "scan.several" in MESSAGES[lang]


def _picture(path: Path, *frames: np.ndarray) -> Path:
    cv2.imwrite(str(path), np.hstack(frames))
    return path


def _verify(world: World, path: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(
        "verify", "--json", "--at", at(T0), *extra, "--image", str(path), data_dir=world.data_dir
    )
    body: dict[str, Any] = result.json
    body["exit"] = result.code
    return body


def test_verify_image_names_the_other_code(world: World, tmp_path: Path) -> None:
    long = "https://example.cn/" + "x" * 400
    path = _picture(tmp_path / "web.png", make_frame("phone", long, 1))
    body = _verify(world, path)
    assert (body["exit"], body["verdict"]) == (4, "INVALID")
    assert [r["code"] for r in body["reasons"]] == ["FORMAT"]
    assert body["text"] == long[:TEXT_SHOWN] and len(body["text"]) == TEXT_SHOWN
    assert body["text_kind"] == "url"
    assert "a web address" in body["notice"]


def test_verify_image_with_the_certificate_beside_a_payment_code(
    world: World, tmp_path: Path
) -> None:
    path = _picture(
        tmp_path / "both.png", make_frame("phone-two-codes", world.pki.certificate(), 3)
    )
    body = _verify(world, path)
    assert body["verdict"] == "VALID" and body["certificate"]["plate"] == "桂A12345"
    assert "text" not in body and "in_view" not in body  # SPEC 7's object, nothing added


def test_two_certificates_are_a_check_naming_both_plates(world: World, tmp_path: Path) -> None:
    stolen = world.pki.certificate("桂A00001", serial=b"serial-0002")
    path = _picture(
        tmp_path / "two.png",
        make_frame("phone", world.pki.certificate(), 1, FRAME_VGA),
        make_frame("phone", stolen, 2, FRAME_VGA),
    )
    body = _verify(world, path)
    assert body["verdict"] == "ALERT"  # the worst of the two is shown, never hidden
    assert body["certificate"]["plate"] == "桂A00001"
    assert sorted((c["plate"], c["verdict"]) for c in body["in_view"]) == [
        ("桂A00001", "ALERT"),
        ("桂A12345", "VALID"),
    ]
    assert "2 different certificates" in body["notice"]
    assert "桂A12345" in body["notice"] and "桂A00001" in body["notice"]


def test_two_valid_certificates_are_a_check(world: World, tmp_path: Path) -> None:
    other = world.pki.certificate("桂A12345", serial=b"serial-0009")
    path = _picture(
        tmp_path / "two.png",
        make_frame("phone", world.pki.certificate(), 1, FRAME_VGA),
        make_frame("phone", other, 2, FRAME_VGA),
    )
    body = _verify(world, path)
    assert (body["exit"], body["verdict"]) == (3, "CHECK")
    assert [c["verdict"] for c in body["in_view"]] == ["VALID", "VALID"]
    # A CHECK says why: two valid certificates make it, by a reason of its own.
    assert [r["code"] for r in body["reasons"]] == ["SEVERAL_CERTIFICATES"]
    text = run_cli("verify", "--at", at(T0), "--image", str(path), data_dir=world.data_dir).out
    assert "CHECK" in text and "2 different certificates in view" in text


def test_scan_json_names_other_codes_and_several_certificates(world: World, tmp_path: Path) -> None:
    stolen = world.pki.certificate("桂A00001", serial=b"serial-0002")
    _picture(tmp_path / "1-pay.png", make_frame("phone", "wxp://f2f0123", 4))
    _picture(
        tmp_path / "2-two.png",
        make_frame("phone", world.pki.certificate(), 1, FRAME_VGA),
        make_frame("phone", stolen, 2, FRAME_VGA),
    )
    result = run_cli(
        "scan", "--json", "--at", at(T0), "--source", str(tmp_path), data_dir=world.data_dir
    )
    lines = {line["source"]: line for line in map(json.loads, result.out.splitlines())}
    assert lines["1-pay.png"]["text"] == "wxp://f2f0123"
    assert lines["1-pay.png"]["text_kind"] == "payment"
    assert {c["plate"] for c in lines["2-two.png"]["in_view"]} == {"桂A12345", "桂A00001"}
    assert result.code == 5


def test_notices_in_chinese(world: World) -> None:
    from cache.store import Store
    from terminal.clock import Clock
    from terminal.scan.codes import InView
    from terminal.verdict import Checker

    store = Store.open(world.data_dir)
    try:
        result = Checker(store, ["gx", "hot"], Clock(at=T0)).verify("wxp://f2f0123")
    finally:
        store.close()
    seen = InView(result, (), "wxp://f2f0123")
    assert notices(seen, Catalogue(ZH)) == ["扫到的是付款码或收款码：wxp://f2f0123"]
    assert notices(InView(result), Catalogue(EN)) == []


def test_live_cadence_tries_the_sharpest_recent_frame_in_depth() -> None:
    pipeline = ScanPipeline(budget_s=float("inf"))
    readable = make_frame("small-far", TEXT, 8)  # only the deep attempts read it
    assert pipeline.decode(readable, limit=2) is None
    # The same scene, smeared by the shaking hand so far that nothing reads it.
    blurred = [cv2.GaussianBlur(readable, (0, 0), sigma) for sigma in (5, 6, 7)]
    assert all(pipeline.decode(b) is None for b in blurred)
    assert focus(readable) > max(focus(b) for b in blurred)
    cadence = LiveCadence(pipeline, deep_every=4)
    seen = [cadence.decode(f) for f in [readable, *blurred]]
    assert seen[:3] == [None, None, None]
    assert seen[3] is not None and seen[3].text == TEXT  # read from the first frame, in depth


def test_focus_measure_falls_with_blur() -> None:
    sharp = make_frame("phone", TEXT, 1)
    assert (
        focus(sharp)
        > focus(cv2.GaussianBlur(sharp, (0, 0), 2))
        > focus(cv2.GaussianBlur(sharp, (0, 0), 4))
    )
    assert DECODERS["zxing"](sharp) == [TEXT]


class ScriptedTimer:
    """The pipeline's timer, reading out the instants a test scripts: what each attempt
    costs is then the test's choice, not the loaded machine's."""

    def __init__(self) -> None:
        self.instants: list[float] = []

    def __call__(self) -> float:
        return self.instants.pop(0)


def test_an_attempt_that_would_overrun_the_budget_is_not_started() -> None:
    small = make_frame("small-far", TEXT, 0)  # zxing reads it at full size, not at half
    timer = ScriptedTimer()
    pipeline = ScanPipeline([("zxing", "half"), ("zxing", "raw")], budget_s=0.040, timer=timer)
    # start; half: before, after; raw: before, after (raw took 29 ms)
    timer.instants = [0.0, 0.0, 0.001, 0.001, 0.030]
    decoded = pipeline.decode(small)
    assert decoded is not None and decoded.attempt == "zxing/raw"
    # 15 ms gone after the first attempt: 15 + the 29 raw took last time > 40, so raw
    # is not started (no instant is scripted for its end) and the frame goes unread.
    timer.instants = [0.0, 0.0, 0.015, 0.015]
    assert pipeline.decode(small) is None and timer.instants == []
    # Passed over, its estimate halves (14.5 ms): now it fits and runs again.
    timer.instants = [0.0, 0.0, 0.015, 0.015, 0.030]
    decoded = pipeline.decode(small)
    assert decoded is not None and decoded.attempt == "zxing/raw"
