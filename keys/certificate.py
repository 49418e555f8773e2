"""The certificate in the QR code (SPEC section 2) and the checks that prove it
authentic (SPEC 6.1 steps 1 and 3 to 5).

``read_qr_text`` turns text into a parsed, unverified certificate or raises
``Malformed`` (reason ``FORMAT``). ``authenticate`` then answers, against a trust
list, which of the authenticity reasons apply. Freshness of the trust list and
everything about vehicle status belong to the verdict engine, not here.
"""

from __future__ import annotations

from typing import NamedTuple

import cbor2
from nacl.signing import SigningKey

from keys import base45, reasons
from keys.cbor import Malformed, decode_one, is_bstr, is_tstr, is_uint, require, require_map
from keys.cose import Sign1, kid_of, parse_sign1, sign1
from keys.fields import is_month, is_plate_type, is_valid_plate
from keys.trustlist import TrustList
from keys.wire import (
    CERTIFICATE_LIMIT,
    CLAIM_BASIS,
    CLAIM_CTI,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_PLATE,
    CLAIM_PLATE_TYPE,
    CLAIM_VALID_THROUGH,
    CLAIM_VEHICLE_TYPE,
    CLOCK_SKEW,
    QR_PREFIX,
    QR_TEXT_LIMIT,
    ROLE_CERT,
    SERIAL_MAX,
    SERIAL_MIN,
)


class Certificate(NamedTuple):
    """The claims of a certificate, with the kid that signed it."""

    issuer: str
    issued_at: int
    serial: bytes
    plate: str
    plate_type: str
    valid_through: str
    vehicle_type: str | None = None
    basis: int | None = None
    kid: bytes = b""

    def claims(self) -> dict[int, object]:
        out: dict[int, object] = {
            CLAIM_ISS: self.issuer,
            CLAIM_IAT: self.issued_at,
            CLAIM_CTI: self.serial,
            CLAIM_PLATE: self.plate,
            CLAIM_PLATE_TYPE: self.plate_type,
            CLAIM_VALID_THROUGH: self.valid_through,
        }
        if self.vehicle_type is not None:
            out[CLAIM_VEHICLE_TYPE] = self.vehicle_type
        if self.basis is not None:
            out[CLAIM_BASIS] = self.basis
        return out


class ScannedCode(NamedTuple):
    """A QR text that is well formed: its COSE envelope and its claims, not yet trusted."""

    signed: Sign1
    certificate: Certificate


class Authenticity(NamedTuple):
    """What steps 3 to 5 found. ``certificate`` is set once the signature verified."""

    problems: tuple[str, ...]
    certificate: Certificate | None


def read_qr_text(text: str) -> ScannedCode:
    """SPEC 6.1 step 1: everything that makes a text ``FORMAT``, checked in one place."""
    if len(text) > QR_TEXT_LIMIT:
        raise Malformed(f"QR text of {len(text)} characters is over {QR_TEXT_LIMIT}")
    if not text.startswith(QR_PREFIX):
        raise Malformed("not a vehicle inspection certificate (no VI1: prefix)")
    try:
        data = base45.decode(text[len(QR_PREFIX) :])
    except ValueError as exc:
        raise Malformed(str(exc)) from None
    signed = parse_sign1(data, CERTIFICATE_LIMIT)
    return ScannedCode(signed, parse_claims(signed.payload, signed.kid))


def parse_claims(payload: bytes, kid: bytes = b"") -> Certificate:
    body = require_map(decode_one(payload), "certificate payload")
    what = "certificate"
    issuer = require(body, CLAIM_ISS, is_tstr, what)
    issued_at = require(body, CLAIM_IAT, is_uint, what)
    serial = require(body, CLAIM_CTI, is_serial, what)
    plate = require(body, CLAIM_PLATE, is_tstr, what)
    plate_type = require(body, CLAIM_PLATE_TYPE, is_tstr, what)
    valid_through = require(body, CLAIM_VALID_THROUGH, is_tstr, what)
    vehicle_type = body.get(CLAIM_VEHICLE_TYPE)
    basis = body.get(CLAIM_BASIS)
    if not is_valid_plate(plate):
        raise Malformed(f"plate {plate!r} is not a valid plate in normal form")
    if not is_plate_type(plate_type):
        raise Malformed(f"plate type {plate_type!r} is not two digits")
    if not is_month(valid_through):
        raise Malformed(f"valid_through {valid_through!r} is not YYYY-MM")
    if vehicle_type is not None and not is_tstr(vehicle_type):
        raise Malformed("vehicle_type is not a text string")
    if CLAIM_VEHICLE_TYPE in body and vehicle_type is None:
        raise Malformed("vehicle_type is null")
    if CLAIM_BASIS in body and not is_uint(basis):
        raise Malformed("basis is not a uint")
    return Certificate(
        issuer, issued_at, serial, plate, plate_type, valid_through, vehicle_type, basis, kid
    )


def is_serial(value: object) -> bool:
    return is_bstr(value) and SERIAL_MIN <= len(value) <= SERIAL_MAX


def authenticate(code: ScannedCode, trust: TrustList, now: float) -> Authenticity:
    """SPEC 6.1 steps 3 to 5, in order; each ``Stop`` of the SPEC returns early."""
    entry = trust.key(code.signed.kid)
    if entry is None:
        return Authenticity((reasons.UNKNOWN_KEY,), None)
    if not code.signed.verify(entry.public):
        return Authenticity((reasons.BAD_SIGNATURE,), None)
    cert = code.certificate
    problems = []
    if entry.revoked:
        problems.append(reasons.KEY_REVOKED)
    if entry.role != ROLE_CERT or not entry.covers_plate(cert.plate):
        problems.append(reasons.KEY_SCOPE)
    if not entry.in_window(cert.issued_at):
        problems.append(reasons.KEY_EXPIRED)
    if cert.issued_at > now + CLOCK_SKEW:
        problems.append(reasons.NOT_YET_VALID)
    return Authenticity(tuple(problems), cert)


def issue_certificate(cert: Certificate, signing_key: SigningKey) -> str:
    """Sign a certificate and return its QR text (issuer side, tests, demo)."""
    payload = cbor2.dumps(cert.claims())
    data = sign1(payload, signing_key, kid_of(bytes(signing_key.verify_key)))
    return QR_PREFIX + base45.encode(data)
