"""SPEC 4.3 sync, end to end: the real ``vicheck sync`` over a real HTTP server.

Every refusal is checked the same way (``expect_refused``): exit 6, the feed
``failed`` with a message for people, the other feed untouched, the cache exactly
as before (``db_dump``), and checks still answering from the old data. Bad files
and manifests are built with the project's own writer and correctly signed, so
the one thing wrong in each is the thing under test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from feeds.format import FileEntry
from feeds.model import month_index, month_text
from feeds.writer import (
    Vehicle,
    lift,
    remove,
    revoke,
    write_delta,
    write_items,
    write_snapshot,
)
from keys.keypair import KeyPair
from keys.trustlist import build_trust_list
from tests.support import (
    DAY,
    T0,
    YEAR,
    CliResult,
    Feed,
    World,
    at,
    db_dump,
    run_cli,
    standard_world,
)

# --- Fixtures: conftest's, torn down without the server's 0.5 s poll -------------


def fast_close(world: World) -> None:
    """Shut the test server down, waking its ``serve_forever`` poll instead of waiting
    it out (a second ``close`` by conftest is then immediate)."""
    httpd = world.server.httpd
    stopper = threading.Thread(target=httpd.shutdown)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(httpd.server_address[:2], timeout=1).close()
        stopper.join(0.01)
    world.close()


@pytest.fixture
def world(world: World) -> Iterator[World]:
    yield world
    fast_close(world)


@pytest.fixture
def empty_world(empty_world: World) -> Iterator[World]:
    yield empty_world
    fast_close(empty_world)


# --- The standard world's data (tests/support.py: standard_world) -------------

GX_V1 = [  # sorted by (plate, plate_type) bytes
    Vehicle("桂A00001", "02", "2027-06", "C", "K33"),
    Vehicle("桂A12345", "02", "2027-06", "A", "K33"),
    Vehicle("桂A54321", "02", None, "GI", "K33"),
    Vehicle("桂B88888", "02", "2026-03", "A", "K33"),
]
GX_V1_SERIALS = [b"revoked-serial-1"]
NEW = Vehicle("桂C11111", "02", "2028-01", "A", "K33")
SNAP2 = [*GX_V1, NEW]  # the usual good version 2: one vehicle more
SERIALS2 = [b"revoked-serial-1", b"revoked-serial-2"]
SNAPSHOT2 = "snapshot-2.cbor.gz"


def rows(vehicles: Iterable[Vehicle]) -> list[tuple[Any, ...]]:
    """Vehicles as ``db_dump`` shows them."""
    out = [
        (
            v.plate,
            v.plate_type,
            None if v.valid_through is None else month_index(v.valid_through),
            v.status,
            v.vehicle_type,
        )
        for v in vehicles
    ]
    return sorted(out)


def serial_rows(serials: Iterable[bytes]) -> list[tuple[bytes]]:
    return [(s,) for s in sorted(serials)]


# --- Publishing helpers -------------------------------------------------------


def publish(
    feed: Feed,
    version: int,
    snapshot: FileEntry,
    deltas: Iterable[FileEntry] = (),
    *,
    total: int,
    key: KeyPair | None = None,
    **manifest: Any,
) -> bytes:
    """Sign and write a manifest naming exactly these files."""
    feed.version = version
    feed.snapshot = snapshot
    feed.deltas = list(deltas)
    feed.total = total
    return feed.write(key=key, **manifest)


def publish_items(
    world: World,
    items: list[Any],
    *,
    header: Any = None,
    records: int | None = None,
    total: int | None = None,
    feed: str = "gx",
) -> None:
    """A snapshot of exactly these items as the feed's next version, correctly signed."""
    f = world.feeds[feed]
    version = f.version + 1
    count = len(items) if records is None else records
    if header is None:
        header = {1: f.feed, 2: version, 3: count}
    name = f"snapshot-{version}.cbor.gz"
    sha, size = write_items(f.directory / name, header, items)
    entry = FileEntry(name, sha, size, count, version)
    publish(f, version, entry, total=count if total is None else total)


