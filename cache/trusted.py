"""The sync's rules in one place: what a terminal accepts, and what it refuses.

Shaped like python-tuf's ``TrustedMetadataSet``: a ``TrustedState`` holds the
trust list and the applied feed states, takes signed bytes the sync client
fetched, and either returns what it accepted or raises a ``SyncRefusal`` that
says why, for people. It does no I/O (no network, no files, no database, no
clock), so every rule of SPEC 3 and 4.3 is tested here with bytes alone, and the
client in ``cache.sync`` only fetches, asks, and writes what was accepted.

It only moves forward: a trust list or a feed state is replaced by a newer one,
never an older one. What a feed file holds is checked item by item as the writer
reads it (``feeds.format.snapshot_items`` and ``delta_operations``); the rules
that need the cache's rows (removing an absent vehicle) stay in ``cache.apply``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cache.store import FeedState
from feeds.format import FeedFormatError, FileEntry, Manifest, parse_manifest
from feeds.model import KIND_FULL
from keys.cbor import Malformed as MalformedCbor
from keys.cose import parse_sign1
from keys.trustlist import (
    KeyEntry,
    TrustList,
    TrustListError,
    TrustListSignatureError,
    verify_trust_list,
)
from keys.wire import ROLE_FEED, SIGNED_LIST_LIMIT


class SyncRefusal(Exception):
    """Signed data, or a feed's files, that the terminal refuses; the message says
    why, for the sync report."""


class Malformed(SyncRefusal):
    """A trust list or manifest that is not the SPEC's shape."""


class BadSignature(SyncRefusal):
    """Not signed by a key the terminal trusts for it, or the signature is wrong."""


class Unauthorized(SyncRefusal):
    """Signed by a trusted key that may not sign this: wrong role, revoked, or
    outside its validity window."""


class OutOfScope(SyncRefusal):
    """A manifest for another feed than the one fetched, or one that speaks of
    feeds or plates its key may not cover."""


class Rollback(SyncRefusal):
    """Older than what the terminal already holds."""


class KindChanged(SyncRefusal):
    """A feed's kind never changes (SPEC 4)."""


class NoTrustList(SyncRefusal):
    """No trust list held, so no manifest can be verified."""


class Unchained(SyncRefusal):
    """The manifest's deltas do not lead from its snapshot to its version."""


class CountMismatch(FeedFormatError):
    """The records applied do not add up to the manifest's ``total``.

    A ``FeedFormatError``: it is the files' content that does not add up."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Which files to apply for an accepted manifest (SPEC 4.3 step 2).

    ``deltas`` is the chain from the applied version, or None when there is none
    (or nothing is applied): then the snapshot. The delta path failing for any
    reason also falls back to the snapshot, which needs ``snapshot_path``.
    """

    manifest: Manifest
    deltas: tuple[FileEntry, ...] | None
    snapshot_deltas: tuple[FileEntry, ...] | None

    def snapshot_path(self) -> tuple[FileEntry, ...]:
        """The deltas to apply after the snapshot; raise ``Unchained`` when none lead
        to the manifest's version. Asked only when the snapshot is needed: a
        manifest whose deltas serve the applied version is usable without."""
        if self.snapshot_deltas is None:
            m = self.manifest
            raise Unchained(
                f"feed {m.feed}: no deltas lead from snapshot version"
                f" {m.snapshot.to_version} to {m.version}"
            )
        return self.snapshot_deltas


def _chain(manifest: Manifest, start: int) -> tuple[FileEntry, ...] | None:
    chain = manifest.chain(start)
    return None if chain is None else tuple(chain)


