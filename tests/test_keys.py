"""The ``keys`` layer against SPEC sections 1, 2, 3 and 5, and step 1 to 5 of 6.1.

Everything is real: inputs are built with the project's own writers (``sign1``,
``issue_certificate``, ``build_trust_list``, ``base45.encode``) or with ``cbor2.dumps``
for hand-crafted malformed structures, signed with a *trusted* key so that the one
thing wrong with an input is the thing under test. Certificates are checked end to
end through the CLI (``vicheck verify --json``) or, for fuzzing, through the verdict
engine that the CLI calls.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cache.store import Store
from feeds.writer import Vehicle
from keys import base45
from keys.base45 import Base45Error
from keys.cbor import Malformed
from keys.certificate import Certificate, issue_certificate, read_qr_text
from keys.cose import parse_sign1, sig_structure, sign1
from keys.fields import CST, is_valid_plate, month_end, normalize_plate
from keys.keypair import KeyFileError, KeyPair, kid_of
from keys.trustlist import (
    KeyEntry,
    TrustList,
    TrustListError,
    build_trust_list,
    verify_trust_list,
)
from terminal.clock import Clock
from terminal.verdict import Checker, CheckResult
from tests.support import DAY, T0, YEAR, CliResult, Pki, World, at, synced_world

PKI = Pki()  # deterministic: the same keys every World uses
GUI = PKI.gui
STRANGER = KeyPair.from_seed(b"a key nobody trusts")
DROP = object()  # marks a claim to leave out

BASE_CLAIMS: dict[Any, Any] = {
    1: "桂A车管所",
    6: T0 - 30 * DAY,
    7: b"serial-0001",
    -1: "桂A12345",  # in the gx feed, status A, valid through 2027-06
    -2: "02",
    -3: "K33",
    -4: "2027-06",
    -5: 3,
}
PROTECTED = cbor2.dumps({1: -8, 4: GUI.kid})
PAYLOAD = cbor2.dumps(BASE_CLAIMS)


def claims(changes: dict[Any, Any] | None = None) -> dict[Any, Any]:
    out = dict(BASE_CLAIMS)
    for key, value in (changes or {}).items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def qr(data: bytes) -> str:
    return "VI1:" + base45.encode(data)


def signed_cose(payload: bytes, key: KeyPair = GUI) -> bytes:
    return sign1(payload, key.signing_key, key.kid)


def cert_text(changes: dict[Any, Any] | None = None, key: KeyPair = GUI) -> str:
    return qr(signed_cose(cbor2.dumps(claims(changes)), key))


def good_signature(protected: bytes, payload: bytes, key: KeyPair = GUI) -> bytes:
    return key.signing_key.sign(sig_structure(protected, payload)).signature


def envelope(
    protected: Any = PROTECTED,
    unprotected: Any = None,
    payload: Any = PAYLOAD,
    signature: Any = None,
    *,
    tag: int | None = 18,
    body: Any = None,
) -> bytes:
    """A COSE_Sign1-like item, signed correctly by the 桂 key whenever it can be."""
    if signature is None:
        assert isinstance(protected, bytes) and isinstance(payload, bytes)
        signature = good_signature(protected, payload)
    if body is None:
        body = [protected, {} if unprotected is None else unprotected, payload, signature]
    return cbor2.dumps(body if tag is None else cbor2.CBORTag(tag, body))


def padded_cose(size: int) -> bytes:
    """A correctly signed certificate COSE of exactly ``size`` bytes (an unknown claim
    99 carries the padding)."""
    probe = 300
    base = len(signed_cose(cbor2.dumps(claims({99: b"x" * probe}))))
    data = signed_cose(cbor2.dumps(claims({99: b"x" * (probe + size - base)})))
    assert len(data) == size
    return data


def assert_format(result: CliResult) -> None:
    assert result.code == 4, (result.code, result.out, result.err)
    body = result.json
    assert body["verdict"] == "INVALID"
    assert result.codes == ["FORMAT"]
    assert body["reasons"][0]["severity"] == "invalid"
    assert body["certificate"] is None
    assert body["vehicles"] == []


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The standard world, for the many checks that only read it."""
    with synced_world(tmp_path_factory.mktemp("keys")) as w:
        yield w


# --- 1. Base45 (RFC 9285) ---------------------------------------------------------

RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("raw", "text"), RFC_EXAMPLES)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300))
def test_base45_round_trip(data: bytes) -> None:
    text = base45.encode(data)
    assert set(text) <= set(base45.ALPHABET)
    assert len(text) == 3 * (len(data) // 2) + 2 * (len(data) % 2)
    assert base45.decode(text) == data


def test_base45_group_boundaries() -> None:
    assert base45.decode("") == b""
    assert base45.decode("FGW") == b"\xff\xff"  # 15 + 16*45 + 32*2025 = 65535
    assert base45.decode("U5") == b"\xff"  # 30 + 5*45 = 255


@pytest.mark.parametrize(
    "text",
    [
        "bb8",  # lower case is not in the alphabet
        "BB8#",
        "BB8\n",
        "BBÄ",
        "BB８",  # full-width digit
        "A",  # dangling single character
        "BB8A",
        "%69 VD92EX0AB",  # 13 characters: one dangles
        ":::",  # 44 + 44*45 + 44*2025 = 91124 > 0xFFFF
        "GGW",  # 65536: one past the largest group
        "BB8:::",
        "V5",  # 31 + 5*45 = 256 > 0xFF
        "::",
    ],
)
def test_base45_rejects(text: str) -> None:
    with pytest.raises(Base45Error):
        base45.decode(text)


# --- 2. FORMAT: every malformation of SPEC sections 1 and 2, end to end ---------------

VALID_COSE = signed_cose(PAYLOAD)
VALID_TEXT = qr(VALID_COSE)


def _dangling(text: str) -> str:
    return text + "0" * ((1 - len(text)) % 3)


FORMAT_CASES: list[Any] = [
    # The QR text itself
    pytest.param(base45.encode(VALID_COSE), id="no-prefix"),
    pytest.param("vi1:" + base45.encode(VALID_COSE), id="lower-case-prefix"),
    pytest.param("VI2:" + base45.encode(VALID_COSE), id="other-prefix"),
    pytest.param("ＶＩ１：" + base45.encode(VALID_COSE), id="full-width-prefix"),
    pytest.param("", id="empty-text"),
    pytest.param("VI1:", id="prefix-only"),
    pytest.param("VI1:" + base45.encode(VALID_COSE).lower(), id="base45-lower-case"),
    pytest.param(VALID_TEXT[:10] + "#" + VALID_TEXT[11:], id="base45-bad-char"),
    pytest.param(_dangling(VALID_TEXT), id="base45-dangling-char"),
    pytest.param("VI1::::" + base45.encode(VALID_COSE), id="base45-group-over-ffff"),
    pytest.param(VALID_TEXT + "::", id="base45-pair-over-ff"),
    pytest.param(qr(padded_cose(998)), id="text-1501-chars"),
    pytest.param(qr(padded_cose(1025)), id="cose-1025-bytes"),
    pytest.param(qr(padded_cose(4000)), id="cose-4000-bytes"),
    # The COSE_Sign1 structure
    pytest.param(qr(envelope(tag=None)), id="no-tag"),
    pytest.param(qr(envelope(tag=98)), id="tag-98"),
    pytest.param(qr(envelope(tag=17)), id="tag-17"),
    pytest.param(qr(envelope(body=[PROTECTED, {}, PAYLOAD])), id="array-of-3"),
    pytest.param(
        qr(envelope(body=[PROTECTED, {}, PAYLOAD, good_signature(PROTECTED, PAYLOAD), b""])),
        id="array-of-5",
    ),
    pytest.param(
        qr(envelope(body={0: PROTECTED, 1: {}, 2: PAYLOAD, 3: b"\0" * 64})), id="body-is-map"
    ),
    pytest.param(qr(envelope(unprotected={4: GUI.kid})), id="unprotected-not-empty"),
    pytest.param(qr(envelope(unprotected=[])), id="unprotected-not-a-map"),
    pytest.param(
        qr(envelope(protected=cbor2.dumps({1: -8, 4: GUI.kid, 3: 0}))), id="protected-extra-key"
    ),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: -8}))), id="protected-no-kid"),
    pytest.param(qr(envelope(protected=cbor2.dumps({4: GUI.kid}))), id="protected-no-alg"),
    pytest.param(
        qr(envelope(protected=cbor2.dumps({1: -8, 5: GUI.kid}))), id="protected-kid-wrong-label"
    ),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: -7, 4: GUI.kid}))), id="alg-minus-7"),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: 8, 4: GUI.kid}))), id="alg-plus-8"),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: "EdDSA", 4: GUI.kid}))), id="alg-text"),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: -8.0, 4: GUI.kid}))), id="alg-float"),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: -8, 4: GUI.kid[:7]}))), id="kid-7-bytes"),
    pytest.param(
        qr(envelope(protected=cbor2.dumps({1: -8, 4: GUI.kid + b"\0"}))), id="kid-9-bytes"
    ),
    pytest.param(qr(envelope(protected=cbor2.dumps({1: -8, 4: GUI.kid.hex()[:8]}))), id="kid-text"),
    pytest.param(qr(envelope(protected=b"")), id="protected-empty-bytes"),
    pytest.param(qr(envelope(protected=cbor2.dumps([-8, GUI.kid]))), id="protected-array"),
    pytest.param(
        qr(envelope(protected={1: -8, 4: GUI.kid}, signature=b"\0" * 64)),
        id="protected-map-not-bstr",
    ),
    pytest.param(qr(envelope(signature=good_signature(PROTECTED, PAYLOAD)[:63])), id="sig-63"),
    pytest.param(qr(envelope(signature=good_signature(PROTECTED, PAYLOAD) + b"\0")), id="sig-65"),
    pytest.param(qr(envelope(signature="x" * 64)), id="sig-text"),
    pytest.param(
        qr(envelope(payload=PAYLOAD.decode("latin-1"), signature=b"\0" * 64)),
        id="payload-text-not-bstr",
    ),
    pytest.param(qr(VALID_COSE + b"\x00"), id="trailing-byte-after-cose"),
    pytest.param(qr(VALID_COSE + VALID_COSE), id="two-cose-items"),
    pytest.param(qr(VALID_COSE[:-1]), id="truncated-cose"),
    pytest.param(qr(envelope(protected=PROTECTED + b"\x00")), id="trailing-after-protected"),
    pytest.param(qr(envelope(payload=PAYLOAD + b"\xf6")), id="trailing-after-payload"),
    pytest.param(qr(envelope(payload=PAYLOAD + PAYLOAD)), id="two-payload-maps"),
    # The payload
    pytest.param(qr(signed_cose(cbor2.dumps(list(BASE_CLAIMS.values())))), id="payload-array"),
    pytest.param(qr(signed_cose(cbor2.dumps(5))), id="payload-int"),
    pytest.param(qr(signed_cose(cbor2.dumps("桂A12345"))), id="payload-text"),
    pytest.param(qr(signed_cose(cbor2.dumps(PAYLOAD))), id="payload-bstr-wrapped"),
    pytest.param(qr(signed_cose(b"")), id="payload-empty"),
    pytest.param(qr(signed_cose(b"\xa7" + PAYLOAD[1:])), id="payload-map-count-wrong"),
    *[
        pytest.param(cert_text({key: DROP}), id=f"missing-{name}")
        for key, name in [
            (1, "iss"),
            (6, "iat"),
            (7, "cti"),
            (-1, "plate"),
            (-2, "plate_type"),
            (-4, "valid_through"),
        ]
    ],
    *[
        pytest.param(cert_text({key: value}), id=name)
        for key, value, name in [
            (1, b"\xe6\xa1\x82A", "iss-bytes"),
            (1, 45, "iss-int"),
            (1, None, "iss-null"),
            (6, float(T0), "iat-float"),
            (6, True, "iat-true"),
            (6, False, "iat-false"),
            (6, -1, "iat-negative"),
            (6, 2**63, "iat-2-63"),
            (6, 2**64 - 1, "iat-2-64-minus-1"),
            (6, str(T0), "iat-text"),
            (6, None, "iat-null"),
            (7, b"1234567", "cti-7-bytes"),
            (7, b"12345678901234567", "cti-17-bytes"),
            (7, b"", "cti-empty"),
            (7, "serial-0001", "cti-text"),
            (7, 12345678, "cti-int"),
            (-1, "桂A12345".encode(), "plate-bytes"),
            (-1, 12345, "plate-int"),
            (-1, "桂a12345", "plate-lower-case"),
            (-1, "桂A 12345", "plate-with-space"),
            (-1, "桂A·12345", "plate-with-dot"),
            (-1, "桂Ａ１２３４５", "plate-full-width"),
            (-1, "桂I12345", "plate-letter-I"),
            (-1, "XA12345", "plate-no-province"),
            (-1, "桂A1234", "plate-too-short"),
            (-1, "", "plate-empty"),
            (-2, "2", "plate-type-one-digit"),
            (-2, "002", "plate-type-three-digits"),
            (-2, "0A", "plate-type-letter"),
            (-2, "０２", "plate-type-full-width"),
            (-2, "٠٢", "plate-type-arabic-indic"),
            (-2, 2, "plate-type-int"),
            (-2, b"02", "plate-type-bytes"),
            (-4, "2026-13", "month-13"),
            (-4, "2026-00", "month-00"),
            (-4, "2026-6", "month-one-digit"),
            (-4, "26-06", "year-two-digits"),
            (-4, "2026/06", "month-slash"),
            (-4, "2026-06-30", "month-with-day"),
            (-4, "２０２６-０６", "month-full-width"),
            (-4, 202606, "month-int"),
            (-4, b"2026-06", "month-bytes"),
            (-3, 33, "vehicle-type-int"),
            (-3, b"K33", "vehicle-type-bytes"),
            (-3, None, "vehicle-type-null"),
            (-3, ["K33"], "vehicle-type-array"),
            (-5, -1, "basis-negative"),
            (-5, "3", "basis-text"),
            (-5, True, "basis-bool"),
            (-5, 3.0, "basis-float"),
            (-5, 2**63, "basis-2-63"),
        ]
    ],
]