def publish_bytes(world: World, data: bytes, records: int, feed: str = "gx") -> None:
    """Any bytes as the next snapshot, with a manifest declaring their real hash and size."""
    f = world.feeds[feed]
    version = f.version + 1
    name = f"snapshot-{version}.cbor.gz"
    (f.directory / name).write_bytes(data)
    entry = FileEntry(name, hashlib.sha256(data).digest(), len(data), records, version)
    publish(f, version, entry, total=records)


def publish_good_v2(world: World) -> None:
    world.feeds["gx"].publish_snapshot(SNAP2, SERIALS2)


def install_trust_list(
    world: World, version: int = 2, extra: Iterable[Any] = (), **kw: Any
) -> None:
    """Publish and sync a new trust list (nothing else changes), before the test proper."""
    entries = [*world.pki.default_entries(), *extra]
    world.publish_trust_list(version=version, entries=entries, **kw)
    result = world.sync()
    assert result.code == 0, result.out + result.err
    assert result.json["trust_list"] == {"status": "updated", "version": version}


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def sequence_bytes(header: Any, items: Iterable[Any]) -> bytes:
    return cbor2.dumps(header) + b"".join(cbor2.dumps(i) for i in items)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- Checking helpers ----------------------------------------------------------


def by_feed(result: CliResult) -> dict[str, dict[str, Any]]:
    return {f["feed"]: f for f in result.json["feeds"]}


def applied_version(dump: dict[str, Any], feed: str) -> int | None:
    for row in dump["feeds"]:
        if row[0] == feed:
            return row[3]
    return None


def request_bytes(world: World, feed: str, failed: Iterable[str] = ()) -> tuple[list[str], int]:
    """The files a feed's sync asked for, and what they weigh (503s weigh nothing)."""
    failed = set(failed)
    names = [p.rsplit("/", 1)[1] for p in world.server.requests if p.startswith(f"/feeds/{feed}/")]
    size = sum((world.root / "feeds" / feed / n).stat().st_size for n in names if n not in failed)
    return names, size


def assert_error_text(report: dict[str, Any]) -> None:
    error = report.get("error")
    assert isinstance(error, str) and error.strip(), report


def assert_answers_from(world: World, dump: dict[str, Any]) -> None:
    """Checks still answer from the cache ``dump`` shows: a vehicle of each feed, and a
    revoked serial."""
    for row in dump["feeds"]:
        feed = row[0]
        vehicles = dump[f"v:{feed}"]
        if not vehicles:
            continue
        plate, plate_type, month, status, vtype = vehicles[0]
        result = world.lookup(plate, plate_type)
        assert result.code in (0, 3, 4, 5), result.out + result.err
        expected = {
            "plate": plate,
            "plate_type": plate_type,
            "valid_through": None if month is None else month_text(month),
            "status": status,
            "vehicle_type": vtype,
            "feed": feed,
        }
        assert expected in result.json["vehicles"]
    serials = dump.get("s:gx") or []
    if serials:
        cert = world.pki.certificate(serial=serials[0][0])
        result = world.verify(cert)
        assert "REVOKED" in result.codes, result.out


def expect_refused(
    world: World, feed: str = "gx", *, also_failed: Iterable[str] = ()
) -> dict[str, Any]:
    """Sync once and check that ``feed`` (and ``also_failed``) is refused, nothing else
    moves, and the cache is exactly as it was."""
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    assert "Traceback" not in result.err
    reports = by_feed(result)
    failed = {feed, *also_failed}
    for name, report in reports.items():
        version = applied_version(before, name)
        if name in failed:
            assert report["status"] == "failed", report
            assert_error_text(report)
            assert report["from_version"] == version
            assert report["to_version"] == version
            assert report["method"] == "none"
        else:
            assert report["status"] == "current", report
            assert report["method"] == "none"
            assert report["from_version"] == report["to_version"] == version
            assert report["bytes"] > 0
            assert "error" not in report
    assert result.json["trust_list"]["status"] == "current"
    assert db_dump(world.data_dir) == before
    assert_answers_from(world, before)
    return reports[feed]


