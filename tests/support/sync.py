"""Helpers of the sync tests: the standard world's data, publishing bad and good
versions, and ``expect_refused``, which judges a refusal the one way SPEC 4.3 wants:
exit 6, the feed failed with a message for people, the other feed untouched, the
cache exactly as before and checks still answering from the old data."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cbor2

from feeds.format import FileEntry
from feeds.model import month_index, month_text
from feeds.writer import (
    Vehicle,
    write_items,
)
from keys.keypair import KeyPair
from tests.support import (
    CliResult,
    Feed,
    World,
    db_dump,
)

# --- The standard world's data (devkit/world.py: standard_world) -------------

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
GOOD2 = [*V, veh(), *S]
N2 = len(GOOD2)
GOOD2_SEQUENCE = sequence_bytes({1: "gx", 2: 2, 3: N2}, GOOD2)
GOOD2_GZIP = gz(GOOD2_SEQUENCE)