@pytest.mark.parametrize("text", FORMAT_CASES)
def test_format_through_cli(shared_world: World, text: str) -> None:
    assert_format(shared_world.verify(text))


def test_format_precedes_staleness_and_unknown_key(shared_world: World) -> None:
    """Step 1 stops: no TRUST_STALE even with a stale list, no UNKNOWN_KEY."""
    assert_format(shared_world.verify(cert_text({-4: "2026-13"}, key=STRANGER), t=T0 + YEAR))


def test_valid_certificate_passes(shared_world: World) -> None:
    """The harness itself: the well-formed base certificate with the right key is VALID."""
    result = shared_world.verify(VALID_TEXT)
    assert result.code == 0, result.out + result.err
    body = result.json
    assert body["verdict"] == "VALID"
    assert body["reasons"] == []
    assert body["certificate"] == {
        "plate": "桂A12345",
        "plate_type": "02",
        "valid_through": "2027-06",
        "serial": b"serial-0001".hex(),
        "issued_at": at(T0 - 30 * DAY),
        "issuer": "桂A车管所",
        "kid": GUI.kid.hex(),
        "vehicle_type": "K33",
    }
    assert [v["feed"] for v in body["vehicles"]] == ["gx"]


def test_issue_certificate_is_what_the_harness_builds(shared_world: World) -> None:
    cert = Certificate("桂A车管所", T0 - 30 * DAY, b"serial-0001", "桂A12345", "02", "2027-06")
    result = shared_world.verify(issue_certificate(cert, GUI.signing_key))
    assert (result.code, result.codes) == (0, [])
    assert result.json["certificate"]["vehicle_type"] is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({99: "future claim"}, id="positive-key"),
        pytest.param({-99: [1, {"a": b"b"}], 8: 3.5}, id="negative-key-and-float"),
        pytest.param({"plate": "粤B00000"}, id="text-key"),
        pytest.param({-3: DROP, -5: DROP}, id="optional-claims-absent"),
        pytest.param({7: b"12345678"}, id="cti-8-bytes"),
        pytest.param({7: b"1234567890123456"}, id="cti-16-bytes"),
        pytest.param({-5: 0, 1: ""}, id="basis-0-empty-issuer"),
        pytest.param({6: 0, -4: "2027-06"}, id="iat-0-is-a-uint"),
    ],
)
def test_unknown_claims_ignored_and_bounds_accepted(
    shared_world: World, changes: dict[Any, Any]
) -> None:
    """Unknown keys are ignored; the bounds of each type are accepted (iat 0 is a
    well-formed uint, only outside the key window)."""
    result = shared_world.verify(cert_text(changes))
    if changes.get(6) == 0:
        assert (result.code, result.codes) == (4, ["KEY_EXPIRED"])
        return
    assert (result.code, result.codes) == (0, []), result.out
    assert result.json["certificate"]["plate"] == "桂A12345"


def test_text_of_exactly_1500_chars_is_checked(shared_world: World) -> None:
    text = qr(padded_cose(997))
    assert len(text) == 1500
    result = shared_world.verify(text)
    assert (result.code, result.codes) == (0, [])


def test_cose_size_limit_is_checked_before_parsing() -> None:
    data = padded_cose(1025)
    assert parse_sign1(data, 1025).kid == GUI.kid
    with pytest.raises(Malformed):
        parse_sign1(data, 1024)
    assert parse_sign1(padded_cose(1024), 1024).kid == GUI.kid
    # Garbage over the limit is refused for its size, whatever it holds.
    with pytest.raises(Malformed, match="limit"):
        parse_sign1(b"\xff" * 1025, 1024)


def test_read_qr_text_limits() -> None:
    assert read_qr_text(qr(padded_cose(997))).certificate.plate == "桂A12345"
    with pytest.raises(Malformed):
        read_qr_text(qr(padded_cose(998)))


def test_deeply_nested_unknown_claim_is_ignored(shared_world: World) -> None:
    """SPEC 2: unknown keys are ignored; SPEC 6.1 step 1 lists what is FORMAT, and
    a well-formed, definite-length, signed CBOR item of 500 nested arrays (997 bytes
    of COSE at most) is none of it."""
    raw = bytearray(PAYLOAD)
    raw[0] += 1  # one more map entry
    payload = bytes(raw) + cbor2.dumps(99) + b"\x81" * 500 + b"\x00"
    text = qr(signed_cose(payload))
    assert len(text) <= 1500
    result = shared_world.verify(text)
    assert (result.code, result.codes) == (0, []), result.out


# --- 3. Plates and months (SPEC section 5, section 2) --------------------------------

SPEC_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

VALID_PLATES = [
    # ordinary P L S{5}
    "京A12345",
    "桂AHJ8Z9",
    "粤B0000Z",
    "琼Z9ABCD",
    "桂O12345",  # L is [A-HJ-Z]: O is a valid authority letter
    # P L S{4}[挂学警港澳]
    "桂A1234挂",
    "川A12K4学",
    "京A0001警",
    "粤Z1234港",
    "粤ZAB12澳",
    # small new energy P L [A-HJK] S \d{4}
    "粤BD12345",
    "浙AFA1234",
    "沪KK01234",
    # large new energy P L \d{5}[A-HJK]
    "苏A12345D",
    "鲁B00000K",
    # consulate P L \d{4}领
    "沪A1234领",
    # emergency P L? ([XS]\d{4}|\d{5})应急
    "京A12345应急",
    "京12345应急",
    "京X1234应急",
    "京S1234应急",
    "川AX1234应急",
    "藏AS0000应急",
]

INVALID_PLATES = [
    "",
    "桂",
    "桂A",
    "桂I12345",  # L excludes I
    "桂AI2345",  # S excludes I (L does not exclude O)
    "桂A12O45",  # and O
    "桂AI12345",  # small new energy: third letter excludes I
    "桂A12345I",  # large new energy: last letter excludes I
    "桂A12345L",  # ... and anything after K
    "桂A1234",  # too short
    "桂A123456",  # too long for ordinary, not new energy
    "桂A1234567",
    "桂A12345挂",  # 挂 takes S{4}
    "桂A123挂",
    "沪A123B领",  # consulate: digits only
    "沪A12345领",
    "京AY1234应急",  # emergency: X or S only
    "京A1234应急",
    "京A123456应急",
    "京A12345急",
    "XA12345",  # no province
    "台A12345",  # not one of the 31
    "港A12345",
    "桂a12345",  # not normal form
    "桂A 12345",
    "桂A-12345",
    "桂Ａ12345",
    "桂A１２３４５",  # full-width digits are not ASCII digits
    "桂A1234٣",  # Arabic-Indic digit
    "桂AD١٢٣٤٥",
    "苏A١٢٣٤٥D",
    "沪A١٢٣٤领",
    "京X١٢٣٤应急",
    "桂A12345\n",
    "桂桂12345",
    "A桂12345",
]