# --- Refusals: each builds a bad publication; expect_refused judges it ----------

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


# Snapshot contents (SPEC 4.2)


def veh(
    plate: Any = "桂C11111",
    plate_type: Any = "02",
    month: Any = "2028-01",
    status: Any = "A",
    vtype: Any = "K33",
) -> list[Any]:
    return [0, plate, plate_type, month, status, vtype]


V = [v.item() for v in GX_V1]
S = [[1, s] for s in SERIALS2]


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

GOOD2 = [*V, veh(), *S]
N2 = len(GOOD2)


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

GOOD2_SEQUENCE = sequence_bytes({1: "gx", 2: 2, 3: N2}, GOOD2)
GOOD2_GZIP = gz(GOOD2_SEQUENCE)


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


# --- Positive paths: SPEC 4.3 steps 2 and 4, and the JSON of section 7 ----------


def test_first_sync_takes_snapshot_then_its_deltas(empty_world: World) -> None:
    world = empty_world
    world.publish_trust_list()
    gx = world.feed("gx")
    gx.publish_snapshot(GX_V1, GX_V1_SERIALS)
    gx.publish_delta([NEW], 1)
    world.feed("hot", "hotlist", ["*"]).publish_snapshot([Vehicle("粤B99999", "02", None, "C")])
    assert world.init().code == 0
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0, result.out + result.err
    names, size = request_bytes(world, "gx")
    assert names == ["manifest.cose", "snapshot-1.cbor.gz", "delta-1-2.cbor.gz"]
    hot_names, hot_size = request_bytes(world, "hot")
    assert hot_names == ["manifest.cose", "snapshot-1.cbor.gz"]
    assert result.json == {
        "trust_list": {"status": "updated", "version": 1},
        "feeds": [
            {
                "feed": "gx",
                "status": "updated",
                "from_version": None,
                "to_version": 2,
                "method": "snapshot",
                "bytes": size,
            },
            {
                "feed": "hot",
                "status": "updated",
                "from_version": None,
                "to_version": 1,
                "method": "snapshot",
                "bytes": hot_size,
            },
        ],
    }
    dump = db_dump(world.data_dir)
    assert dump["v:gx"] == rows(SNAP2)
    assert dump["s:gx"] == serial_rows(GX_V1_SERIALS)


def test_equal_version_is_current(world: World) -> None:
    before = db_dump(world.data_dir)
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0
    feeds = by_feed(result)
    for name in ("gx", "hot"):
        names, size = request_bytes(world, name)
        assert names == ["manifest.cose"]
        assert size > 0
        assert feeds[name] == {
            "feed": name,
            "status": "current",
            "from_version": 1,
            "to_version": 1,
            "method": "none",
            "bytes": size,
        }
    assert result.json["trust_list"] == {"status": "current", "version": 1}
    assert db_dump(world.data_dir) == before


def test_delta_chain_applied_alone(world: World) -> None:
    gx = world.feeds["gx"]
    gx.publish_delta([NEW, revoke(b"revoked-serial-2")], 2)
    replaced = Vehicle("桂A12345", "02", "2028-06", "G", "K33")
    gx.publish_delta([remove("桂B88888", "02"), lift(b"revoked-serial-1"), replaced], -2)
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0, result.out
    names, size = request_bytes(world, "gx")
    assert names == ["manifest.cose", "delta-1-2.cbor.gz", "delta-2-3.cbor.gz"]
    assert by_feed(result)["gx"] == {
        "feed": "gx",
        "status": "updated",
        "from_version": 1,
        "to_version": 3,
        "method": "delta",
        "bytes": size,
    }
    assert by_feed(result)["hot"]["status"] == "current"
    dump = db_dump(world.data_dir)
    assert dump["v:gx"] == rows([GX_V1[0], replaced, GX_V1[2], NEW])
    assert dump["s:gx"] == serial_rows([b"revoked-serial-2"])
    assert dump["feeds"][0][1:] == ("full", '["桂"]', 3, T0 - 3600, T0 + 2 * DAY, 5)
    assert world.lookup("桂A12345", "02").json["vehicles"][0]["status"] == "G"


