"""SPEC 4.3 steps 2 and 4 through the real ``vicheck sync``: snapshot, then deltas,
delta chains alone, fallback from a failed delta path to the snapshot, and the JSON
of section 7."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from feeds.format import FileEntry
from feeds.writer import (
    Vehicle,
    lift,
    remove,
    revoke,
    write_delta,
    write_items,
    write_snapshot,
)
from tests.support import (
    DAY,
    T0,
    YEAR,
    Feed,
    World,
    db_dump,
)
from tests.support.sync import (
    GX_V1,
    GX_V1_SERIALS,
    NEW,
    SERIALS2,
    SNAP2,
    by_feed,
    publish,
    request_bytes,
    rows,
    serial_rows,
    veh,
)


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
