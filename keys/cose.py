"""COSE_Sign1 with Ed25519, exactly as SPEC section 1 allows it.

Parsing is separate from verifying: a caller first learns *which* key signed
(the kid), looks it up in its own trust material, then verifies the signature
over the bytes as received. Nothing is ever re-encoded before verifying.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from keys.cbor import Malformed, decode_one, is_array, is_bstr, is_map
from keys.wire import (
    ALG_EDDSA,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_KID,
    KID_SIZE,
    SIG_CONTEXT,
    SIGNATURE_SIZE,
)


class Sign1(NamedTuple):
    """A parsed, not yet verified, COSE_Sign1 object."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)

    def verify(self, public_key: bytes) -> bool:
        """True when the signature is valid for ``public_key`` (32 raw bytes)."""
        try:
            VerifyKey(public_key).verify(self.to_be_signed(), self.signature)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True


def kid_of(public_key: bytes) -> bytes:
    """SPEC section 1: the first 8 bytes of SHA-256 over the raw public key."""
    return hashlib.sha256(public_key).digest()[:KID_SIZE]


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps([SIG_CONTEXT, protected, b"", payload])


def parse_sign1(data: bytes, limit: int) -> Sign1:
    """Parse a COSE_Sign1, refusing anything SPEC section 1 calls malformed.

    ``limit`` is checked before any parsing, so an oversized object costs nothing.
    """
    if len(data) > limit:
        raise Malformed(f"COSE object of {len(data)} bytes is over its limit of {limit}")
    outer = decode_one(data)
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != COSE_SIGN1_TAG:
        raise Malformed("not a COSE_Sign1 (tag 18)")
    body = outer.value
    if not is_array(body) or len(body) != 4:
        raise Malformed("COSE_Sign1 is not a four-element array")
    protected, unprotected, payload, signature = body
    if not is_bstr(protected) or not is_bstr(payload):
        raise Malformed("COSE_Sign1 protected header or payload is not a byte string")
    if not is_map(unprotected) or len(unprotected) != 0:
        raise Malformed("COSE_Sign1 unprotected header is not an empty map")
    if not is_bstr(signature, SIGNATURE_SIZE):
        raise Malformed("COSE_Sign1 signature is not 64 bytes")
    header = decode_one(protected)
    if not is_map(header) or len(header) != 2:
        raise Malformed("protected header must hold exactly alg and kid")
    alg = _get_exact_int_key(header, HEADER_ALG)
    kid = _get_exact_int_key(header, HEADER_KID)
    if type(alg) is not int or alg != ALG_EDDSA:
        raise Malformed("protected header alg is not EdDSA (-8)")
    if not is_bstr(kid, KID_SIZE):
        raise Malformed("protected header kid is not 8 bytes")
    return Sign1(protected=protected, kid=kid, payload=payload, signature=signature)


def _get_exact_int_key(header: Mapping[Any, Any], key: int) -> object:
    for k, v in header.items():
        if type(k) is int and k == key:
            return v
    raise Malformed(f"protected header key {key} missing")


def sign1(payload: bytes, signing_key: SigningKey, kid: bytes) -> bytes:
    """Build and sign a COSE_Sign1 (issuer side: certificates, trust lists, manifests)."""
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    signature = signing_key.sign(sig_structure(protected, payload)).signature
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
