"""The trust list (SPEC section 3): which keys may sign what, pinned to a root key.

The root public key is configured on the terminal and never fetched; everything
else about keys arrives signed by it. A parsed ``TrustList`` is immutable, and the
rules for using an entry (role, scope, window, revocation) are methods on it, so
the certificate check and the feed sync apply the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import cbor2
from nacl.signing import SigningKey

from keys.cbor import (
    Malformed,
    decode_one,
    is_array,
    is_bstr,
    is_tstr,
    is_uint,
    require,
    require_map,
)
from keys.cose import Sign1, kid_of, parse_sign1, sign1
from keys.wire import (
    KEY_COVERS,
    KEY_KID,
    KEY_NOT_AFTER,
    KEY_NOT_BEFORE,
    KEY_PUBLIC,
    KEY_REVOKED,
    KEY_ROLE,
    KEY_SCOPE,
    KID_SIZE,
    PUBLIC_KEY_SIZE,
    ROLE_CERT,
    ROLE_FEED,
    SCOPE_ALL,
    SIGNED_LIST_LIMIT,
    TL_EXPIRES_AT,
    TL_ISSUED_AT,
    TL_KEYS,
    TL_VERSION,
)


class TrustListError(ValueError):
    """A trust list that must be refused: malformed, badly signed, or not from the root."""


class TrustListSignatureError(TrustListError):
    """A trust list not signed by the configured root key, or badly signed: kept
    apart from a malformed one so the sync can say which (``cache.trusted``)."""


class KeyEntry(NamedTuple):
    kid: bytes
    public: bytes
    role: str
    scope: tuple[str, ...]
    not_before: int
    not_after: int
    revoked: bool = False
    covers: tuple[str, ...] = ()
    """Role ``feed`` only (SPEC 1.1): the plate prefixes its full feeds may cover;
    empty means none, so the key signs hotlists only."""

    def in_window(self, t: int) -> bool:
        """Key windows include both ends."""
        return self.not_before <= t <= self.not_after

    def covers_plate(self, plate: str) -> bool:
        """Role ``cert`` scope: a prefix of the plate, or ``*``."""
        return any(s == SCOPE_ALL or plate.startswith(s) for s in self.scope)

    def covers_feed(self, feed_id: str) -> bool:
        """Role ``feed`` scope: the feed id itself, or ``*``."""
        return any(s in (SCOPE_ALL, feed_id) for s in self.scope)

    def covers_scope(self, scope: Iterable[str]) -> bool:
        """SPEC 4.3 step 1: every prefix of a full feed's scope is matched by a covers
        entry that is ``*`` or that the prefix starts with (so only ``*`` allows ``*``).

        A key without covers signs no full feed at all, not even one of empty scope
        (SPEC 3: "absent means none, so such a key can sign only hotlists")."""
        return bool(self.covers) and all(
            any(c == SCOPE_ALL or prefix.startswith(c) for c in self.covers) for prefix in scope
        )

    def to_cbor(self) -> dict[int, object]:
        entry: dict[int, object] = {
            KEY_KID: self.kid,
            KEY_PUBLIC: self.public,
            KEY_ROLE: self.role,
            KEY_SCOPE: list(self.scope),
            KEY_NOT_BEFORE: self.not_before,
            KEY_NOT_AFTER: self.not_after,
        }
        if self.revoked:
            entry[KEY_REVOKED] = True
        if self.covers:
            entry[KEY_COVERS] = list(self.covers)
        return entry


class TrustList(NamedTuple):
    version: int
    issued_at: int
    expires_at: int
    keys: Mapping[bytes, KeyEntry]
    cose: bytes

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at

    def key(self, kid: bytes) -> KeyEntry | None:
        return self.keys.get(kid)


def verify_trust_list(data: bytes, root_public: bytes) -> TrustList:
    """Parse and verify a trust list as fetched; raise ``TrustListError`` to refuse it."""
    try:
        signed = parse_sign1(data, SIGNED_LIST_LIMIT)
    except Malformed as exc:
        raise TrustListError(f"trust list is malformed: {exc}") from None
    if signed.kid != kid_of(root_public):
        raise TrustListSignatureError("trust list is not signed by the configured root key")
    if not signed.verify(root_public):
        raise TrustListSignatureError("trust list signature is bad")
    return _parse_payload(signed, data)


def load_trust_list(data: bytes) -> TrustList:
    """Re-read a trust list this terminal verified before it stored it."""
    try:
        return _parse_payload(parse_sign1(data, SIGNED_LIST_LIMIT), data)
    except Malformed as exc:
        raise TrustListError(f"stored trust list is malformed: {exc}") from None


def _parse_payload(signed: Sign1, data: bytes) -> TrustList:
    try:
        body = require_map(decode_one(signed.payload), "trust list")
        version = require(body, TL_VERSION, is_uint, "trust list")
        issued_at = require(body, TL_ISSUED_AT, is_uint, "trust list")
        expires_at = require(body, TL_EXPIRES_AT, is_uint, "trust list")
        raw_entries = require(body, TL_KEYS, is_array, "trust list")
    except Malformed as exc:
        raise TrustListError(f"trust list is malformed: {exc}") from None
    seen: set[bytes] = set()
    entries: dict[bytes, KeyEntry] = {}
    for raw in raw_entries:
        # A kid appearing twice refuses the list, even when one of the two entries
        # would be ignored: the publisher is confused, and we should not guess.
        kid = raw.get(KEY_KID) if isinstance(raw, Mapping) else None
        if is_bstr(kid):
            if kid in seen:
                raise TrustListError(f"trust list names key {kid.hex()} twice")
            seen.add(kid)
        entry = _parse_entry(raw)
        if entry is not None:
            entries[entry.kid] = entry
    return TrustList(version, issued_at, expires_at, entries, data)


def _parse_entry(raw: object) -> KeyEntry | None:
    """A usable key entry, or None for one SPEC says to ignore."""
    try:
        entry = require_map(raw, "key entry")
        kid = require(entry, KEY_KID, lambda v: is_bstr(v, KID_SIZE), "key entry")
        public = require(entry, KEY_PUBLIC, lambda v: is_bstr(v, PUBLIC_KEY_SIZE), "key entry")
        role = require(entry, KEY_ROLE, is_tstr, "key entry")
        scope = require(entry, KEY_SCOPE, is_array, "key entry")
        not_before = require(entry, KEY_NOT_BEFORE, is_uint, "key entry")
        not_after = require(entry, KEY_NOT_AFTER, is_uint, "key entry")
        revoked = entry.get(KEY_REVOKED, False)
    except Malformed:
        return None
    if type(revoked) is not bool:
        return None
    if not all(is_tstr(s) and s for s in scope):
        return None
    if kid_of(public) != kid or role not in (ROLE_CERT, ROLE_FEED):
        return None
    covers: tuple[str, ...] = ()
    if role == ROLE_FEED:  # SPEC 3: covers is read for role feed only
        raw_covers = entry.get(KEY_COVERS, [])
        if not is_array(raw_covers) or not all(is_tstr(c) and c for c in raw_covers):
            return None
        covers = tuple(raw_covers)
    return KeyEntry(kid, public, role, tuple(scope), not_before, not_after, revoked, covers)


def build_trust_list(
    *,
    version: int,
    issued_at: int,
    expires_at: int,
    entries: Iterable[KeyEntry],
    root: SigningKey,
) -> bytes:
    """Sign a trust list with the root key (central side, tests, demo)."""
    payload = cbor2.dumps(
        {
            TL_VERSION: version,
            TL_ISSUED_AT: issued_at,
            TL_EXPIRES_AT: expires_at,
            TL_KEYS: [e.to_cbor() for e in entries],
        }
    )
    return sign1(payload, root, kid_of(bytes(root.verify_key)))
