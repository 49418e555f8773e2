"""The delta overlay (``cache.schema``): deltas land in a small per-slot table that
shadows the base, and are merged into it now and then. None of that may show: a
check sees exactly what applying every operation in place would have given, by
the delta path or the snapshot path, before a merge or after it, and an older
cache is brought up to the overlay schema without a sync.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cache.apply
from cache.apply import CacheWriter, merge_limit
from cache.schema import SCHEMA_VERSION, overlay_table
from feeds.model import month_index
from feeds.writer import Vehicle, remove
from tests.support import World, db_dump, run_cli, standard_world

KEYS = [(f"桂A{n:05d}", t) for n in range(6) for t in ("02", "52")]
STANDARD_GX = {
    ("桂A12345", "02"): Vehicle("桂A12345", "02", "2027-06", "A", "K33"),
    ("桂A00001", "02"): Vehicle("桂A00001", "02", "2027-06", "C", "K33"),
    ("桂B88888", "02"): Vehicle("桂B88888", "02", "2026-03", "A", "K33"),
    ("桂A54321", "02"): Vehicle("桂A54321", "02", None, "GI", "K33"),
}


def expected_rows(model: dict[tuple[str, str], Vehicle]) -> list[tuple[Any, ...]]:
    return [
        (
            v.plate,
            v.plate_type,
            None if v.valid_through is None else month_index(v.valid_through),
            v.status,
            v.vehicle_type,
        )
        for _, v in sorted(model.items(), key=lambda kv: (kv[0][0].encode(), kv[0][1].encode()))
    ]


def overlay_count(data_dir: Path, feed: str = "gx") -> int:
    conn = sqlite3.connect(data_dir / "vicheck.db")
    try:
        (slot,) = conn.execute("SELECT slot FROM feeds WHERE feed = ?", (feed,)).fetchone()
        return conn.execute(f"SELECT count(*) FROM {overlay_table(slot)}").fetchone()[0]
    finally:
        conn.close()


def random_day(rng: random.Random, model: dict[tuple[str, str], Vehicle]) -> tuple[list[Any], int]:
    """One delta of 1-5 operations on a few keys, applied to ``model`` as it goes.

    The same key may come back within a delta (added, then removed, then added),
    which is what makes the order of operations matter."""
    ops: list[Any] = []
    before = len(model)
    for _ in range(rng.randint(1, 5)):
        key = rng.choice(KEYS + list(model))
        if key in model and rng.random() < 0.4:
            ops.append(remove(*key))
            del model[key]
        else:
            month = f"20{rng.randint(26, 30)}-{rng.randint(1, 12):02d}"
            status = rng.choice(["A", "A", "G", "C", "GI"])
            vehicle = Vehicle(key[0], key[1], rng.choice([month, None]), status, "K33")
            ops.append(vehicle)
            model[key] = vehicle
    return ops, len(model) - before


@pytest.fixture
def fresh_terminal(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "second-terminal"


@pytest.mark.parametrize("seed", range(4))
def test_deltas_through_the_overlay_match_the_model(
    world: World, fresh_terminal: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    model = dict(STANDARD_GX)
    gx = world.feeds["gx"]
    for _ in range(6):
        ops, change = random_day(rng, model)
        gx.publish_delta(ops, change)
        result = world.sync()
        assert result.code == 0, result.out
        assert result.json["feeds"][0]["method"] == "delta"
        assert db_dump(world.data_dir)["v:gx"] == expected_rows(model)
    for key in KEYS:
        found = [v for v in world.lookup(*key).json["vehicles"] if v["feed"] == "gx"]
        assert [v["status"] for v in found] == ([model[key].status] if key in model else [])

    # The snapshot path (snapshot 1, then all six deltas into a new slot) agrees.
    args = ["init", "--root-key", world.pki.root.public.hex(), "--server", world.server.url]
    assert run_cli(*args, "--feed", "gx", "--feed", "hot", data_dir=fresh_terminal).code == 0
    result = run_cli("sync", "--json", data_dir=fresh_terminal)
    assert result.json["feeds"][0]["method"] == "snapshot", result.out
    assert db_dump(fresh_terminal)["v:gx"] == expected_rows(model)

    # Merging (in chunks of three keys here) changes nothing a check can see, and
    # empties the overlay.
    monkeypatch.setattr(cache.apply, "MERGE_CHUNK", 3)
    before = db_dump(world.data_dir)
    writer = CacheWriter(world.data_dir)
    try:
        state = writer.feed_state("gx")
        assert state is not None
        writer.merge_overlay(state.slot)
    finally:
        writer.close()
    assert overlay_count(world.data_dir) == 0
    assert db_dump(world.data_dir) == before


def test_remove_then_readd_and_remove_of_a_delta_added_vehicle(world: World) -> None:
    gx = world.feeds["gx"]
    base = STANDARD_GX[("桂B88888", "02")]
    added = Vehicle("桂C11111", "02", "2028-01", "A", "K33")
    gx.publish_delta([remove(base.plate, base.plate_type), added], 0)
    assert world.sync().code == 0
    assert world.lookup(base.plate).json["vehicles"] == []
    assert overlay_count(world.data_dir) == 2  # a removal mark and a new row

    readded = Vehicle(base.plate, base.plate_type, "2029-09", "G", "K33")
    gx.publish_delta([readded, remove(added.plate, added.plate_type)], 0)
    result = world.sync()
    assert result.json["feeds"][0]["method"] == "delta", result.out
    assert world.lookup(base.plate).json["vehicles"][0]["status"] == "G"
    assert world.lookup(added.plate).json["vehicles"] == []
    assert overlay_count(world.data_dir) == 1  # the vehicle only a delta had is gone

    # Removing what the overlay marks removed is malformed: the fallback snapshot
    # path must apply the same delta after the snapshot, fails on it too, and
    # nothing moves.
    gx.publish_delta([remove(added.plate, added.plate_type)], -1)
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code != 0
    assert "removes absent vehicle" in result.json["feeds"][0]["error"]
    assert db_dump(world.data_dir) == before


def test_sync_merges_the_overlay_past_its_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    gx = world.feeds["gx"]
    model = dict(STANDARD_GX)
    first = Vehicle("桂A12345", "02", "2029-06", "A", "K33")
    model[("桂A12345", "02")] = first
    gx.publish_delta([first], 0)
    assert world.sync().code == 0
    assert overlay_count(world.data_dir) == 1  # under the limit: left in the overlay

    monkeypatch.setattr(cache.apply, "MERGE_FLOOR", 1)
    gone = ("桂A00001", "02")
    del model[gone]
    gx.publish_delta([remove(*gone)], -1)
    result = world.sync()
    assert result.json["feeds"][0]["status"] == "updated", result.out
    assert overlay_count(world.data_dir) == 0
    assert db_dump(world.data_dir)["v:gx"] == expected_rows(model)


def test_a_failed_merge_leaves_the_applied_deltas(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def full_disk(self: CacheWriter, slot: int) -> None:
        attempts.append(slot)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(cache.apply, "MERGE_FLOOR", 0)
    monkeypatch.setattr(CacheWriter, "merge_overlay", full_disk)
    changed = Vehicle("桂A12345", "02", "2029-06", "K", "K33")
    world.feeds["gx"].publish_delta([changed], 0)
    result = world.sync()
    assert result.code == 0, result.out
    gx = result.json["feeds"][0]
    assert (gx["status"], gx["method"], gx["to_version"]) == ("updated", "delta", 2)
    assert attempts, "the merge was never tried"
    assert world.lookup("桂A12345").json["vehicles"][0]["status"] == "K"
    assert overlay_count(world.data_dir) == 1
    log = (world.data_dir / "logs" / "sync.jsonl").read_text(encoding="utf-8").splitlines()
    assert "overlay merge deferred: database or disk is full" in json.loads(log[-1])["warnings"][0]


def tables(data_dir: Path) -> set[str]:
    conn = sqlite3.connect(data_dir / "vicheck.db")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_sync_drops_orphan_slot_tables_and_restores_missing_overlays(world: World) -> None:
    """An orphan slot (a killed sync's) goes, overlay included; a slot swapped in by
    an older vicheck after a newer one migrated the cache gets its overlay back,
    even when the feed has nothing new."""
    conn = sqlite3.connect(world.data_dir / "vicheck.db", isolation_level=None)
    try:
        slot = conn.execute("SELECT slot FROM feeds WHERE feed = 'gx'").fetchone()[0]
        conn.execute(f"DROP TABLE {overlay_table(slot)}")
        conn.execute("CREATE TABLE v97 (plate TEXT)")
        conn.execute("CREATE TABLE o97 (plate TEXT)")
        conn.execute("CREATE TABLE o98 (plate TEXT)")
    finally:
        conn.close()
    result = world.sync()
    assert [f["status"] for f in result.json["feeds"]] == ["current", "current"], result.out
    present = tables(world.data_dir)
    assert {"v97", "o97", "o98"}.isdisjoint(present)
    assert overlay_table(slot) in present
    assert world.lookup("桂A12345").json["vehicles"][0]["status"] == "A"


def test_merge_limit_grows_with_the_feed() -> None:
    assert merge_limit(0) == cache.apply.MERGE_FLOOR
    assert merge_limit(10_000_000) == 10_000_000 // cache.apply.MERGE_DIVISOR


def downgrade_to_v1(data_dir: Path) -> None:
    """Make the cache what vicheck wrote before the overlay: no o-tables, schema 1."""
    conn = sqlite3.connect(data_dir / "vicheck.db", isolation_level=None)
    try:
        for (slot,) in conn.execute("SELECT slot FROM slots").fetchall():
            conn.execute(f"DROP TABLE {overlay_table(slot)}")
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()


def test_a_check_brings_an_old_cache_up_to_date_offline(world: World) -> None:
    before = db_dump(world.data_dir)
    downgrade_to_v1(world.data_dir)
    world.server.close()  # offline: no sync can help
    assert world.lookup("桂A12345", "02").json["vehicles"][0]["valid_through"] == "2027-06"
    conn = sqlite3.connect(world.data_dir / "vicheck.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    assert overlay_count(world.data_dir) == 0
    assert db_dump(world.data_dir) == before


def test_a_sync_brings_an_old_cache_up_to_date(tmp_path: Path) -> None:
    world = standard_world(tmp_path)
    try:
        assert world.init().code == 0
        assert world.sync().code == 0
        downgrade_to_v1(world.data_dir)
        changed = Vehicle("桂A12345", "02", "2029-06", "K", "K33")
        world.feeds["gx"].publish_delta([changed], 0)
        result = world.sync()
        assert result.json["feeds"][0]["method"] == "delta", result.out
        assert world.lookup("桂A12345").json["vehicles"][0]["status"] == "K"
    finally:
        world.close()


@pytest.mark.parametrize(
    ("version", "message"),
    [(SCHEMA_VERSION + 1, "newer than this vicheck"), (0, "never set up: run vicheck init")],
)
def test_a_cache_schema_a_check_cannot_use_is_refused_with_a_message(
    world: World, version: int, message: str
) -> None:
    conn = sqlite3.connect(world.data_dir / "vicheck.db", isolation_level=None)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    result = world.lookup("桂A12345")
    assert result.code != 0
    assert message in result.out + result.err
    assert "Traceback" not in result.err
