"""FORMAT: every malformation of SPEC sections 1 and 2, end to end (SPEC 6.1 step 1).

Inputs are built with the project's own writers (``sign1``, ``issue_certificate``,
``base45.encode``) or with ``cbor2.dumps`` for hand-crafted malformed structures,
signed with a *trusted* key so that the one thing wrong with an input is the thing
under test, and checked through the CLI (``vicheck verify --json``).
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from keys import base45
from keys.cbor import Malformed
from keys.certificate import Certificate, issue_certificate, read_qr_text
from keys.cose import parse_sign1
from tests.support import DAY, T0, YEAR, World, at
from tests.support.certificates import (
    BASE_CLAIMS,
    DROP,
    GUI,
    PAYLOAD,
    PROTECTED,
    STRANGER,
    VALID_COSE,
    VALID_TEXT,
    assert_format,
    cert_text,
    envelope,
    good_signature,
    padded_cose,
    qr,
    signed_cose,
)


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
