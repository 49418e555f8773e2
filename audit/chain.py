"""The audit chain's format: an entry, its canonical bytes, its hash, the signed head.

Each entry names the hash of the one before it, so changing, removing, reordering or
inserting any entry breaks every hash after it; the device key signs the newest
hash (the head), so nobody without that key can rebuild a chain that fits. The
encoding is deterministic CBOR (RFC 8949 section 4.2.1) of a map with small integer
keys, defined exactly in docs/audit.md; ``decode`` takes only those bytes back
(re-encoding must give the same bytes), so one entry has exactly one encoding and
one hash. cbor2 and PyNaCl are already on the check path: recording adds no import
worth the name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from keys.cbor import Malformed, decode_one, is_array, is_uint, require_map

HASH_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
GENESIS: Final = bytes(HASH_SIZE)
"""The ``prev`` of the first entry a device ever makes."""
HEAD_DOMAIN: Final = b"vicheck-audit-head-v1\x00"
"""What a head signature starts with, so it can never be taken for any other
signature the device key might make."""
HOWS: Final = frozenset({"camera", "wedge", "typed", "lookup", "image", "car"})
"""How a check came in: the TUI's camera, a scan engine (keyboard wedge), text
typed or given on the command line, a plate lookup, a picture; ``car``: the car's
plate, read by the camera while a certificate's card was up, changed that card's
verdict (PLATE_MISMATCH): the terminal's second answer is recorded as its own entry,
since the log holds what the officer was shown."""
VERDICTS: Final = frozenset({"VALID", "CHECK", "INVALID", "ALERT"})
MAX_ENTRY_BYTES: Final = 4096
MAX_TEXT: Final = 64
"""Longest officer, plate, plate type, serial, reason or feed id (characters)."""
MAX_ITEMS: Final = 64
"""Most reasons, and most feeds, in one entry."""

# The map keys of an entry (docs/audit.md, "Entry").
K_SEQ, K_TIME, K_OFFICER, K_HOW, K_PLATE, K_PLATE_TYPE = 0, 1, 2, 3, 4, 5
K_SERIAL, K_VERDICT, K_REASONS, K_TRUST_LIST, K_FEEDS, K_PREV = 6, 7, 8, 9, 10, 11
_KEYS: Final = frozenset(range(12))


DEVICE_PREFIX: Final = "vt-"


def device_id(public_key: bytes) -> str:
    """A device's name, from its public key: "vt-" and the first 16 hex digits of
    SHA-256(key). URL-safe, so it goes into ``/audit/{device}`` as it is."""
    return DEVICE_PREFIX + hashlib.sha256(public_key).hexdigest()[:16]


def is_device_id(text: object) -> bool:
    """What ``device_id`` makes: "vt-" and 16 lowercase hex digits."""
    if type(text) is not str or len(text) != len(DEVICE_PREFIX) + 16:
        return False
    digits = text[len(DEVICE_PREFIX) :]
    return text.startswith(DEVICE_PREFIX) and all(c in "0123456789abcdef" for c in digits)


class AuditFormatError(ValueError):
    """Bytes or values that are not an audit entry as docs/audit.md defines it."""


class _Fields(NamedTuple):
    seq: int
    time: int
    officer: str | None
    how: str
    plate: str | None
    plate_type: str | None
    serial: str | None
    verdict: str
    reasons: tuple[str, ...]
    trust_list: int | None
    feeds: tuple[tuple[str, int], ...]
    prev: bytes


class Entry(_Fields):
    """One check, as recorded. ``prev`` is the SHA-256 of the previous entry's
    encoding (``GENESIS`` for a device's first), which makes the log a chain.

    Immutable, compared by value, checked against docs/audit.md when made. A named
    tuple rather than a dataclass: the check path makes one per check, and
    ``dataclasses`` costs it more to import (inspect, ast, tokenize) than the whole
    entry costs to write. ``entry.replace(field=value)`` makes a changed copy,
    checked again (``dataclasses.replace`` does not apply: this is no dataclass)."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Entry:
        entry = super().__new__(cls, *args, **kwargs)
        _check(entry)
        return entry

    def replace(self, **changes: Any) -> Entry:
        return Entry(**{**self._asdict(), **changes})


def _check(e: Entry) -> None:
    """Every rule of docs/audit.md on the values, so an ``Entry`` that exists can be
    encoded, and one decoded is one that could have been made."""
    if not (is_uint(e.seq) and e.seq >= 1):
        raise AuditFormatError("seq is an integer from 1")
    if not is_uint(e.time):
        raise AuditFormatError("time is whole unix seconds, not negative")
    for name in ("officer", "plate", "plate_type", "serial"):
        value = getattr(e, name)
        if value is not None and not _text(value):
            raise AuditFormatError(f"{name} is null or 1 to {MAX_TEXT} characters")
    if e.how not in HOWS:
        raise AuditFormatError(f"how is one of {sorted(HOWS)}")
    if e.verdict not in VERDICTS:
        raise AuditFormatError(f"verdict is one of {sorted(VERDICTS)}")
    _check_reasons(e.reasons)
    if e.trust_list is not None and not is_uint(e.trust_list):
        raise AuditFormatError("trust_list is null or a version")
    _check_feeds(e.feeds)
    if type(e.prev) is not bytes or len(e.prev) != HASH_SIZE:
        raise AuditFormatError(f"prev is {HASH_SIZE} bytes")


def _check_reasons(reasons: object) -> None:
    if type(reasons) is not tuple or len(reasons) > MAX_ITEMS:
        raise AuditFormatError(f"reasons is a tuple of at most {MAX_ITEMS}")
    if not all(_text(r) for r in reasons) or len(set(reasons)) != len(reasons):
        raise AuditFormatError("reasons are distinct codes")


def _check_feeds(feeds: object) -> None:
    if type(feeds) is not tuple or len(feeds) > MAX_ITEMS:
        raise AuditFormatError(f"feeds is a tuple of at most {MAX_ITEMS}")
    ids = []
    for item in feeds:
        if not (type(item) is tuple and len(item) == 2 and _text(item[0]) and is_uint(item[1])):
            raise AuditFormatError("each feed is (feed id, version)")
        ids.append(item[0])
    if ids != sorted(set(ids)):
        raise AuditFormatError("feeds are sorted by feed id, each once")


def _text(value: object) -> bool:
    return type(value) is str and 1 <= len(value) <= MAX_TEXT


def encode(entry: Entry) -> bytes:
    """The entry's one encoding: deterministic CBOR of the map of docs/audit.md."""
    item: dict[int, Any] = {
        K_SEQ: entry.seq,
        K_TIME: entry.time,
        K_OFFICER: entry.officer,
        K_HOW: entry.how,
        K_PLATE: entry.plate,
        K_PLATE_TYPE: entry.plate_type,
        K_SERIAL: entry.serial,
        K_VERDICT: entry.verdict,
        K_REASONS: list(entry.reasons),
        K_TRUST_LIST: entry.trust_list,
        K_FEEDS: [[feed, version] for feed, version in entry.feeds],
        K_PREV: entry.prev,
    }
    return cbor2.dumps(item, canonical=True)


def decode(data: bytes) -> Entry:
    """The entry these bytes encode; ``AuditFormatError`` unless they are exactly
    ``encode`` of a valid entry (no other key order, integer width or extra key)."""
    if type(data) is not bytes or len(data) > MAX_ENTRY_BYTES:
        raise AuditFormatError(f"an entry is at most {MAX_ENTRY_BYTES} bytes")
    try:
        item = decode_one(data)
        raw = require_map(item, "entry")
    except Malformed as exc:
        raise AuditFormatError(str(exc)) from None
    if len(raw) != len(item) or set(raw) != _KEYS:
        raise AuditFormatError("an entry has exactly the keys 0 to 11")
    reasons, feeds = raw[K_REASONS], raw[K_FEEDS]
    if not (is_array(reasons) and is_array(feeds)):
        raise AuditFormatError("reasons and feeds are arrays")
    if not all(is_array(f) and len(f) == 2 for f in feeds):
        raise AuditFormatError("each feed is [feed id, version]")
    entry = Entry(
        seq=raw[K_SEQ],
        time=raw[K_TIME],
        officer=raw[K_OFFICER],
        how=raw[K_HOW],
        plate=raw[K_PLATE],
        plate_type=raw[K_PLATE_TYPE],
        serial=raw[K_SERIAL],
        verdict=raw[K_VERDICT],
        reasons=tuple(reasons),
        trust_list=raw[K_TRUST_LIST],
        feeds=tuple((f[0], f[1]) for f in feeds),
        prev=raw[K_PREV],
    )
    if encode(entry) != data:
        raise AuditFormatError("not the canonical encoding of the entry")
    return entry


def entry_hash(entry: Entry) -> bytes:
    """SHA-256 of the entry's encoding: what the next entry's ``prev`` must be."""
    return hashlib.sha256(encode(entry)).digest()


def head_message(device: str, seq: int, head: bytes) -> bytes:
    """What the device key signs for a chain whose newest entry is ``seq`` with hash
    ``head``: the domain, the device id in ASCII, a zero byte, ``seq`` as 8 bytes
    big-endian, the 32-byte hash."""
    if not is_uint(seq) or len(head) != HASH_SIZE or not is_device_id(device):
        raise AuditFormatError("a head is a device id, a sequence number and a 32-byte hash")
    return HEAD_DOMAIN + device.encode("ascii") + b"\x00" + seq.to_bytes(8, "big") + head


def sign_head(device: str, entry: Entry, key: SigningKey) -> bytes:
    """The device's 64-byte Ed25519 signature of the chain ending at ``entry``."""
    message = head_message(device, entry.seq, entry_hash(entry))
    return bytes(key.sign(message).signature)


def verify_head(device: str, last: Entry, signature: bytes, public_key: bytes) -> bool:
    """True when ``signature`` is the device key's over the chain ending at ``last``."""
    return verify_signature(device, last.seq, entry_hash(last), signature, public_key)


def verify_signature(
    device: str, seq: int, head: bytes, signature: bytes, public_key: bytes
) -> bool:
    """True when ``signature`` is the device key's over the head ``(seq, head)``:
    for a chain whose newest entry is gone (pruned) but whose hash is kept."""
    if len(signature) != SIGNATURE_SIZE or len(public_key) != HASH_SIZE:
        return False
    try:
        VerifyKey(public_key).verify(head_message(device, seq, head), signature)
    except (BadSignatureError, ValueError, AuditFormatError):
        return False
    return True


class Break(NamedTuple):
    """The first entry that does not fit the chain. ``seq`` is the sequence number
    that entry should have had (``position`` counts from 0 in what was given);
    ``found`` the one it has; ``problem`` says how it fails: ``SEQ`` (a gap, a
    duplicate or entries out of order) or ``PREV`` (its ``prev`` is not the hash of
    the entry before it: that one, or this one, was changed, or one was removed or
    inserted between them)."""

    position: int
    seq: int
    found: int
    problem: str

    def describe(self) -> str:
        if self.problem == "SEQ":
            return f"entry {self.found} stands where entry {self.seq} should"
        return f"entry {self.seq} does not follow the one before it (prev hash differs)"


def verify_chain(entries: Iterable[Entry], *, prev: bytes, first_seq: int) -> Break | None:
    """Walk ``entries`` from ``first_seq`` (whose ``prev`` must be ``prev``); the first
    that does not fit, or None when all of them chain."""
    want_seq, want_prev = first_seq, prev
    for position, entry in enumerate(entries):
        if entry.seq != want_seq:
            return Break(position, want_seq, entry.seq, "SEQ")
        if entry.prev != want_prev:
            return Break(position, want_seq, entry.seq, "PREV")
        want_seq, want_prev = want_seq + 1, entry_hash(entry)
    return None
