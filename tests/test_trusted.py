"""The sync's rules, tested on ``cache.trusted`` alone: bytes in, an accepted object
or a refusal out, with no server, no files and no clock.

Every rule of SPEC 3 (trust list) and 4.3 steps 1-2 (manifest, which files) has a
case here; the real-server tests in test_sync.py check the same rules end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import cbor2
import pytest

from cache.store import FeedState
from cache.trusted import (
    BadSignature,
    CountMismatch,
    KindChanged,
    Malformed,
    NoTrustList,
    OutOfScope,
    Rollback,
    SyncRefusal,
    TrustedState,
    Unauthorized,
    Unchained,
    check_total,
)
from feeds.format import FeedFormatError, FileEntry, Manifest, parse_manifest
from feeds.writer import manifest_payload, sign_manifest
from keys.cose import sign1
from keys.keypair import KeyPair
from keys.trustlist import KeyEntry, TrustList, build_trust_list

T0 = 1_780_000_000
DAY = 86_400
ROOT = KeyPair.from_seed(b"trusted: root")
FEED = KeyPair.from_seed(b"trusted: feed key")
CERT = KeyPair.from_seed(b"trusted: cert key")
REVOKED = KeyPair.from_seed(b"trusted: revoked feed key")
YUE_ONLY = KeyPair.from_seed(b"trusted: a key for feed yue only")
STRANGER = KeyPair.from_seed(b"trusted: a key nobody trusts")
SHA = bytes(32)


def entry(
    key: KeyPair,
    role: str = "feed",
    scope: Sequence[str] = ("*",),
    *,
    window: tuple[int, int] = (T0 - 100 * DAY, T0 + 100 * DAY),
    revoked: bool = False,
    covers: Sequence[str] = ("桂",),
) -> KeyEntry:
    covers = tuple(covers) if role == "feed" else ()
    return KeyEntry(key.kid, key.public, role, tuple(scope), *window, revoked, covers)


ENTRIES = [
    entry(FEED),
    entry(CERT, "cert", ("桂",)),
    entry(REVOKED, revoked=True),
    entry(YUE_ONLY, scope=("yue",), covers=("粤",)),
]


def trust_list(version: int = 1, entries: Sequence[KeyEntry] = ENTRIES, **kw: Any) -> bytes:
    return build_trust_list(
        version=version,
        issued_at=kw.get("issued_at", T0),
        expires_at=kw.get("expires_at", T0 + 30 * DAY),
        entries=entries,
        root=kw.get("root", ROOT).signing_key,
    )


def held_trust_list(version: int = 1, entries: Sequence[KeyEntry] = ENTRIES) -> TrustList:
    accepted = TrustedState(ROOT.public).update_trust_list(trust_list(version, entries))
    assert accepted is not None
    return accepted


def snapshot(version: int) -> FileEntry:
    return FileEntry(f"snapshot-{version}", SHA, 100, 4, version)


def delta(start: int, end: int) -> FileEntry:
    return FileEntry(f"delta-{start}-{end}", SHA, 10, 1, end, start)


def payload(version: int = 2, **kw: Any) -> dict[int, Any]:
    kind = kw.get("kind", "full")
    return manifest_payload(
        feed=kw.get("feed", "gx"),
        version=version,
        generated_at=kw.get("generated_at", T0 - 3600),
        expires_at=T0 + DAY,
        kind=kind,
        scope=kw.get("scope", ("桂",) if kind == "full" else ("*",)),
        snapshot=kw.get("snapshot", snapshot(version)),
        deltas=kw.get("deltas", ()),
        total=4,
    )


def manifest_bytes(version: int = 2, key: KeyPair = FEED, **kw: Any) -> bytes:
    return sign_manifest(payload(version, **kw), key)


def applied(version: int, kind: str = "full", feed: str = "gx") -> FeedState:
    return FeedState(feed, 1, kind, ("桂",), version, T0 - DAY, T0 + DAY, 4, T0 - DAY)


def state(*feeds: FeedState, trust: TrustList | None = None) -> TrustedState:
    return TrustedState(ROOT.public, trust or held_trust_list(), feeds)


def refusal(kind: type[SyncRefusal], match: str) -> AbstractContextManager[Any]:
    assert issubclass(kind, SyncRefusal)
    return pytest.raises(kind, match=match)


# --- trust list (SPEC 3) -----------------------------------------------------------


def test_first_trust_list_is_accepted_and_held() -> None:
    trusted = TrustedState(ROOT.public)
    accepted = trusted.update_trust_list(trust_list(3))
    assert accepted is not None and accepted.version == 3
    assert trusted.trust_list is accepted


def test_trust_list_not_signed_by_the_root_is_bad_signature() -> None:
    trusted = TrustedState(ROOT.public)
    with refusal(BadSignature, "not signed by the configured root key"):
        trusted.update_trust_list(trust_list(root=STRANGER))
    assert trusted.trust_list is None


def test_trust_list_with_a_flipped_signature_bit_is_bad_signature() -> None:
    data = trust_list()
    with refusal(BadSignature, "signature is bad"):
        TrustedState(ROOT.public).update_trust_list(data[:-1] + bytes([data[-1] ^ 1]))


@pytest.mark.parametrize("data", [b"", b"\x00", trust_list() + b"\x00"], ids=repr)
def test_trust_list_that_is_not_cose_is_malformed(data: bytes) -> None:
    with refusal(Malformed, "malformed"):
        TrustedState(ROOT.public).update_trust_list(data)


def test_trust_list_rollback_is_refused_and_the_held_one_kept() -> None:
    held = held_trust_list(5)
    trusted = TrustedState(ROOT.public, held)
    with refusal(Rollback, "trust list version 4 is older than the held 5"):
        trusted.update_trust_list(trust_list(4))
    assert trusted.trust_list is held


def test_trust_list_of_the_held_version_changes_nothing() -> None:
    held = held_trust_list(5)
    trusted = TrustedState(ROOT.public, held)
    assert trusted.update_trust_list(trust_list(5, entries=ENTRIES[:1])) is None
    assert trusted.trust_list is held


def test_newer_trust_list_replaces_the_held_one_even_expired() -> None:
    trusted = TrustedState(ROOT.public, held_trust_list(5))
    newer = trusted.update_trust_list(trust_list(6, expires_at=T0 - 1))  # long expired
    assert newer is not None and trusted.trust_list is newer and newer.version == 6


# --- manifest (SPEC 4.1, 4.3 step 1) -----------------------------------------------


def test_manifest_needs_a_trust_list() -> None:
    trusted = TrustedState(ROOT.public)
    with refusal(NoTrustList, "no trust list"):
        trusted.require_trust_list()
    with refusal(NoTrustList, "no trust list"):
        trusted.update_manifest("gx", manifest_bytes())


def test_manifest_of_a_feed_never_synced_is_accepted() -> None:
    trusted = state()
    manifest = trusted.update_manifest("gx", manifest_bytes(2))
    assert isinstance(manifest, Manifest)
    assert (manifest.feed, manifest.version, manifest.kind) == ("gx", 2, "full")
    assert trusted.feed("gx") is None  # accepting is not applying


def test_manifest_by_a_key_not_in_the_trust_list() -> None:
    with refusal(BadSignature, f"key {STRANGER.kid.hex()}, not in the trust list"):
        state().update_manifest("gx", manifest_bytes(key=STRANGER))


def test_manifest_with_a_bad_signature() -> None:
    forged = sign1(cbor2.dumps(payload()), STRANGER.signing_key, FEED.kid)
    with refusal(BadSignature, "manifest signature is bad"):
        state().update_manifest("gx", forged)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xa0", "manifest is malformed"),
        (manifest_bytes(0), "version must be at least 1"),
        (manifest_bytes(kind="partial"), "neither full nor hotlist"),
        (manifest_bytes(kind="hotlist", scope=("桂",)), "scope exactly"),
        (manifest_bytes(2, snapshot=snapshot(3)), "snapshot is newer"),
    ],
    ids=["not-cose", "version-0", "kind", "hotlist-scope", "snapshot-newer"],
)
def test_manifest_of_the_wrong_shape_is_malformed(data: bytes, match: str) -> None:
    with refusal(Malformed, match):
        state().update_manifest("gx", data)


def test_manifest_signed_by_a_cert_key_is_unauthorized() -> None:
    with refusal(Unauthorized, "of role cert, not feed"):
        state().update_manifest("gx", manifest_bytes(key=CERT))


def test_manifest_by_a_key_for_another_feed_is_out_of_scope() -> None:
    with refusal(OutOfScope, "not allowed for feed gx"):
        state().update_manifest("gx", manifest_bytes(key=YUE_ONLY))
    accepted = state().update_manifest(
        "yue", manifest_bytes(key=YUE_ONLY, feed="yue", scope=["粤"])
    )
    assert accepted is not None


def test_manifest_by_a_revoked_key_is_unauthorized() -> None:
    with refusal(Unauthorized, "revoked key"):
        state().update_manifest("gx", manifest_bytes(key=REVOKED))


@pytest.mark.parametrize(
    ("generated_at", "ok"),
    [
        (T0 - 100 * DAY - 1, False),
        (T0 - 100 * DAY, True),
        (T0 + 100 * DAY, True),
        (T0 + 100 * DAY + 1, False),
    ],
)
def test_manifest_generated_outside_the_key_window_is_unauthorized(
    generated_at: int, ok: bool
) -> None:
    data = manifest_bytes(generated_at=generated_at)
    if ok:
        assert state().update_manifest("gx", data) is not None
    else:
        with refusal(Unauthorized, "outside the validity window"):
            state().update_manifest("gx", data)


def test_manifest_for_another_feed_than_fetched_is_out_of_scope() -> None:
    with refusal(OutOfScope, "manifest is for feed 'yue', fetched for 'gx'"):
        state().update_manifest("gx", manifest_bytes(feed="yue"))


@pytest.mark.parametrize(
    ("scope", "ok"),
    [
        (["桂"], True),
        (["桂A", "桂B"], True),
        (["粤"], False),
        (["桂", "粤"], False),
        (["*"], False),
    ],
)
def test_full_manifest_scope_must_be_within_the_key_covers(scope: list[str], ok: bool) -> None:
    data = manifest_bytes(scope=scope)
    if ok:
        assert state().update_manifest("gx", data) is not None
    else:
        with refusal(OutOfScope, "goes beyond what key"):
            state().update_manifest("gx", data)


def test_hotlist_needs_no_covers() -> None:
    no_covers = [entry(FEED, covers=())]
    trusted = state(trust=held_trust_list(entries=no_covers))
    assert trusted.update_manifest("hot", manifest_bytes(feed="hot", kind="hotlist")) is not None
    with refusal(OutOfScope, "goes beyond"):
        trusted.update_manifest("gx", manifest_bytes())


def test_manifest_rollback_is_refused() -> None:
    with refusal(Rollback, "manifest version 4 of feed gx is older than the applied 5"):
        state(applied(5)).update_manifest("gx", manifest_bytes(4))


def test_manifest_kind_change_is_refused_before_its_version() -> None:
    with refusal(KindChanged, "feed gx is hotlist, the manifest says full"):
        state(applied(5, "hotlist")).update_manifest("gx", manifest_bytes(4))


def test_manifest_of_the_applied_version_is_current() -> None:
    assert state(applied(5)).update_manifest("gx", manifest_bytes(5)) is None


def test_newer_manifest_is_accepted_but_the_state_moves_only_when_applied() -> None:
    trusted = state(applied(5))
    manifest = trusted.update_manifest("gx", manifest_bytes(6))
    assert manifest is not None and manifest.version == 6
    assert trusted.feed("gx") == applied(5)
    trusted.applied(applied(6))
    assert trusted.feed("gx") == applied(6)
    assert trusted.update_manifest("gx", manifest_bytes(6)) is None
    with refusal(Rollback, "older than the held 6"):
        trusted.applied(applied(5))
    assert trusted.feed("gx") == applied(6)


def test_every_refusal_is_a_sync_refusal() -> None:
    kinds: list[type[Exception]] = [Malformed, BadSignature, Unauthorized, OutOfScope]
    kinds += [Rollback, KindChanged, NoTrustList, Unchained]
    assert all(issubclass(kind, SyncRefusal) for kind in kinds)
    assert issubclass(CountMismatch, FeedFormatError)


# --- which files (SPEC 4.3 step 2) -------------------------------------------------


def manifest(version: int, snap: int, deltas: Sequence[tuple[int, int]]) -> Manifest:
    entries = [delta(a, b) for a, b in deltas]
    return parse_manifest(cbor2.dumps(payload(version, snapshot=snapshot(snap), deltas=entries)))


def paths(entries: Sequence[FileEntry] | None) -> list[str] | None:
    return None if entries is None else [e.path for e in entries]


def test_plan_for_a_feed_never_synced_is_the_snapshot_and_its_deltas() -> None:
    plan = state().plan(manifest(5, 3, [(3, 4), (4, 5)]))
    assert plan.deltas is None
    assert paths(plan.snapshot_path()) == ["delta-3-4", "delta-4-5"]


def test_plan_uses_the_deltas_from_the_applied_version() -> None:
    plan = state(applied(3)).plan(manifest(5, 1, [(1, 2), (2, 3), (3, 4), (4, 5)]))
    assert paths(plan.deltas) == ["delta-3-4", "delta-4-5"]
    assert paths(plan.snapshot_path()) == ["delta-1-2", "delta-2-3", "delta-3-4", "delta-4-5"]


def test_plan_takes_the_shortest_chain_and_never_a_delta_past_the_version() -> None:
    m = manifest(5, 5, [(2, 3), (3, 4), (4, 5), (2, 4), (2, 6), (6, 5)])
    assert paths(state(applied(2)).plan(m).deltas) == ["delta-2-4", "delta-4-5"]
    assert paths(state(applied(2)).plan(m).snapshot_path()) == []


def test_plan_without_deltas_from_the_applied_version_takes_the_snapshot() -> None:
    plan = state(applied(2)).plan(manifest(5, 5, [(3, 4), (4, 5)]))
    assert plan.deltas is None
    assert paths(plan.snapshot_path()) == []


def test_unchained_snapshot_is_refused_only_when_the_snapshot_is_needed() -> None:
    m = manifest(5, 2, [(3, 4), (4, 5)])
    plan = state(applied(3)).plan(m)
    assert paths(plan.deltas) == ["delta-3-4", "delta-4-5"]
    with refusal(Unchained, "no deltas lead from snapshot version 2 to 5"):
        plan.snapshot_path()
    with refusal(Unchained, "snapshot version 2"):
        state().plan(m).snapshot_path()


def test_total_must_match_the_records_applied() -> None:
    m = manifest(5, 5, [])
    check_total(m, 4)
    with pytest.raises(CountMismatch, match="would hold 3 records, the manifest says 4"):
        check_total(m, 3)