def test_province_list_is_the_spec_list() -> None:
    assert len(SPEC_PROVINCES) == 31
    for p in SPEC_PROVINCES:
        for plate in (f"{p}A12345", f"{p}B1234挂", f"{p}CD12345", f"{p}E12345F", f"{p}X1234应急"):
            assert is_valid_plate(plate), plate


@pytest.mark.parametrize("plate", VALID_PLATES)
def test_valid_plates(plate: str) -> None:
    assert is_valid_plate(plate)
    assert normalize_plate(plate) == plate  # valid implies normal form


@pytest.mark.parametrize("plate", INVALID_PLATES)
def test_invalid_plates(plate: str) -> None:
    assert not is_valid_plate(plate)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("桂ａ１２３４５", "桂A12345"),  # full-width Latin and digits
        ("桂Ａ－１２３４５", "桂A12345"),  # full-width hyphen folds, then is removed
        ("桂Ａ．１２３４５", "桂A12345"),  # full-width full stop
        ("桂A\u300012345", "桂A12345"),  # ideographic space
        ("桂 a 123 45", "桂A12345"),
        ("桂A·12345", "桂A12345"),
        ("桂A・12345", "桂A12345"),
        ("桂A.12345", "桂A12345"),
        ("桂A-12345", "桂A12345"),
        (" 粤b·d1234-5 ", "粤BD12345"),
        ("京a12345应急", "京A12345应急"),
        ("桂aß", "桂Aß"),  # only Latin a-z is upper-cased (str.upper gives SS)
        ("桂aé", "桂Aé"),
        ("桂aα", "桂Aα"),
        ("桂A١٢٣٤٥", "桂A١٢٣٤٥"),  # Arabic-Indic digits are not folded
        ("桂A\t12345", "桂A\t12345"),  # a tab is not a space
    ],
)
def test_normalize_plate(typed: str, normal: str) -> None:
    assert normalize_plate(typed) == normal


def test_normalised_forms_become_valid_only_with_ascii_digits() -> None:
    assert is_valid_plate(normalize_plate("桂ａ　１２３４５"))
    assert not is_valid_plate(normalize_plate("桂A1234٣"))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=20))
def test_normalize_plate_is_idempotent(text: str) -> None:
    once = normalize_plate(text)
    assert normalize_plate(once) == once
    assert not set(once) & set(" ·・.-\u3000")
    assert not any("a" <= c <= "z" or "\uff01" <= c <= "\uff5e" for c in once)


@pytest.mark.parametrize(
    ("month", "end"),
    [
        ("2026-06", datetime(2026, 7, 1, tzinfo=CST)),
        ("2026-12", datetime(2027, 1, 1, tzinfo=CST)),
        ("2024-02", datetime(2024, 3, 1, tzinfo=CST)),
        ("2026-01", datetime(2026, 2, 1, tzinfo=CST)),
        ("1999-12", datetime(2000, 1, 1, tzinfo=CST)),
    ],
)
def test_month_end(month: str, end: datetime) -> None:
    assert month_end(month) == int(end.timestamp())


def test_month_end_is_cst_midnight() -> None:
    assert month_end("2026-06") == int(datetime.fromisoformat("2026-06-30T16:00:00Z").timestamp())


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 9998), st.integers(1, 12))
def test_month_end_matches_datetime(year: int, month: int) -> None:
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CST)
    assert month_end(f"{year:04d}-{month:02d}") == int(nxt.timestamp())


# --- 4. The trust list (SPEC section 3) ---------------------------------------------


def tl_payload(entries: list[Any], version: int = 1, expires_at: int = T0 + 30 * DAY) -> bytes:
    return cbor2.dumps({1: version, 2: T0 - DAY, 3: expires_at, 4: entries})


def root_signed(payload: bytes) -> bytes:
    return sign1(payload, PKI.root.signing_key, PKI.root.kid)


def raw_entry(key: KeyPair, **changes: Any) -> dict[int, Any]:
    entry = PKI.entry(key, "cert", ["桂"]).to_cbor()
    names = {
        **{"kid": 1, "public": 2, "role": 3, "scope": 4},
        **{"nb": 5, "na": 6, "revoked": 7, "covers": 8},
    }
    for name, value in changes.items():
        if value is DROP:
            entry.pop(names[name], None)
        else:
            entry[names[name]] = value
    return entry


def test_trust_list_verifies() -> None:
    trust = verify_trust_list(PKI.trust_list(version=7), PKI.root.public)
    assert (trust.version, trust.issued_at, trust.expires_at) == (7, T0 - DAY, T0 + 30 * DAY)
    assert set(trust.keys) == {GUI.kid, PKI.yue.kid, PKI.feed.kid}
    gui = trust.key(GUI.kid)
    assert gui is not None
    assert (gui.public, gui.role, gui.scope, gui.revoked) == (GUI.public, "cert", ("桂",), False)
    assert trust.key(STRANGER.kid) is None


def test_trust_list_signed_by_non_root_key_is_refused() -> None:
    data = build_trust_list(
        version=2,
        issued_at=T0,
        expires_at=T0 + DAY,
        entries=PKI.default_entries(),
        root=GUI.signing_key,
    )
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)
    # Its own key would accept it: only the pinning refuses it.
    assert verify_trust_list(data, GUI.public).version == 2


def test_trust_list_with_root_kid_but_other_signer_is_refused() -> None:
    data = sign1(tl_payload([raw_entry(GUI)]), GUI.signing_key, PKI.root.kid)
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_trust_list_bad_signature_is_refused() -> None:
    data = bytearray(PKI.trust_list())
    data[-1] ^= 0x01  # last signature byte
    with pytest.raises(TrustListError):
        verify_trust_list(bytes(data), PKI.root.public)
    # A well-formed payload (version 9) under the signature made for version 1.
    good = parse_sign1(PKI.trust_list(version=1), 1 << 20)
    other = parse_sign1(PKI.trust_list(version=9), 1 << 20)
    assert other.payload != good.payload
    tampered = cbor2.dumps(cbor2.CBORTag(18, [good.protected, {}, other.payload, good.signature]))
    with pytest.raises(TrustListError):
        verify_trust_list(tampered, PKI.root.public)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(PKI.trust_list()[:-3], id="truncated"),
        pytest.param(PKI.trust_list() + b"\x00", id="trailing-byte"),
        pytest.param(root_signed(cbor2.dumps([1, 2, 3, []])), id="payload-array"),
        pytest.param(root_signed(cbor2.dumps({2: T0, 3: T0, 4: []})), id="no-version"),
        pytest.param(root_signed(cbor2.dumps({1: -1, 2: T0, 3: T0, 4: []})), id="version-neg"),
        pytest.param(root_signed(cbor2.dumps({1: "2", 2: T0, 3: T0, 4: []})), id="version-text"),
        pytest.param(root_signed(cbor2.dumps({1: 1, 2: T0, 3: T0, 4: {}})), id="keys-map"),
        pytest.param(root_signed(cbor2.dumps({1: 1, 2: T0, 4: []})), id="no-expiry"),
        pytest.param(
            root_signed(cbor2.dumps({1: 1, 2: T0, 3: T0, 4: []}) + b"\x00"), id="payload-trailing"
        ),
        pytest.param(root_signed(tl_payload([raw_entry(GUI)])) + b"\x00", id="cose-trailing"),
    ],
)
def test_malformed_trust_list_is_refused(data: bytes) -> None:
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_trust_list_over_one_mebibyte_is_refused() -> None:
    payload = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [raw_entry(GUI)], 99: b"x" * (1 << 20)})
    with pytest.raises(TrustListError):
        verify_trust_list(root_signed(payload), PKI.root.public)
    near = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [raw_entry(GUI)], 99: b"x" * 1000})
    assert verify_trust_list(root_signed(near), PKI.root.public).key(GUI.kid) is not None