def _fallback_world(world: World, bad_delta: Callable[[Feed], FileEntry]) -> Vehicle:
    """Manifest 3: snapshot 2, deltas 1->2 (broken by ``bad_delta``) and 2->3."""
    gx = world.feeds["gx"]
    d12 = bad_delta(gx)
    snap2 = write_snapshot(gx.directory, "gx", 2, SNAP2, GX_V1_SERIALS)
    flagged = dataclasses.replace(NEW, status="K")
    d23 = write_delta(gx.directory, "gx", 2, 3, [flagged])
    publish(gx, 3, snap2, [d12, d23], total=len(SNAP2) + 1)
    return flagged


def _delta(*ops: Any) -> Callable[[Feed], FileEntry]:
    return lambda gx: write_delta(gx.directory, "gx", 1, 2, list(ops))


def _wrong_hash(gx: Feed) -> FileEntry:
    entry = write_delta(gx.directory, "gx", 1, 2, [NEW])
    return dataclasses.replace(entry, sha256=hashlib.sha256(b"not it").digest())


def _wrong_header(gx: Feed) -> FileEntry:
    name = "delta-1-2.cbor.gz"
    sha, size = write_items(gx.directory / name, {1: "gx", 2: 0, 3: 2, 4: 1}, [NEW.item()])
    return FileEntry(name, sha, size, 1, 2, 1)


FALLBACKS: dict[str, Callable[[Feed], FileEntry]] = {
    "wrong-hash": _wrong_hash,
    "wrong-header": _wrong_header,
    "removes-absent-vehicle": _delta(NEW, remove("桂Z99999", "02")),
    "revokes-revoked-serial": _delta(NEW, revoke(b"revoked-serial-1")),
    "lifts-absent-revocation": _delta(NEW, lift(b"never-revoked-01")),
    "malformed-record": _delta(NEW, veh("桂C22222", status="CC")),
    "snapshot-only-item": _delta(NEW, [7, b"zzzzzzzzzz"]),
}


@pytest.mark.parametrize("case", [*sorted(FALLBACKS), "delta-503"])
def test_failed_delta_path_falls_back_to_snapshot(world: World, case: str) -> None:
    failed: set[str] = set()
    if case == "delta-503":
        flagged = _fallback_world(world, _delta(NEW))
        failed = {"delta-1-2.cbor.gz"}
        world.server.behaviour["fail"] = failed
    else:
        flagged = _fallback_world(world, FALLBACKS[case])
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0, result.out + result.err
    names, size = request_bytes(world, "gx", failed)
    assert set(names) == {
        "manifest.cose",
        "delta-1-2.cbor.gz",
        "snapshot-2.cbor.gz",
        "delta-2-3.cbor.gz",
    }
    assert by_feed(result)["gx"] == {
        "feed": "gx",
        "status": "updated",
        "from_version": 1,
        "to_version": 3,
        "method": "snapshot",
        "bytes": size,
    }
    assert by_feed(result)["hot"]["status"] == "current"
    dump = db_dump(world.data_dir)
    assert dump["v:gx"] == rows([*GX_V1, flagged])
    assert dump["s:gx"] == serial_rows(GX_V1_SERIALS)
    assert "STATUS_K" in world.lookup("桂C11111", "02").codes


def test_deltas_leaving_wrong_count_are_discarded_for_snapshot(world: World) -> None:
    gx = world.feeds["gx"]
    extra = Vehicle("桂D22222", "02", "2028-01", "A", "K33")
    d12 = write_delta(gx.directory, "gx", 1, 2, [extra])  # would leave 6
    snap2 = write_snapshot(gx.directory, "gx", 2, [*GX_V1, extra], [])  # 5, as total says
    publish(gx, 2, snap2, [d12], total=5)
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0, result.out
    names, size = request_bytes(world, "gx")
    assert names == ["manifest.cose", "delta-1-2.cbor.gz", "snapshot-2.cbor.gz"]
    assert by_feed(result)["gx"] == {
        "feed": "gx",
        "status": "updated",
        "from_version": 1,
        "to_version": 2,
        "method": "snapshot",
        "bytes": size,
    }
    dump = db_dump(world.data_dir)
    assert dump["v:gx"] == rows([*GX_V1, extra])
    assert dump["s:gx"] == []
    assert "REVOKED" not in world.verify(world.pki.certificate(serial=b"revoked-serial-1")).codes


