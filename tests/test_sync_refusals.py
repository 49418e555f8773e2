"""SPEC 4.3 sync refusals, end to end: the real ``vicheck sync`` over a real HTTP server.

Each case builds one bad publication (a download, a manifest, a key's authority,
snapshot contents, gzip, paths, chains) with the project's own writer, correctly
signed, so the one thing wrong in each is the thing under test; ``expect_refused``
judges them all the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest

from feeds.format import FileEntry
from feeds.writer import (
    Vehicle,
    lift,
    revoke,
    write_delta,
    write_items,
    write_snapshot,
)
from keys.keypair import KeyPair
from tests.support import (
    T0,
    YEAR,
    World,
)
from tests.support.sync import (
    GOOD2,
    GOOD2_GZIP,
    GOOD2_SEQUENCE,
    GX_V1_SERIALS,
    N2,
    NEW,
    SERIALS2,
    SNAP2,
    SNAPSHOT2,
    S,
    V,
    by_feed,
    expect_refused,
    flip_byte,
    gz,
    install_trust_list,
    publish,
    publish_bytes,
    publish_good_v2,
    publish_items,
    veh,
)

REFUSALS: dict[str, Callable[[World], None]] = {}


def refusal(name: str) -> Callable[[Callable[[World], None]], Callable[[World], None]]:
    def register(fn: Callable[[World], None]) -> Callable[[World], None]:
        REFUSALS[name] = fn
        return fn

    return register


# Downloads (SPEC 4.3 step 3)


@refusal("download-tampered-after-signing")
def _tampered(world: World) -> None:
    publish_good_v2(world)
    path = world.feeds["gx"].directory / SNAPSHOT2
    flip_byte(path, path.stat().st_size // 2)


@refusal("download-longer-than-declared")
def _longer(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour["append"] = {SNAPSHOT2: b"\x00" * 64}


@refusal("download-longer-on-disk")
def _longer_on_disk(world: World) -> None:
    publish_good_v2(world)  # the server then announces the longer length honestly
    with open(world.feeds["gx"].directory / SNAPSHOT2, "ab") as out:
        out.write(b"\x00" * 64)


@refusal("download-shorter-than-declared")
def _shorter(world: World) -> None:
    publish_good_v2(world)
    path = world.feeds["gx"].directory / SNAPSHOT2
    path.write_bytes(path.read_bytes()[:-10])


@refusal("download-snapshot-503")
def _snapshot_503(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour["fail"] = {SNAPSHOT2}


@refusal("download-snapshot-404")
def _snapshot_404(world: World) -> None:
    publish_good_v2(world)
    (world.feeds["gx"].directory / SNAPSHOT2).unlink()


@refusal("download-manifest-404")
def _manifest_404(world: World) -> None:
    publish_good_v2(world)
    (world.feeds["gx"].directory / "manifest.cose").unlink()


@refusal("download-delta-503-needed-by-both-paths")
def _delta_503(world: World) -> None:
    world.feeds["gx"].publish_delta([NEW], 1)  # snapshot 1 + delta 1->2: both paths need it
    world.server.behaviour["fail"] = {"delta-1-2.cbor.gz"}


# Manifests (SPEC 4.3 step 1, section 4 and 4.1)


@refusal("manifest-rollback")
def _rollback(world: World) -> None:
    gx = world.feeds["gx"]
    old = (gx.directory / "manifest.cose").read_bytes()  # version 1, validly signed
    publish_good_v2(world)
    result = world.sync()
    assert result.code == 0 and by_feed(result)["gx"]["to_version"] == 2
    (gx.directory / "manifest.cose").write_bytes(old)  # replayed


@refusal("manifest-rollback-freshly-signed")
def _rollback_signed(world: World) -> None:
    gx = world.feeds["gx"]
    v1, total = gx.snapshot, gx.total
    assert v1 is not None
    publish_good_v2(world)
    assert world.sync().code == 0
    publish(gx, 1, v1, total=total, generated_at=T0)


@refusal("manifest-wrong-feed-id")
def _wrong_feed(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(feed="gd")


@refusal("manifest-kind-change")
def _kind_change(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(kind="hotlist", scope=["*"])


@refusal("manifest-key-role-cert")
def _role_cert(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(key=world.pki.gui)


@refusal("manifest-key-scope-other-feed")
def _scope_gd(world: World) -> None:
    gd = KeyPair.from_seed(b"feed-gd")
    install_trust_list(world, extra=[world.pki.entry(gd, "feed", ["gd"])])
    publish_good_v2(world)
    world.feeds["gx"].write(key=gd)


@refusal("manifest-key-scope-plate-prefix")
def _scope_prefix(world: World) -> None:
    # A feed scope names feed ids exactly; "g" is not a prefix match for "gx".
    g = KeyPair.from_seed(b"feed-g")
    install_trust_list(world, extra=[world.pki.entry(g, "feed", ["g"])])
    publish_good_v2(world)
    world.feeds["gx"].write(key=g)


@refusal("manifest-key-revoked")
def _revoked_key(world: World) -> None:
    old = KeyPair.from_seed(b"feed-old")
    install_trust_list(world, extra=[world.pki.entry(old, "feed", ["*"], revoked=True)])
    publish_good_v2(world)
    world.feeds["gx"].write(key=old)


# A feed key's authority over plates (SPEC 1.1: key entry 8 covers, 4.3 step 1)


def feed_key_with_covers(world: World, seed: bytes, covers: list[str]) -> KeyPair:
    """A second feed key for every feed, covering only ``covers``, synced in."""
    key = KeyPair.from_seed(seed)
    install_trust_list(world, extra=[world.pki.entry(key, "feed", ["*"], covers=covers)])
    return key


@refusal("manifest-key-covers-nothing")
def _covers_nothing(world: World) -> None:
    # The review's attack: a feed key scoped to the feed, covering no plates.
    key = feed_key_with_covers(world, b"feed-no-covers", [])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key)


@refusal("manifest-key-covers-nothing-scope-empty")
def _covers_nothing_empty_scope(world: World) -> None:
    # The review's case: a key without covers signing a "full" feed of no prefix, whose
    # revoked serials would then reach every certificate.
    key = feed_key_with_covers(world, b"feed-no-covers-2", [])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key, scope=[])


@refusal("manifest-key-covers-other-province")
def _covers_other(world: World) -> None:
    key = feed_key_with_covers(world, b"feed-yue", ["粤"])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key)


@refusal("manifest-scope-beyond-covers")
def _scope_beyond(world: World) -> None:
    key = feed_key_with_covers(world, b"feed-gui", ["桂"])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key, scope=["桂", "粤"])


@refusal("manifest-scope-star-needs-covers-star")
def _scope_star(world: World) -> None:
    key = feed_key_with_covers(world, b"feed-gui-a", ["桂", "粤"])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key, scope=["*"])


@refusal("manifest-key-covers-malformed")
def _covers_malformed(world: World) -> None:
    # An entry whose covers is not an array of non-empty text is malformed, so ignored:
    # its key is then unknown to the trust list.
    key = KeyPair.from_seed(b"feed-bad-covers")
    entry = world.pki.entry(key, "feed", ["*"])._replace(covers=("桂", ""))
    install_trust_list(world, extra=[entry])
    publish_good_v2(world)
    world.feeds["gx"].write(key=key)


@refusal("manifest-generated-before-key-window")
def _before_window(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(generated_at=T0 - 2 * YEAR - 1)


@refusal("manifest-generated-after-key-window")
def _after_window(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(generated_at=T0 + 2 * YEAR + 1)


@refusal("manifest-bad-signature")
def _bad_signature(world: World) -> None:
    publish_good_v2(world)
    path = world.feeds["gx"].directory / "manifest.cose"
    flip_byte(path, path.stat().st_size - 1)  # the last byte of the signature


@refusal("manifest-key-not-in-trust-list")
def _stranger(world: World) -> None:
    publish_good_v2(world)
    world.feeds["gx"].write(key=KeyPair.from_seed(b"stranger"))


@refusal("manifest-snapshot-newer-than-manifest")
def _snapshot_newer(world: World) -> None:
    gx = world.feeds["gx"]
    entry = write_snapshot(gx.directory, "gx", 3, SNAP2, SERIALS2)
    publish(gx, 2, entry, total=len(SNAP2) + len(SERIALS2))


def with_last(item: Any) -> list[Any]:
    """The good version 2 with its last vehicle (sorted after all others) replaced."""
    return [*V, item, *S]


BAD_ITEMS: dict[str, list[Any]] = {
    "vehicles-unsorted": [V[1], V[0], *V[2:], veh(), *S],
    "plate-types-unsorted": [*V, veh(plate_type="02"), veh(plate_type="01"), *S],
    "vehicle-duplicate": [*V, veh(), veh(), *S],
    "vehicle-duplicate-key": [*V, veh(), veh(status="C"), *S],
    "serials-unsorted": [*V, veh(), S[1], S[0]],
    "serial-duplicate": [*V, veh(), *S, S[1]],
    "vehicle-after-serial": [*V, *S, veh()],
    "plate-short": with_last(veh("桂C1111")),
    "plate-no-province": with_last(veh("龍C11111")),
    "plate-letter-I": with_last(veh("桂I11111")),
    "plate-lowercase": with_last(veh("桂c11111")),
    "plate-separator": with_last(veh("桂C·11111")),
    "plate-space": with_last(veh("桂C 11111")),
    "plate-fullwidth": with_last(veh("桂Ｃ11111")),
    "plate-bytes": with_last(veh("桂C11111".encode())),
    "plate-int": with_last(veh(11111)),
    "plate-type-one-digit": with_last(veh(plate_type="2")),
    "plate-type-three-digits": with_last(veh(plate_type="002")),
    "plate-type-letter": with_last(veh(plate_type="0A")),
    "plate-type-fullwidth": with_last(veh(plate_type="０２")),
    "plate-type-int": with_last(veh(plate_type=2)),
    "plate-type-array": with_last(veh(plate_type=["02"])),
    "month-13": with_last(veh(month="2026-13")),
    "month-00": with_last(veh(month="2026-00")),
    "month-one-digit": with_last(veh(month="2026-1")),
    "month-no-dash": with_last(veh(month="202601")),
    "month-with-day": with_last(veh(month="2026-01-01")),
    "month-int": with_last(veh(month=202601)),
    "month-array": with_last(veh(month=["2026-01"])),
    "status-A-not-alone": with_last(veh(status="AB")),
    "status-A-last": with_last(veh(status="CA")),
    "status-duplicate-letter": with_last(veh(status="CC")),
    "status-empty": with_last(veh(status="")),
    "status-nine-letters": with_last(veh(status="BCDEFGHIJ")),
    "status-lowercase": with_last(veh(status="c")),
    "status-fullwidth": with_last(veh(status="Ｃ")),
    "status-int": with_last(veh(status=3)),
    "status-null": with_last(veh(status=None)),
    "status-array": with_last(veh(status=["C"])),
    "vehicle-type-int": with_last(veh(vtype=33)),
    "vehicle-type-map": with_last(veh(vtype={"k": 1})),
    "vehicle-five-elements": with_last(veh()[:5]),
    "vehicle-seven-elements": with_last([*veh(), None]),
    "revoke-three-elements": [*V, veh(), S[0], [1, SERIALS2[1], 0]],
    "revoke-one-element": [*V, veh(), S[0], [1]],
    "serial-7-bytes": [*V, veh(), *S, [1, b"z" * 7]],
    "serial-17-bytes": [*V, veh(), *S, [1, b"z" * 17]],
    "serial-text": [*V, veh(), *S, [1, "zzzzzzzzzz"]],
    "tag-unknown": [*V, veh(), *S, [4, b"z" * 10]],
    "tag-negative": [*V, veh(), *S, [-1, b"z" * 10]],
    "tag-text": [*V, veh(), *S, ["1", b"z" * 10]],
    "tag-bool": [*V, veh(), *S, [True, b"z" * 10]],
    "item-not-array": [*V, veh(), *S, 1],
    "item-map": [*V, veh(), *S, {0: "桂C11112"}],
    "item-empty-array": [*V, veh(), *S, []],
    "delta-remove-in-snapshot": [*V, veh(), *S, [2, "桂A12345", "02"]],
    "delta-lift-in-snapshot": [*V, veh(), *S, [3, b"revoked-serial-1"]],
}


def _items_case(items: list[Any]) -> Callable[[World], None]:
    return lambda world: publish_items(world, items)


for _name, _items in BAD_ITEMS.items():
    REFUSALS[f"snapshot-{_name}"] = _items_case(_items)


def _header_case(header: Any) -> Callable[[World], None]:
    return lambda world: publish_items(world, GOOD2, header=header)


for _name, _header in {
    "wrong-feed": {1: "gd", 2: 2, 3: N2},
    "wrong-version-newer": {1: "gx", 2: 3, 3: N2},
    "wrong-version-older": {1: "gx", 2: 1, 3: N2},
    "wrong-count-more": {1: "gx", 2: 2, 3: N2 + 1},
    "wrong-count-fewer": {1: "gx", 2: 2, 3: N2 - 1},
    "version-text": {1: "gx", 2: "2", 3: N2},
    "count-missing": {1: "gx", 2: 2},
    "not-a-map": ["gx", 2, N2],
}.items():
    REFUSALS[f"snapshot-header-{_name}"] = _header_case(_header)

# Header and manifest agree on a count the items do not have.
REFUSALS["snapshot-fewer-items-than-records"] = lambda w: publish_items(w, GOOD2[:-1], records=N2)
REFUSALS["snapshot-more-items-than-records"] = lambda w: publish_items(
    w, [*GOOD2, [1, b"zzzzzzzzzz"]], records=N2
)
REFUSALS["snapshot-trailing-header"] = lambda w: publish_items(
    w, [*GOOD2, {1: "gx", 2: 2, 3: N2}], records=N2
)
REFUSALS["snapshot-no-items"] = lambda w: publish_items(w, [], records=N2)


def _random_bytes(n: int) -> bytes:
    out, block = b"", b"seed"
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


def _bad_deflate_block() -> bytes:
    data = bytearray(GOOD2_GZIP)
    data[10] = 0x07  # first deflate block: BFINAL=1, BTYPE=11 (reserved, invalid)
    return bytes(data)


def _bad_crc() -> bytes:
    data = bytearray(GOOD2_GZIP)
    data[-8] ^= 0x01
    return bytes(data)


for _name, _data in {
    "random-bytes": _random_bytes(len(GOOD2_GZIP)),
    "empty-file": b"",
    "truncated-half": GOOD2_GZIP[: len(GOOD2_GZIP) // 2],
    "truncated-no-trailer": GOOD2_GZIP[:-8],
    "bad-deflate-block": _bad_deflate_block(),
    "bad-crc": _bad_crc(),
    "not-compressed": GOOD2_SEQUENCE,
    "trailing-partial-cbor": gz(GOOD2_SEQUENCE + b"\x19"),
    "trailing-break-byte": gz(GOOD2_SEQUENCE + b"\xff"),
    "second-gzip-member": GOOD2_GZIP + gz(cbor2.dumps([1, b"zzzzzzzzzz"])),
}.items():
    REFUSALS[f"snapshot-gzip-{_name}"] = (lambda d: lambda w: publish_bytes(w, d, N2))(_data)

# SPEC 4.3 step 4: a snapshot path that ends with a count other than total fails.
REFUSALS["snapshot-total-more-than-records"] = lambda w: publish_items(w, GOOD2, total=N2 + 1)
REFUSALS["snapshot-total-fewer-than-records"] = lambda w: publish_items(w, GOOD2, total=N2 - 1)


# Paths (SPEC 4.1): the file is really there, a lax client would find it.


def _path_case(path: str, place: Callable[[World], Path | None]) -> Callable[[World], None]:
    def case(world: World) -> None:
        gx = world.feeds["gx"]
        good = write_snapshot(gx.directory, "gx", 2, SNAP2, SERIALS2)
        target = place(world)
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((gx.directory / good.path).read_bytes())
        publish(gx, 2, dataclasses.replace(good, path=path), total=good.records)

    return case


for _name, _path, _place in [
    ("dotdot-slash-x", "../x", lambda w: w.root / "feeds" / "x"),
    ("dotdot", "..", lambda w: None),
    ("dot", ".", lambda w: None),
    ("subdirectory", "a/b", lambda w: w.root / "feeds" / "gx" / "a" / "b"),
    ("absolute", "/x", lambda w: w.root / "x"),
    ("empty", "", lambda w: None),
    ("backslash", "a\\b", lambda w: w.root / "feeds" / "gx" / "a\\b"),
    ("query", "x?y", lambda w: w.root / "feeds" / "gx" / "x"),
    ("percent", "%2e%2e", lambda w: None),
]:
    REFUSALS[f"path-{_name}"] = _path_case(_path, _place)


@refusal("path-delta-dotdot")
def _delta_path(world: World) -> None:
    gx = world.feeds["gx"]
    good = write_delta(gx.directory, "gx", 1, 2, [NEW])
    (world.root / "feeds" / "d").write_bytes((gx.directory / good.path).read_bytes())
    assert gx.snapshot is not None
    publish(gx, 2, gx.snapshot, [dataclasses.replace(good, path="../d")], total=gx.total + 1)


# Chains (SPEC 4.1, 4.3 steps 2 and 4)


@refusal("chain-impossible-from-applied-and-snapshot")
def _no_chain(world: World) -> None:
    gx = world.feeds["gx"]
    assert gx.snapshot is not None
    d23 = write_delta(gx.directory, "gx", 2, 3, [NEW])
    publish(gx, 3, gx.snapshot, [d23], total=gx.total + 1)


@refusal("chain-from-snapshot-stops-short")
def _short_chain(world: World) -> None:
    gx = world.feeds["gx"]
    snap2 = write_snapshot(gx.directory, "gx", 2, SNAP2, GX_V1_SERIALS)
    d34 = write_delta(gx.directory, "gx", 3, 4, [revoke(b"revoked-serial-2")])
    publish(gx, 4, snap2, [d34], total=len(SNAP2) + 2)


@refusal("chain-both-paths-need-a-bad-delta")
def _both_paths_bad(world: World) -> None:
    gx = world.feeds["gx"]
    assert gx.snapshot is not None
    d12 = write_delta(gx.directory, "gx", 1, 2, [NEW])
    bad = dataclasses.replace(d12, sha256=hashlib.sha256(b"not it").digest())
    publish(gx, 2, gx.snapshot, [bad], total=gx.total + 1)


@refusal("chain-both-paths-total-mismatch")
def _both_paths_total(world: World) -> None:
    gx = world.feeds["gx"]
    assert gx.snapshot is not None
    d12 = write_delta(gx.directory, "gx", 1, 2, [NEW])
    publish(gx, 2, gx.snapshot, [d12], total=gx.total + 2)


@refusal("chain-snapshot-then-bad-delta")
def _snapshot_then_bad_delta(world: World) -> None:
    # No delta path from 1; the snapshot path's delta lifts a revocation that is absent.
    gx = world.feeds["gx"]
    snap2 = write_snapshot(gx.directory, "gx", 2, SNAP2, GX_V1_SERIALS)
    d23 = write_delta(gx.directory, "gx", 2, 3, [lift(b"never-revoked-01")])
    publish(gx, 3, snap2, [d23], total=len(SNAP2))


@refusal("chain-delta-header-mismatch-on-snapshot-path")
def _delta_header(world: World) -> None:
    gx = world.feeds["gx"]
    snap2 = write_snapshot(gx.directory, "gx", 2, SNAP2, GX_V1_SERIALS)
    name = "delta-2-3.cbor.gz"
    sha, size = write_items(gx.directory / name, {1: "gx", 2: 1, 3: 3, 4: 1}, [NEW.item()])
    d23 = FileEntry(name, sha, size, 1, 3, 2)
    publish(gx, 3, snap2, [d23], total=len(SNAP2) + 1)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_feed_leaves_cache_unchanged(world: World, case: str) -> None:
    REFUSALS[case](world)
    expect_refused(world, "gx")


def test_refused_hotlist_leaves_other_feed_alone(world: World) -> None:
    hot = world.feeds["hot"]
    hot.publish_snapshot([Vehicle("粤B99999", "02", "2027-06", "C", "K33")])
    hot.write(kind="full")  # a hotlist never becomes a full feed
    expect_refused(world, "hot")
    gui = Vehicle("桂A00001", "02", None, "C").item()
    yue = Vehicle("粤B99999", "02", "2027-06", "C", "K33").item()
    publish_items(world, [yue, gui], feed="hot")  # 粤 (U+7CA4) sorts after 桂 (U+6842)
    expect_refused(world, "hot")


@pytest.mark.parametrize("status", ["A", "Q", "GI", "BDHO", "Z"])
def test_hotlist_record_without_alert_letter_is_refused(world: World, status: str) -> None:
    """SPEC 1.1: every vehicle of a hotlist file carries an alert letter, in a
    snapshot and in a delta; a file with any other vehicle is malformed."""
    hot = world.feeds["hot"]
    good = Vehicle("粤B99999", "02", "2027-06", "C", "K33")
    hot.publish_snapshot([good, Vehicle("粤B99998", "02", "2099-12", status, "K33")])
    expect_refused(world, "hot")
    hot.publish_delta([Vehicle("粤B99997", "02", "2099-12", status, "K33")], 1)
    expect_refused(world, "hot")


def test_hotlist_records_with_alert_letters_are_applied(world: World) -> None:
    hot = world.feeds["hot"]
    hot.publish_delta([Vehicle("粤B11111", "02", "2030-01", "GK", None)], 1)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["hot"]["method"] == "delta"
    assert {"feed": "hot", "status": "GK"}.items() <= world.lookup("粤B11111").json["vehicles"][
        0
    ].items()


@pytest.mark.parametrize(
    ("covers", "scope"),
    [(["桂"], ["桂"]), (["桂"], ["桂A", "桂B"]), (["*"], ["*"]), (["桂A", "粤"], ["桂A"])],
)
def test_scope_within_covers_is_applied(world: World, covers: list[str], scope: list[str]) -> None:
    key = feed_key_with_covers(world, b"feed-covers-ok", covers)
    publish_good_v2(world)
    world.feeds["gx"].write(key=key, scope=scope)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"


def test_feed_key_without_covers_signs_hotlists(world: World) -> None:
    """Covers absent means none: such a key still signs a hotlist (it covers nothing)."""
    key = feed_key_with_covers(world, b"feed-hot-only", [])
    hot = world.feeds["hot"]
    hot.key = key
    hot.publish_delta([Vehicle("粤B22222", "02", None, "N", None)], 1)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["hot"]["status"] == "updated"


def test_manifest_503_fails_every_feed_and_changes_nothing(world: World) -> None:
    # The test server fails by file name, and every feed's manifest is manifest.cose.
    publish_good_v2(world)
    world.server.behaviour["fail"] = {"manifest.cose"}
    expect_refused(world, "gx", also_failed=["hot"])