def _key(n: int) -> KeyPair:
    return KeyPair.from_seed(b"entry-%d" % n)


BAD_ENTRIES: list[Any] = [
    pytest.param(raw_entry(_key(1), public=DROP), id="missing-public"),
    pytest.param(raw_entry(_key(2), kid=DROP), id="missing-kid"),
    pytest.param(raw_entry(_key(3), role=DROP), id="missing-role"),
    pytest.param(raw_entry(_key(4), scope=DROP), id="missing-scope"),
    pytest.param(raw_entry(_key(5), nb=DROP), id="missing-not-before"),
    pytest.param(raw_entry(_key(6), na=DROP), id="missing-not-after"),
    pytest.param(raw_entry(_key(7), public=_key(7).public[:31]), id="public-31-bytes"),
    pytest.param(raw_entry(_key(8), public=_key(8).public.hex()), id="public-text"),
    pytest.param(raw_entry(_key(9), kid=_key(9).kid[:7]), id="kid-7-bytes"),
    pytest.param(raw_entry(_key(10), kid=_key(11).kid), id="kid-not-matching-public"),
    pytest.param(raw_entry(_key(12), role="ocsp"), id="role-ocsp"),
    pytest.param(raw_entry(_key(13), role=b"cert"), id="role-bytes"),
    pytest.param(raw_entry(_key(14), role="CERT"), id="role-upper-case"),
    pytest.param(raw_entry(_key(15), scope=[""]), id="scope-empty-string"),
    pytest.param(raw_entry(_key(16), scope=["桂", ""]), id="scope-one-empty-string"),
    pytest.param(raw_entry(_key(17), scope="桂"), id="scope-text-not-array"),
    pytest.param(raw_entry(_key(18), scope=[b"\xe6\xa1\x82"]), id="scope-bytes"),
    pytest.param(raw_entry(_key(19), nb="0"), id="not-before-text"),
    pytest.param(raw_entry(_key(20), na=-1), id="not-after-negative"),
    pytest.param(raw_entry(_key(21), na=float(T0)), id="not-after-float"),
    pytest.param(raw_entry(_key(22), nb=True), id="not-before-bool"),
    pytest.param(raw_entry(_key(23), revoked="false"), id="revoked-text"),
    pytest.param(raw_entry(_key(24), revoked=0), id="revoked-int"),
    pytest.param(raw_entry(_key(25), revoked=None), id="revoked-null"),
    pytest.param([_key(26).kid, _key(26).public, "cert", ["*"], 0, T0], id="entry-array"),
    pytest.param(5, id="entry-int"),
    # SPEC 1.1: covers, read for role feed, is an array of non-empty text.
    pytest.param(raw_entry(_key(27), role="feed", covers="桂"), id="covers-text-not-array"),
    pytest.param(raw_entry(_key(28), role="feed", covers=["桂", ""]), id="covers-empty-string"),
    pytest.param(raw_entry(_key(29), role="feed", covers=[b"\xe6\xa1\x82"]), id="covers-bytes"),
    pytest.param(raw_entry(_key(30), role="feed", covers=None), id="covers-null"),
]


@pytest.mark.parametrize("bad", BAD_ENTRIES)
def test_malformed_key_entry_is_ignored(bad: Any) -> None:
    revoked_yue = raw_entry(PKI.yue, scope=["粤"], revoked=True)
    feed = PKI.entry(PKI.feed, "feed", ["gx", "hot"]).to_cbor()
    data = root_signed(tl_payload([raw_entry(GUI), bad, revoked_yue, feed]))
    trust = verify_trust_list(data, PKI.root.public)
    assert set(trust.keys) == {GUI.kid, PKI.yue.kid, PKI.feed.kid}
    assert trust.keys[GUI.kid] == PKI.entry(GUI, "cert", ["桂"])
    assert trust.keys[PKI.yue.kid].revoked is True
    assert trust.keys[PKI.feed.kid].scope == ("gx", "hot")


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(raw_entry(GUI), id="same-entry"),
        pytest.param(raw_entry(GUI, scope=["粤"], role="feed"), id="other-content"),
        pytest.param(raw_entry(GUI, role="ocsp"), id="twin-would-be-ignored"),
    ],
)
def test_kid_twice_refuses_the_list(second: dict[int, Any]) -> None:
    data = root_signed(tl_payload([raw_entry(GUI), raw_entry(PKI.yue), second]))
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_unknown_trust_list_keys_and_extra_entry_keys_are_tolerated() -> None:
    entry = raw_entry(GUI)
    entry[8] = "future"
    payload = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [entry], 5: "future"})
    assert verify_trust_list(root_signed(payload), PKI.root.public).key(GUI.kid) is not None


def test_key_entry_covers_plate() -> None:
    province = PKI.entry(GUI, "cert", ["桂"])
    city = PKI.entry(GUI, "cert", ["桂A"])
    everything = PKI.entry(GUI, "cert", ["*"])
    several = PKI.entry(GUI, "cert", ["桂B", "粤"])
    assert province.covers_plate("桂A12345") and province.covers_plate("桂B88888")
    assert not province.covers_plate("粤A12345")
    assert city.covers_plate("桂A12345")
    assert not city.covers_plate("桂B12345")
    assert everything.covers_plate("桂A12345") and everything.covers_plate("京12345应急")
    assert several.covers_plate("桂B12345") and several.covers_plate("粤Z1234港")
    assert not several.covers_plate("桂A12345")


def test_key_entry_covers_feed() -> None:
    gx = PKI.entry(PKI.feed, "feed", ["gx"])
    assert gx.covers_feed("gx")
    assert not gx.covers_feed("gx2")  # equality, never a prefix
    assert not gx.covers_feed("g")
    assert not gx.covers_feed("hot")
    star = PKI.entry(PKI.feed, "feed", ["*"])
    assert star.covers_feed("gx") and star.covers_feed("anything-else")
    both = PKI.entry(PKI.feed, "feed", ["gx", "hot"])
    assert both.covers_feed("hot") and not both.covers_feed("yue")


def test_key_entry_covers_scope() -> None:
    """SPEC 4.3 step 1 (1.1): each scope prefix starts with a covers entry, or covers
    is "*"; only "*" allows scope "*"; no covers allows no full feed."""
    gui = PKI.entry(PKI.feed, "feed", ["*"], covers=["桂"])
    assert gui.covers_scope(["桂"]) and gui.covers_scope(["桂A", "桂B"])
    assert not gui.covers_scope(["粤"]) and not gui.covers_scope(["桂", "粤"])
    assert not gui.covers_scope(["*"])
    star = PKI.entry(PKI.feed, "feed", ["*"], covers=["*"])
    assert star.covers_scope(["*"]) and star.covers_scope(["粤", "桂A"])
    none = PKI.entry(PKI.feed, "feed", ["*"], covers=[])
    assert not none.covers_scope(["桂"]) and not none.covers_scope(["*"])
    city = PKI.entry(PKI.feed, "feed", ["*"], covers=["桂A"])
    assert city.covers_scope(["桂A"]) and not city.covers_scope(["桂"])


