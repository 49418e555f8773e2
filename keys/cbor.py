"""Strict CBOR reading: one item, nothing after it, and exact types.

cbor2 is permissive by design (it stops after the first item, takes ``True`` for an
int, decodes tags into Python objects); SPEC section 1 is not. These helpers close
that gap once, so every parser in the project applies the same rules.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import cbor2

from keys.wire import UINT_LIMIT


class Malformed(ValueError):
    """The bytes are not the CBOR structure the SPEC requires."""


def decode_one(data: bytes) -> Any:
    """Decode exactly one definite-length CBOR item that uses up ``data``."""
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, allow_indefinite=False, allow_duplicate_keys=False)
    try:
        item = decoder.decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise Malformed(f"bad CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise Malformed("bytes follow the CBOR item")
    return item


def is_uint(value: object) -> bool:
    """A uint of the SPEC: an int (never a bool) in [0, 2**63)."""
    return type(value) is int and 0 <= value < UINT_LIMIT


def is_int(value: object) -> bool:
    return type(value) is int


def is_tstr(value: object) -> bool:
    return type(value) is str


def is_bstr(value: object, size: int | None = None) -> bool:
    return type(value) is bytes and (size is None or len(value) == size)


def is_array(value: object) -> bool:
    # cbor2 returns tuples for arrays nested in tags or map keys.
    return type(value) in (list, tuple)


def is_map(value: object) -> bool:
    return isinstance(value, Mapping)


def require_map(value: object, what: str) -> dict[int, Any]:
    """A map with its integer keys only.

    A key such as ``true`` or ``1.0`` is not the key ``1`` in CBOR, though Python
    compares them equal; keeping only true ints makes such keys unknown (ignored).
    """
    if not is_map(value):
        raise Malformed(f"{what} is not a map")
    return {k: v for k, v in value.items() if type(k) is int}  # type: ignore[attr-defined]


def require(mapping: Mapping[int, Any], key: int, check: Any, what: str) -> Any:
    """Fetch a required key and check its type with one of the ``is_*`` predicates."""
    if key not in mapping:
        raise Malformed(f"{what}: key {key} missing")
    value = mapping[key]
    if not check(value):
        raise Malformed(f"{what}: key {key} has the wrong type")
    return value