def test_gap_in_deltas_takes_snapshot_path(world: World) -> None:
    gx = world.feeds["gx"]
    snap2 = write_snapshot(gx.directory, "gx", 2, SNAP2, GX_V1_SERIALS)
    d23 = write_delta(gx.directory, "gx", 2, 3, [revoke(b"revoked-serial-2")])
    publish(gx, 3, snap2, [d23], total=len(SNAP2) + 2)
    world.server.requests.clear()
    result = world.sync()
    assert result.code == 0, result.out
    names, size = request_bytes(world, "gx")
    assert names == ["manifest.cose", "snapshot-2.cbor.gz", "delta-2-3.cbor.gz"]
    assert by_feed(result)["gx"] == {
        "feed": "gx",
        "status": "updated",
        "from_version": 1,
        "to_version": 3,
        "method": "snapshot",
        "bytes": size,
    }
    dump = db_dump(world.data_dir)
    assert dump["v:gx"] == rows(SNAP2)
    assert dump["s:gx"] == serial_rows(SERIALS2)


@pytest.mark.parametrize("generated_at", [T0 - 2 * YEAR, T0 + 2 * YEAR])
def test_key_window_includes_both_ends(world: World, generated_at: int) -> None:
    gx = world.feeds["gx"]
    gx.publish_snapshot(SNAP2, SERIALS2, generated_at=generated_at)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"
    assert db_dump(world.data_dir)["floor"] == [(max(generated_at, T0 - 3600),)]


# --- Trust list (SPEC 3 and 4.3) --------------------------------------------------


def _trust_503(world: World) -> None:
    world.server.behaviour["fail"] = {"trustlist.cose"}


def _trust_404(world: World) -> None:
    (world.root / "trustlist.cose").unlink()


def _trust_bad_signature(world: World) -> None:
    world.publish_trust_list(version=2)
    flip_byte(world.root / "trustlist.cose", (world.root / "trustlist.cose").stat().st_size - 1)


def _trust_not_root(world: World) -> None:
    data = build_trust_list(
        version=2,
        issued_at=T0 - DAY,
        expires_at=T0 + 30 * DAY,
        entries=world.pki.default_entries(),
        root=KeyPair.from_seed(b"not-root").signing_key,
    )
    (world.root / "trustlist.cose").write_bytes(data)


def _trust_garbage(world: World) -> None:
    (world.root / "trustlist.cose").write_bytes(b"\xa0")


def _trust_rollback(world: World) -> None:
    install_trust_list(world, version=2)
    world.publish_trust_list(version=1)


TRUST_FAILURES: dict[str, Callable[[World], None]] = {
    "503": _trust_503,
    "404": _trust_404,
    "bad-signature": _trust_bad_signature,
    "not-signed-by-root": _trust_not_root,
    "garbage": _trust_garbage,
    "rollback": _trust_rollback,
}


@pytest.mark.parametrize("case", sorted(TRUST_FAILURES))
def test_trust_list_failure_keeps_held_list_and_feeds_sync(world: World, case: str) -> None:
    TRUST_FAILURES[case](world)
    before = db_dump(world.data_dir)
    held = before["trust"][0][0]
    world.feeds["gx"].publish_delta([NEW], 1)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    trust = result.json["trust_list"]
    assert trust["status"] == "failed"
    assert trust["version"] == held
    assert_error_text(trust)
    feeds = by_feed(result)
    assert feeds["gx"]["status"] == "updated"
    assert feeds["gx"]["method"] == "delta"
    assert feeds["gx"]["to_version"] == 2
    assert feeds["hot"]["status"] == "current"
    after = db_dump(world.data_dir)
    assert after["trust"] == before["trust"]
    assert after["v:gx"] == rows(SNAP2)