def test_covers_round_trips_and_is_read_for_feed_keys_only() -> None:
    feed = PKI.entry(PKI.feed, "feed", ["gx"], covers=["桂", "粤A"])
    no_covers = PKI.entry(PKI.yue, "feed", ["hot"], covers=[])
    cert = raw_entry(GUI, covers="not even an array")  # ignored on a cert key
    data = root_signed(tl_payload([cert, feed.to_cbor(), no_covers.to_cbor()]))
    trust = verify_trust_list(data, PKI.root.public)
    assert trust.keys[PKI.feed.kid].covers == ("桂", "粤A")
    assert trust.keys[PKI.yue.kid].covers == ()
    assert 8 not in no_covers.to_cbor()  # absent means none
    assert trust.keys[GUI.kid] == PKI.entry(GUI, "cert", ["桂"])


def test_key_entry_window_includes_both_ends() -> None:
    entry = PKI.entry(GUI, "cert", ["桂"], not_before=1000, not_after=2000)
    assert entry.in_window(1000) and entry.in_window(2000) and entry.in_window(1500)
    assert not entry.in_window(999)
    assert not entry.in_window(2001)


def test_trust_list_freshness() -> None:
    trust = verify_trust_list(PKI.trust_list(expires_at=T0), PKI.root.public)
    assert isinstance(trust, TrustList)
    assert trust.is_fresh(T0 - 1)
    assert not trust.is_fresh(T0)


def test_trust_list_sync_rollback_and_equal_version(empty_world: World) -> None:
    w = empty_world
    w.publish_trust_list(version=5)
    w.feed("gx").publish_snapshot([Vehicle("桂A12345", "02", "2027-06", "A", "K33")])
    assert w.init().code == 0
    first = w.sync()
    assert first.code == 0, first.out
    assert first.json["trust_list"] == {"status": "updated", "version": 5}
    gui_cert = cert_text()
    assert w.verify(gui_cert).codes == []

    # A lower version, without the 桂 key: refused as a rollback.
    w.publish_trust_list(version=3, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    rollback = w.sync()
    assert rollback.code == 6
    report = rollback.json["trust_list"]
    assert (report["status"], report["version"]) == ("failed", 5)
    assert report.get("error")
    assert [f["status"] for f in rollback.json["feeds"]] == ["current"]
    store = Store.open(w.data_dir)
    try:
        held = store.trust_list()
        assert held is not None and held.version == 5 and held.key(GUI.kid) is not None
    finally:
        store.close()
    assert w.verify(gui_cert).codes == []

    # An equal version changes nothing, even with other contents.
    w.publish_trust_list(version=5, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    equal = w.sync()
    assert equal.code == 0, equal.out
    assert equal.json["trust_list"] == {"status": "current", "version": 5}
    assert w.verify(gui_cert).codes == []

    # A bad signature is refused and also changes nothing.
    data = bytearray(PKI.trust_list(version=9, entries=[]))
    data[-1] ^= 0x80
    (w.root / "trustlist.cose").write_bytes(bytes(data))
    bad = w.sync()
    assert bad.code == 6
    assert (bad.json["trust_list"]["status"], bad.json["trust_list"]["version"]) == ("failed", 5)
    assert w.verify(gui_cert).codes == []

    # A higher version is taken: the 桂 key is now unknown.
    w.publish_trust_list(version=6, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    newer = w.sync()
    assert newer.json["trust_list"] == {"status": "updated", "version": 6}
    assert w.verify(gui_cert).codes == ["UNKNOWN_KEY"]


def test_no_trust_list_ever_verified(empty_world: World) -> None:
    w = empty_world
    assert w.init(["gx"]).code == 0
    sync = w.sync()
    assert sync.code == 6
    assert sync.json["trust_list"]["status"] == "failed"
    result = w.verify(cert_text())
    assert (result.code, result.codes, result.json["verdict"]) == (3, ["NO_TRUST_LIST"], "CHECK")
    assert result.json["certificate"] is None
    assert_format(w.verify("VI1:hello"))


# --- 5. Authenticity: SPEC 6.1 steps 3 to 5, through the CLI ---------------------------


def publish(world: World, version: int, entries: list[KeyEntry]) -> None:
    world.publish_trust_list(version=version, entries=entries)
    result = world.sync()
    assert result.json["trust_list"] == {"status": "updated", "version": version}, result.out


def step5_result(result: CliResult, codes: list[str], plate: str = "桂A12345") -> None:
    """Step 5 stops after reporting: certificate filled, nothing about status."""
    assert result.code == 4, result.out + result.err
    body = result.json
    assert body["verdict"] == "INVALID"
    assert result.codes == sorted(codes)
    assert body["certificate"] is not None
    assert body["certificate"]["plate"] == plate
    assert body["vehicles"] == []


def test_unknown_key_fresh_and_stale(shared_world: World) -> None:
    text = cert_text(key=STRANGER)
    fresh = shared_world.verify(text)
    assert (fresh.code, fresh.json["verdict"], fresh.codes) == (4, "INVALID", ["UNKNOWN_KEY"])
    assert fresh.json["reasons"][0]["severity"] == "invalid"
    assert fresh.json["certificate"] is None
    assert fresh.json["vehicles"] == []
    # expires_at is T0 + 30 days: stale from that very second on.
    for t in (T0 + 30 * DAY, T0 + 90 * DAY):
        stale = shared_world.verify(text, t=t)
        assert (stale.code, stale.json["verdict"]) == (3, "CHECK")
        assert stale.codes == ["TRUST_STALE", "UNKNOWN_KEY"]
        assert {r["severity"] for r in stale.json["reasons"]} == {"check"}
        assert stale.json["certificate"] is None
    just_fresh = shared_world.verify(text, t=T0 + 30 * DAY - 1)
    assert (just_fresh.code, just_fresh.codes) == (4, ["UNKNOWN_KEY"])


def test_bad_signature(shared_world: World) -> None:
    assert VALID_COSE.count(b"12345") == 1
    flipped = VALID_COSE.replace(b"12345", b"12346")  # one payload byte, still well formed
    assert read_qr_text(qr(flipped)).certificate.plate == "桂A12346"
    texts = [
        qr(flipped),
        qr(VALID_COSE[:-1] + bytes([VALID_COSE[-1] ^ 1])),  # one signature bit
        # the 粤 key's signature, sent under the 桂 kid
        qr(envelope(signature=good_signature(PROTECTED, PAYLOAD, key=PKI.yue))),
    ]
    for text in texts:
        result = shared_world.verify(text)
        assert (result.code, result.json["verdict"], result.codes) == (
            4,
            "INVALID",
            ["BAD_SIGNATURE"],
        )
        assert result.json["certificate"] is None
        assert result.json["vehicles"] == []


def test_bad_signature_with_stale_trust_list(shared_world: World) -> None:
    flipped = VALID_COSE.replace(b"12345", b"12346")
    result = shared_world.verify(qr(flipped), t=T0 + 31 * DAY)
    assert (result.code, result.codes) == (4, ["BAD_SIGNATURE", "TRUST_STALE"])
    assert result.json["certificate"] is None


def test_key_revoked(world: World) -> None:
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"], revoked=True),
            PKI.entry(PKI.yue, "cert", ["粤"]),
            PKI.entry(PKI.feed, "feed", ["*"]),
        ],
    )
    step5_result(world.verify(cert_text()), ["KEY_REVOKED"])


def test_key_scope(shared_world: World) -> None:
    # The 粤 key signing a 桂 plate, for a stolen car with a revoked serial: still only
    # KEY_SCOPE, because step 5 stops before serials and status.
    text = cert_text({-1: "桂A00001", 7: b"revoked-serial-1"}, key=PKI.yue)
    step5_result(shared_world.verify(text), ["KEY_SCOPE"], plate="桂A00001")
    # The feed key (role feed, scope *) signing a certificate.
    step5_result(shared_world.verify(cert_text(key=PKI.feed)), ["KEY_SCOPE"])
    # The 粤 key on its own plate is fine.
    yue = shared_world.verify(cert_text({-1: "粤B12345"}, key=PKI.yue))
    assert "KEY_SCOPE" not in yue.codes
    assert yue.json["certificate"]["plate"] == "粤B12345"


def test_key_scope_city_prefix(world: World) -> None:
    publish(
        world,
        2,
        [PKI.entry(GUI, "cert", ["桂B"]), PKI.entry(PKI.feed, "feed", ["*"])],
    )
    step5_result(world.verify(cert_text()), ["KEY_SCOPE"])
    ok = world.verify(cert_text({-1: "桂B88888", -4: "2027-03"}))
    assert (ok.code, ok.codes) == (0, []), ok.out


def test_key_expired_window_ends_inclusive(world: World) -> None:
    nb, na = T0 - 100 * DAY, T0 - 10 * DAY
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"], not_before=nb, not_after=na),
            PKI.entry(PKI.feed, "feed", ["*"]),
        ],
    )
    for iat in (nb, nb + 1, na - 1, na):
        result = world.verify(cert_text({6: iat}))
        assert (result.code, result.codes) == (0, []), (iat, result.out)
    for iat in (nb - 1, na + 1, 0):
        step5_result(world.verify(cert_text({6: iat})), ["KEY_EXPIRED"])


