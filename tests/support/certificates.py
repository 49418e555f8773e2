"""Certificates and trust lists built by hand for the keys tests: the base claims,
signed with a trusted key, so that the one thing wrong with an input is the thing
under test."""

from __future__ import annotations

from typing import Any

import cbor2

from keys import base45
from keys.cose import sig_structure, sign1
from keys.keypair import KeyPair
from tests.support import DAY, T0, CliResult, Pki

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


VALID_COSE = signed_cose(PAYLOAD)
VALID_TEXT = qr(VALID_COSE)


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