@pytest.mark.parametrize("case", ["503", "bad-signature"])
def test_no_trust_list_ever_held_feeds_fail(empty_world: World, case: str) -> None:
    world = empty_world
    world.publish_trust_list()
    world.feed("gx").publish_snapshot(GX_V1, GX_V1_SERIALS)
    world.feed("hot", "hotlist", ["*"]).publish_snapshot([Vehicle("粤B99999", "02", None, "C")])
    assert world.init().code == 0
    TRUST_FAILURES[case](world)
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    trust = result.json["trust_list"]
    assert trust["status"] == "failed" and trust["version"] is None
    assert_error_text(trust)
    for name, report in by_feed(result).items():
        assert report["status"] == "failed", name
        assert_error_text(report)
        assert report["from_version"] is None and report["to_version"] is None
        assert report["method"] == "none"
    assert db_dump(world.data_dir) == before
    assert world.verify(world.pki.certificate()).codes == ["NO_TRUST_LIST"]
    # Once a good trust list is served, everything syncs.
    world.server.behaviour.clear()
    world.publish_trust_list()
    assert world.sync().code == 0


def test_new_trust_list_revoking_feed_key_fails_next_update(world: World) -> None:
    entries = [
        world.pki.entry(world.pki.gui, "cert", ["桂"]),
        world.pki.entry(world.pki.yue, "cert", ["粤"]),
        world.pki.entry(world.pki.feed, "feed", ["*"], revoked=True),
    ]
    world.publish_trust_list(version=2, entries=entries)
    world.feeds["gx"].publish_delta([NEW], 1)
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code == 6, result.out
    assert result.json["trust_list"] == {"status": "updated", "version": 2}
    feeds = by_feed(result)
    # SPEC 4.3 step 1 verifies every manifest before comparing versions: hot's too.
    for name in ("gx", "hot"):
        assert feeds[name]["status"] == "failed", feeds[name]
        assert_error_text(feeds[name])
        assert feeds[name]["from_version"] == feeds[name]["to_version"] == 1
    after = db_dump(world.data_dir)
    assert after["trust"][0][0] == 2
    assert {k: v for k, v in after.items() if k != "trust"} == {
        k: v for k, v in before.items() if k != "trust"
    }
    assert_answers_from(world, before)


# --- Expiry and the clock floor (SPEC 3, 4.3 step 5, clock floor) ---------------


def test_expired_manifest_is_applied_then_stale(world: World) -> None:
    gx = world.feeds["gx"]
    gx.publish_snapshot(SNAP2, SERIALS2, generated_at=T0 - 3 * DAY, expires_at=T0 - DAY)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"
    assert by_feed(result)["gx"]["to_version"] == 2
    stale = world.lookup("桂C11111", "02")
    assert stale.codes == ["CACHE_STALE"]
    assert stale.json["verdict"] == "CHECK"
    assert "CACHE_STALE" in world.verify(world.pki.certificate()).codes
    assert world.lookup("桂C11111", "02", t=T0 - 2 * DAY).codes == []
    assert "CACHE_STALE" not in world.lookup("粤B99999", "02").codes  # not covered by gx


def test_expired_trust_list_is_applied_then_stale(world: World) -> None:
    world.publish_trust_list(version=2, issued_at=T0 - 10 * DAY, expires_at=T0 - DAY)
    result = world.sync()
    assert result.code == 0, result.out
    assert result.json["trust_list"] == {"status": "updated", "version": 2}
    assert "TRUST_STALE" in world.verify(world.pki.certificate()).codes


def _checked_at(result: CliResult) -> float:
    return datetime.fromisoformat(result.json["checked_at"]).timestamp()