def test_key_expired_with_default_window(shared_world: World) -> None:
    step5_result(shared_world.verify(cert_text({6: T0 - 2 * YEAR - 1})), ["KEY_EXPIRED"])
    ok = shared_world.verify(cert_text({6: T0 - 2 * YEAR}))
    assert (ok.code, ok.codes) == (0, [])


def test_not_yet_valid_after_300_seconds(shared_world: World) -> None:
    ok = shared_world.verify(cert_text({6: T0 + 300}))
    assert (ok.code, ok.codes) == (0, [])
    step5_result(shared_world.verify(cert_text({6: T0 + 301})), ["NOT_YET_VALID"])
    # The check follows the checking time, not the issuing time alone.
    later = shared_world.verify(cert_text({6: T0 + 3600}), t=T0 + 3300)
    assert (later.code, later.codes) == (0, [])


def test_far_future_iat_still_gets_a_verdict(shared_world: World) -> None:
    """SPEC 2: iat is any uint below 2^63; SPEC 6.1 step 5 makes a far-future one
    NOT_YET_VALID (and KEY_EXPIRED past not_after): INVALID, exit 4, the certificate
    filled — not exit 1 for "anything unexpected"."""
    for iat in (253402300800, 2**63 - 1):  # year 10000, and the largest uint
        result = shared_world.verify(cert_text({6: iat}))
        assert result.code == 4, (iat, result.out, result.err)
        assert result.codes == ["KEY_EXPIRED", "NOT_YET_VALID"]
        assert result.json["certificate"] is not None


def test_all_step5_reasons_together(world: World) -> None:
    nb, na = T0 - 100 * DAY, T0 - 10 * DAY
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"]),
            PKI.entry(PKI.yue, "cert", ["粤"], revoked=True, not_before=nb, not_after=na),
            PKI.entry(PKI.feed, "feed", ["*"], revoked=True),
        ],
    )
    changes = {-1: "桂A00001", 7: b"revoked-serial-1", 6: T0 + 60 * DAY, -4: "2020-01"}
    every = ["KEY_EXPIRED", "KEY_REVOKED", "KEY_SCOPE", "NOT_YET_VALID"]
    step5_result(world.verify(cert_text(changes, key=PKI.yue)), every, plate="桂A00001")
    # Two at a time: revoked and expired, in scope, issued in the past.
    two = world.verify(cert_text({-1: "粤B12345", 6: na + 1}, key=PKI.yue))
    step5_result(two, ["KEY_EXPIRED", "KEY_REVOKED"], plate="粤B12345")
    # The feed key: wrong role and revoked.
    step5_result(world.verify(cert_text(key=PKI.feed)), ["KEY_REVOKED", "KEY_SCOPE"])
    # With a stale trust list, TRUST_STALE joins them (and nothing else does).
    stale = world.verify(cert_text(changes, key=PKI.yue), t=T0 + 40 * DAY)
    assert stale.code == 4
    assert stale.codes == sorted([*every, "TRUST_STALE"])
    assert stale.json["certificate"] is not None
    assert stale.json["vehicles"] == []


def test_ignored_entry_makes_its_key_unknown(world: World) -> None:
    entries = [
        raw_entry(GUI, scope=[""]),
        raw_entry(PKI.yue, scope=["粤"]),
        PKI.entry(PKI.feed, "feed", ["*"]).to_cbor(),
    ]
    (world.root / "trustlist.cose").write_bytes(root_signed(tl_payload(entries, version=2)))
    assert world.sync().json["trust_list"] == {"status": "updated", "version": 2}
    result = world.verify(cert_text())
    assert (result.code, result.codes) == (4, ["UNKNOWN_KEY"])
    assert "KEY_SCOPE" not in world.verify(cert_text({-1: "粤B12345"}, key=PKI.yue)).codes


# --- 6. Key pairs ---------------------------------------------------------------------


def test_keypair_save_load_round_trip(tmp_path: Path) -> None:
    pair = KeyPair.from_seed(b"keypair test")
    path = tmp_path / "nested" / "dir" / "cert.key"
    pair.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = KeyPair.load(path)
    assert loaded.kid == pair.kid
    assert loaded.public == pair.public
    # A loaded key signs what the original's public key verifies.
    parsed = parse_sign1(signed_cose(PAYLOAD, loaded), 1024)
    assert parsed.kid == pair.kid and parsed.verify(pair.public)


def test_keypair_save_tightens_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.key"
    path.write_text("old contents that are much longer than a seed\n" * 3)
    os.chmod(path, 0o644)
    pair = KeyPair.generate()
    pair.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyPair.load(path).kid == pair.kid


