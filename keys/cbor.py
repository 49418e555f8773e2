"""Strict CBOR reading: one item, nothing after it, and exact types.

cbor2 is permissive by design (it stops after the first item, takes ``True`` for an
int, decodes tags into Python objects); SPEC section 1 is not. These helpers close
that gap once, so every parser in the project applies the same rules.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeGuard

import cbor2

from keys.wire import UINT_LIMIT


class Malformed(ValueError):
    """The bytes are not the CBOR structure the SPEC requires."""


def _keep_tag(tag: int) -> Callable[[Any, bool], cbor2.CBORTag]:
    def decode(value: Any, immutable: bool = False) -> cbor2.CBORTag:
        return cbor2.CBORTag(tag, value)

    return decode


# cbor2 turns these tags into Python values (a bignum into an int, tag 55799 into
# its content, ...). The SPEC has no tags but 18, so each is kept as a tag, which no
# type check accepts: a tagged "uint" is not a uint.
_SEMANTIC_TAGS = (
    0,
    1,
    2,
    3,
    4,
    5,
    25,
    28,
    29,
    30,
    35,
    36,
    37,
    52,
    54,
    100,
    256,
    258,
    260,
    261,
    1004,
    55799,
)
_KEPT_TAGS: Final[Mapping[int, Callable[[Any, bool], cbor2.CBORTag]]] = MappingProxyType(
    {tag: _keep_tag(tag) for tag in _SEMANTIC_TAGS}
)


def strict_decoder(stream: io.BytesIO, max_depth: int = 400) -> cbor2.CBORDecoder:
    """A cbor2 decoder with every leniency the SPEC does not allow turned off."""
    return cbor2.CBORDecoder(
        stream,
        max_depth=max_depth,
        allow_indefinite=False,
        allow_duplicate_keys=False,
        semantic_decoders=_KEPT_TAGS,
    )


def decode_one(data: bytes) -> Any:
    """Decode exactly one definite-length CBOR item that uses up ``data``."""
    stream = io.BytesIO(data)
    # A nesting depth can never exceed the byte count; cap it so the C decoder's
    # recursion stays shallow for large inputs (certificates are at most 1,024 bytes).
    decoder = strict_decoder(stream, max_depth=min(len(data) + 1, 2048))
    try:
        item = decoder.decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise Malformed(f"bad CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise Malformed("bytes follow the CBOR item")
    return item


def is_uint(value: object) -> TypeGuard[int]:
    """A uint of the SPEC: an int (never a bool) in [0, 2**63)."""
    return type(value) is int and 0 <= value < UINT_LIMIT


def is_tstr(value: object) -> TypeGuard[str]:
    return type(value) is str


def is_bstr(value: object, size: int | None = None) -> TypeGuard[bytes]:
    return type(value) is bytes and (size is None or len(value) == size)


def is_array(value: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    # cbor2 returns tuples for arrays nested in tags or map keys.
    return type(value) in (list, tuple)


def is_map(value: object) -> TypeGuard[Mapping[Any, Any]]:
    return isinstance(value, Mapping)


def require_map(value: object, what: str) -> dict[int, Any]:
    """A map with its integer keys only.

    A key such as ``true`` or ``1.0`` is not the key ``1`` in CBOR, though Python
    compares them equal; keeping only true ints makes such keys unknown (ignored).
    """
    if not is_map(value):
        raise Malformed(f"{what} is not a map")
    return {k: v for k, v in value.items() if type(k) is int}


def require(mapping: Mapping[int, Any], key: int, check: Any, what: str) -> Any:
    """Fetch a required key and check its type with one of the ``is_*`` predicates."""
    if key not in mapping:
        raise Malformed(f"{what}: key {key} missing")
    value = mapping[key]
    if not check(value):
        raise Malformed(f"{what}: key {key} has the wrong type")
    return value