def test_clock_floor_from_future_manifest(world: World) -> None:
    future = int(time.time()) + 30 * DAY
    entries = [
        world.pki.entry(world.pki.gui, "cert", ["桂"]),
        world.pki.entry(world.pki.yue, "cert", ["粤"]),
        world.pki.entry(world.pki.feed, "feed", ["*"], not_after=future + YEAR),
    ]
    world.publish_trust_list(version=2, entries=entries)
    world.feeds["gx"].publish_snapshot(
        SNAP2, SERIALS2, generated_at=future, expires_at=future + DAY
    )
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"
    cert = world.pki.certificate()
    unpinned = run_cli("verify", "--json", cert, data_dir=world.data_dir)
    assert _checked_at(unpinned) >= future
    looked = run_cli("lookup", "--json", "桂A12345", data_dir=world.data_dir)
    assert _checked_at(looked) >= future
    pinned = run_cli("verify", "--json", "--at", at(T0), cert, data_dir=world.data_dir)
    assert _checked_at(pinned) == T0
    assert pinned.json["checked_at"] == at(T0)


# --- Fuzzing the feed parser through a real sync -----------------------------------


@pytest.mark.parametrize("layer", ["gzip", "cbor"])
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["set", "insert", "delete"]),
            st.integers(0, 1 << 16),
            st.integers(0, 255),
        ),
        min_size=0,
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
)
def test_fuzzed_snapshot_is_refused_or_applied(
    layer: str, edits: list[tuple[str, int, int]], cut: int | None
) -> None:
    data = bytearray(GOOD2_GZIP if layer == "gzip" else GOOD2_SEQUENCE)
    for op, pos, value in edits:
        i = pos % (len(data) + 1)
        if op == "insert":
            data[i:i] = bytes([value])
        elif data and i < len(data):
            if op == "set":
                data[i] = value
            else:
                del data[i]
    if cut is not None and data:
        del data[cut % len(data) :]
    payload = bytes(data) if layer == "gzip" else gz(bytes(data))
    with tempfile.TemporaryDirectory() as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0
            assert world.sync().code == 0
            publish_bytes(world, payload, N2)
            before = db_dump(world.data_dir)
            result = world.sync()
            assert result.code in (0, 6), result.out + result.err
            assert "Traceback" not in result.err
            gx = by_feed(result)["gx"]
            assert by_feed(result)["hot"]["status"] == "current"
            if result.code == 6:
                assert gx["status"] == "failed"
                assert_error_text(gx)
                assert db_dump(world.data_dir) == before
                assert_answers_from(world, before)
            else:
                assert gx["status"] == "updated" and gx["method"] == "snapshot"
                assert gx["to_version"] == 2
                assert world.lookup("桂A12345", "02").code in (0, 3, 4, 5)
        finally:
            fast_close(world)


def test_sync_is_logged_in_the_data_dir(world: World) -> None:
    log = world.data_dir / "logs" / "sync.jsonl"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    assert lines[0]["trust_list"]["status"] == "updated"
    assert {f["feed"]: f["status"] for f in lines[0]["feeds"]} == {
        "gx": "updated",
        "hot": "updated",
    }
    world.sync()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_long_legal_file_names_and_content_encoding(world: World) -> None:
    """A path of any legal length syncs; a server that labels .gz files with
    Content-Encoding: gzip does not change the bytes that are counted and hashed."""
    gx = world.feeds["gx"]
    name = "s" * 240 + ".cbor.gz"
    gx.version += 1
    gx.snapshot = write_snapshot(
        gx.directory, "gx", gx.version, [Vehicle("桂A77777", "02", "2027-06")], [], name=name
    )
    gx.deltas, gx.total = [], 1
    gx.write()
    world.server.behaviour["encoding"] = "gzip"
    result = world.sync()
    assert result.code == 0, result.out
    assert world.lookup("桂A77777").json["verdict"] == "VALID"


def test_unusable_server_url_is_refused_at_init(empty_world: World) -> None:
    bad = run_cli(
        "init",
        "--root-key",
        empty_world.pki.root.public.hex(),
        "--server",
        "http://[::1",
        "--feed",
        "gx",
        data_dir=empty_world.data_dir,
    )
    assert bad.code == 2 and "not an http(s) URL" in bad.err