def test_kid_is_sha256_prefix() -> None:
    for pair in (PKI.root, GUI, PKI.yue, PKI.feed, KeyPair.generate()):
        assert len(pair.public) == 32
        assert pair.kid == kid_of(pair.public) == hashlib.sha256(pair.public).digest()[:8]
    assert len({PKI.root.kid, GUI.kid, PKI.yue.kid, PKI.feed.kid}) == 4


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not hex at all\n", id="not-hex"),
        pytest.param(b"00" * 31 + b"\n", id="31-bytes"),
        pytest.param(b"00" * 33 + b"\n", id="33-bytes"),
        pytest.param(b"0" * 63, id="odd-digits"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    ],
)
def test_corrupt_key_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        KeyPair.load(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        KeyPair.load(tmp_path / "absent.key")
    with pytest.raises(KeyFileError):
        KeyPair.load(tmp_path)  # a directory


# --- 7. Fuzzing the QR-text parser ------------------------------------------------------

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
AUTH_FAILURES = {"FORMAT", "UNKNOWN_KEY", "BAD_SIGNATURE"}


def check(world: World, text: str) -> CheckResult:
    """The verdict engine the CLI uses, on the world's data dir, at T0."""
    store = Store.open(world.data_dir)
    try:
        return Checker(store, ["gx", "hot"], Clock(at=T0)).verify(text)
    finally:
        store.close()


def codes_of(result: CheckResult) -> list[str]:
    return sorted(r.code for r in result.reasons)


@FUZZ
@given(text=st.one_of(st.text(), st.text().map(lambda s: "VI1:" + s)))
def test_fuzz_arbitrary_text(world: World, text: str) -> None:
    result = check(world, text)
    assert isinstance(result, CheckResult)
    assert codes_of(result) == ["FORMAT"]
    assert result.verdict.name == "INVALID"
    assert result.certificate is None


@FUZZ
@given(data=st.binary(max_size=1100))
def test_fuzz_base45_of_random_bytes(world: World, data: bytes) -> None:
    result = check(world, qr(data))
    assert isinstance(result, CheckResult)
    codes = codes_of(result)
    assert len(codes) == 1 and codes[0] in AUTH_FAILURES
    assert result.certificate is None


@st.composite
def mutated_cose(draw: st.DrawFn) -> bytes:
    """One edit of the valid certificate's COSE bytes: anywhere, or aimed at the kid
    (for UNKNOWN_KEY) or at the payload (for BAD_SIGNATURE)."""
    data = bytearray(VALID_COSE)
    kind = draw(st.sampled_from(["replace", "truncate", "insert", "delete", "kid", "payload"]))
    if kind == "replace":
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        data.insert(draw(st.integers(0, len(data))), draw(st.integers(0, 255)))
    elif kind == "delete":
        del data[draw(st.integers(0, len(data) - 1))]
    else:
        part = GUI.kid if kind == "kid" else PAYLOAD
        start = VALID_COSE.index(part)
        data[draw(st.integers(start, start + len(part) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(data=mutated_cose())
def test_fuzz_mutated_certificate(world: World, data: bytes) -> None:
    result = check(world, qr(data))
    assert isinstance(result, CheckResult)
    codes = codes_of(result)
    event(f"codes: {codes}")
    if data == VALID_COSE:
        assert (result.verdict.name, codes) == ("VALID", [])
        return
    # Anything else that still checks out must carry exactly the signed bytes.
    if not codes:
        parsed = parse_sign1(data, 1024)
        original = parse_sign1(VALID_COSE, 1024)
        assert (parsed.protected, parsed.payload, parsed.signature) == (
            original.protected,
            original.payload,
            original.signature,
        )
        return
    assert len(codes) == 1 and codes[0] in AUTH_FAILURES, codes
    assert result.verdict.name == "INVALID"
    assert result.certificate is None


_WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.integers(0, 9), st.integers(0, 9), max_size=1),
)
_MONTH = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 9999), st.integers(1, 12))
_CLAIM_STRATEGIES = {
    1: (st.text(max_size=12), st.one_of(_WRONG, st.binary(max_size=4), st.integers())),
    6: (
        st.integers(0, 2**63 - 1),
        st.one_of(
            _WRONG, st.integers(-(2**64), -1), st.integers(2**63, 2**64 - 1), st.text(max_size=3)
        ),
    ),
    7: (
        st.binary(min_size=8, max_size=16),
        st.one_of(
            _WRONG,
            st.binary(max_size=7),
            st.binary(min_size=17, max_size=24),
            st.text(min_size=8, max_size=16),
        ),
    ),
    -1: (
        st.sampled_from(VALID_PLATES),
        st.one_of(
            _WRONG,
            st.sampled_from(INVALID_PLATES),
            st.sampled_from(VALID_PLATES).map(str.encode),
        ),
    ),
    -2: (
        st.from_regex(r"\A[0-9]{2}\Z"),
        st.one_of(_WRONG, st.text(max_size=3).filter(lambda s: not s.isascii() or len(s) != 2)),
    ),
    -4: (
        _MONTH,
        st.one_of(_WRONG, _MONTH.map(lambda m: m[2:]), st.sampled_from(["2026-13", "2026-6"])),
    ),
}
_OPTIONAL_STRATEGIES = {
    -3: (st.text(max_size=4), st.one_of(_WRONG, st.integers(), st.binary(max_size=3))),
    -5: (st.integers(0, 2**63 - 1), st.one_of(_WRONG, st.integers(max_value=-1), st.text())),
}


@st.composite
def claim_sets(draw: st.DrawFn) -> tuple[dict[int, Any], bool]:
    """Claims, none to three of them wrong or missing; the second value says whether
    any is."""
    spoilt = draw(st.sets(st.sampled_from([*_CLAIM_STRATEGIES, *_OPTIONAL_STRATEGIES]), max_size=3))
    out: dict[int, Any] = {}
    for key, (good, wrong) in _CLAIM_STRATEGIES.items():
        if key not in spoilt:
            out[key] = draw(good)
        elif draw(st.booleans()):
            out[key] = draw(wrong)  # else: missing
    for key, (good, wrong) in _OPTIONAL_STRATEGIES.items():
        if key in spoilt:
            out[key] = draw(wrong)
        elif draw(st.booleans()):
            out[key] = draw(good)  # else: absent, which is fine
    return out, bool(spoilt)


@FUZZ
@given(case=claim_sets())
def test_fuzz_claim_types(world: World, case: tuple[dict[int, Any], bool]) -> None:
    """A payload signed by a trusted key is FORMAT exactly when a claim is missing or
    of a wrong type; otherwise the signature is checked and the certificate filled."""
    body, broken = case
    result = check(world, qr(signed_cose(cbor2.dumps(body))))
    codes = codes_of(result)
    event(f"broken: {broken}")
    if broken:
        assert codes == ["FORMAT"], body
        assert result.certificate is None
    else:
        assert "FORMAT" not in codes, body
        assert result.certificate is not None
        assert (result.certificate.plate, result.certificate.serial) == (body[-1], body[7])
        assert result.certificate.kid == GUI.kid