class TrustedState:
    """The trust list and the applied feed states of one sync; only moves forward."""

    def __init__(
        self,
        root_public: bytes,
        trust_list: TrustList | None = None,
        feeds: Iterable[FeedState] = (),
    ) -> None:
        self._root_public = root_public
        self._trust_list = trust_list
        self._feeds = {state.feed: state for state in feeds}

    @property
    def trust_list(self) -> TrustList | None:
        return self._trust_list

    def feed(self, feed: str) -> FeedState | None:
        """The applied state of ``feed``, or None when it was never synced."""
        return self._feeds.get(feed)

    def require_trust_list(self) -> TrustList:
        """The trust list that manifests are verified against; raise ``NoTrustList``."""
        if self._trust_list is None:
            raise NoTrustList("no trust list to verify the manifest against")
        return self._trust_list

    # --- trust list (SPEC 3) --------------------------------------------------

    def update_trust_list(self, data: bytes) -> TrustList | None:
        """Verify a fetched trust list against the root key and hold it.

        Returns the new trust list, or None when it has the held version (an equal
        version changes nothing). Expiry never refuses one (SPEC 3).
        """
        try:
            fetched = verify_trust_list(data, self._root_public)
        except TrustListSignatureError as exc:
            raise BadSignature(str(exc)) from None
        except TrustListError as exc:
            raise Malformed(str(exc)) from None
        held = self._trust_list
        if held is not None and fetched.version < held.version:
            raise Rollback(
                f"trust list version {fetched.version} is older than the held {held.version}"
            )
        if held is not None and fetched.version == held.version:
            return None
        self._trust_list = fetched
        return fetched

    # --- manifests (SPEC 4.1, 4.3 step 1) -------------------------------------

    def update_manifest(self, feed: str, data: bytes) -> Manifest | None:
        """Verify a manifest fetched for ``feed``: key, signature, shape, the key's
        rights, feed id, scope, then kind and version against the applied state.

        Returns the manifest to apply, or None when its version is the applied one.
        Accepting it does not move the feed's state: ``applied`` does, once the
        files are in.
        """
        manifest = self._verified_manifest(feed, data)
        state = self._feeds.get(feed)
        if state is None:
            return manifest
        if manifest.kind != state.kind:
            raise KindChanged(f"feed {feed} is {state.kind}, the manifest says {manifest.kind}")
        if manifest.version < state.version:
            raise Rollback(
                f"manifest version {manifest.version} of feed {feed} is older than"
                f" the applied {state.version} (rollback)"
            )
        if manifest.version == state.version:
            return None
        return manifest

    def _verified_manifest(self, feed: str, data: bytes) -> Manifest:
        trust = self.require_trust_list()
        try:
            signed = parse_sign1(data, SIGNED_LIST_LIMIT)
        except MalformedCbor as exc:
            raise Malformed(f"manifest is malformed: {exc}") from None
        entry = trust.key(signed.kid)
        if entry is None:
            raise BadSignature(f"manifest signed by key {signed.kid.hex()}, not in the trust list")
        if not signed.verify(entry.public):
            raise BadSignature("manifest signature is bad")
        try:
            manifest = parse_manifest(signed.payload)
        except FeedFormatError as exc:
            raise Malformed(str(exc)) from None
        _check_key(entry, feed, manifest)
        if manifest.feed != feed:
            raise OutOfScope(f"manifest is for feed {manifest.feed!r}, fetched for {feed!r}")
        if manifest.kind == KIND_FULL and not entry.covers_scope(manifest.scope):
            raise OutOfScope(
                f"manifest scope {list(manifest.scope)} goes beyond what key {entry.kid.hex()}"
                f" may cover ({list(entry.covers)})"
            )
        return manifest

    # --- files (SPEC 4.3 step 2) ----------------------------------------------

    def plan(self, manifest: Manifest) -> Plan:
        """Which files bring ``manifest``'s feed from its applied state to it."""
        state = self._feeds.get(manifest.feed)
        deltas = None if state is None else _chain(manifest, state.version)
        return Plan(manifest, deltas or None, _chain(manifest, manifest.snapshot.to_version))

    def applied(self, state: FeedState) -> None:
        """Record a feed state the writer committed; never an older one."""
        held = self._feeds.get(state.feed)
        if held is not None and state.version < held.version:
            raise Rollback(
                f"feed {state.feed} state version {state.version} is older than"
                f" the held {held.version}"
            )
        self._feeds[state.feed] = state


def _check_key(entry: KeyEntry, feed: str, manifest: Manifest) -> None:
    """What the manifest's key may sign (SPEC 4.1): role feed, this feed id, not
    revoked, generated within its window."""
    kid = entry.kid.hex()
    if entry.role != ROLE_FEED:
        raise Unauthorized(f"manifest signed by key {kid} of role {entry.role}, not feed")
    if not entry.covers_feed(feed):
        raise OutOfScope(f"manifest signed by key {kid}, not allowed for feed {feed}")
    if entry.revoked:
        raise Unauthorized(f"manifest signed by revoked key {kid}")
    if not entry.in_window(manifest.generated_at):
        raise Unauthorized(f"manifest generated outside the validity window of key {kid}")


def check_total(manifest: Manifest, count: int) -> None:
    """SPEC 4.3 step 4: the records applied add up to the manifest's ``total``.

    The writer counts (a delta's vehicle adds one only when it was absent, which
    only the cache knows) and asks here before it records the manifest."""
    if count != manifest.total:
        raise CountMismatch(
            f"feed {manifest.feed} would hold {count} records, the manifest says {manifest.total}"
        )
