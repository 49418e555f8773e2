"""The cache, write side: applying a verified trust list and feed files atomically.

SPEC 4.3 step 4 wants the old cache whole after a failure or a power cut at any
point, and usable during the sync. Two mechanisms give that:

- deltas are applied to the live tables inside one transaction (WAL mode keeps
  readers on the old snapshot until it commits, and a crash rolls it back);
- a snapshot is loaded into a fresh *slot* (a new pair of tables no reader looks
  at), committed in batches to keep the WAL small, then swapped in by one small
  transaction that repoints the feed. A crash before the swap leaves an orphan
  slot, which the next sync drops.

This module only writes what was accepted: ``cache.trusted`` accepts the trust
list and the manifest, ``feeds.format.snapshot_items`` and ``delta_operations``
hand over items already checked. The one kind of rule left here needs the cache's
rows: whether a delta's vehicle or serial is present (``_DeltaWriter``), and so
the record count that ``cache.trusted.check_total`` compares with the manifest.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from os import PathLike
from pathlib import Path

from base.private import open_private, private_dir
from base.sqlite import transaction
from cache.schema import (
    SLOT_TABLE_PREFIXES,
    VEHICLE_COLUMNS,
    create_slot_tables,
    drop_slot_tables,
    ensure_overlays,
    migrate,
    missing_overlays,
    overlay_table,
    serials_table,
    vehicles_table,
)
from cache.store import DB_NAME, FeedState, Store, connect
from cache.trusted import check_total
from feeds.format import (
    FeedFormatError,
    FileEntry,
    LiftSerial,
    Manifest,
    Operation,
    PutVehicle,
    RemoveVehicle,
    RevokeSerial,
    Serial,
    VehicleRow,
    delta_operations,
    snapshot_items,
)
from keys.trustlist import TrustList

DOWNLOAD_PREFIX = ".sync-"
"""Downloads of a sync go to a folder of this prefix in the data dir."""
PARTIAL_DIR = f"{DOWNLOAD_PREFIX}partial"
"""Broken downloads a later sync continues (``cache.sync`` prunes them by manifest)."""
BATCH = 20_000
WRITER_CACHE_KIB = 32 * 1024
COMMIT_EVERY = 500_000
MERGE_FLOOR = 10_000
MERGE_CHUNK = 50_000
MERGE_DIVISOR = 32
"""The overlay is merged into its base once it holds more rows than
``max(MERGE_FLOOR, total // MERGE_DIVISOR)``: about ten days of a province's
changes, so a merge comes rarely and touches each base page about once."""
Progress = Callable[[int], None]
"""Called with the number of records applied so far in the current file."""


class SyncBusy(RuntimeError):
    """Another sync holds this data dir."""


def _no_progress(_: int) -> None:
    pass


class CacheWriter:
    """The only writer of a data dir's cache (the sync lock makes sure of it)."""

    def __init__(self, data_dir: str | PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        private_dir(self.data_dir, named=True)  # 0700 whatever the umask; connect makes the db 0600
        self.conn = connect(self.data_dir / DB_NAME)
        # Deltas touch vehicles all over a large table: a bigger page cache than
        # SQLite's 2 MB default keeps a day's changes off the disk (memory stays
        # well inside the sync's budget).
        self.conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        migrate(self.conn)
        self.store = Store(self.conn, memoise=False)
        self.warnings: list[str] = []
        """What went wrong without failing the sync, for the sync log."""

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the data dir's sync lock; a second sync fails fast instead of waiting."""
        handle = open_private(self.data_dir / "sync.lock", "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncBusy("another sync is running on this data dir") from None
            yield
        finally:
            handle.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.conn)

    def feed_state(self, feed: str) -> FeedState | None:
        states = self.store.feed_states([feed])
        return states[0] if states else None

    def put_trust_list(self, trust: TrustList, now: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO trust_list"
                " (id, version, issued_at, expires_at, cose, fetched_at) VALUES (1, ?, ?, ?, ?, ?)",
                (trust.version, trust.issued_at, trust.expires_at, trust.cose, now),
            )
            _raise_floor(conn, trust.issued_at)

    def clear_trust_list(self) -> None:
        """Forget the trust list (the root key changed: it no longer vouches for it)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM trust_list")

    def collect_garbage(self) -> None:
        """Drop what a killed sync left: slots no feed points at, download folders.

        Called with the sync lock held, so nothing found here belongs to a live sync.
        Partial downloads (``PARTIAL_DIR``) survive: the sync continues or prunes
        them once it knows the manifests; only what is not a plain file goes.
        """
        for leftover in self.data_dir.glob(f"{DOWNLOAD_PREFIX}*"):
            if leftover.name == PARTIAL_DIR and leftover.is_dir() and not leftover.is_symlink():
                for entry in leftover.iterdir():
                    if entry.is_symlink() or not entry.is_file():
                        _remove(entry)
                continue
            _remove(leftover)
        used = {s.slot for s in self.store.feed_states()}
        slots = [row[0] for row in self.conn.execute("SELECT slot FROM slots")]
        names = {
            row[0]
            for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        orphans = [s for s in slots if s not in used]
        orphans += [
            int(n[1:])
            for n in names
            if n[:1] in SLOT_TABLE_PREFIXES and n[1:].isdigit() and int(n[1:]) not in used
        ]
        for slot in sorted(set(orphans)):
            self.drop_slot(slot)

    def repair_schema(self) -> None:
        """Give every slot its overlay: an older vicheck's sync, still running while a
        newer one migrated the cache, can swap in a slot without one. Under the sync
        lock; a write transaction only when something is missing."""
        if missing_overlays(self.conn):
            with self.transaction() as conn:
                ensure_overlays(conn)

    def drop_slot(self, slot: int) -> None:
        """Forget a slot's tables and its number, in one transaction."""
        with self.transaction() as conn:
            drop_slot_tables(conn, slot)
            conn.execute("DELETE FROM slots WHERE slot = ?", (slot,))

    def apply_deltas(
        self,
        state: FeedState,
        manifest: Manifest,
        files: Sequence[tuple[FileEntry, Path]],
        now: int,
        progress: Progress = _no_progress,
    ) -> None:
        """Apply a delta chain to the live tables in one transaction, or not at all;
        then merge the overlay into the base if it has grown past its limit."""
        with self.transaction() as conn:
            count = state.total
            for entry, path in files:
                count = _apply_delta(conn, state.slot, manifest, entry, path, count, progress)
            _finish(conn, state.slot, manifest, count, now)
        try:
            if self.overlay_rows(state.slot) > merge_limit(count):
                self.merge_overlay(state.slot)
        except sqlite3.Error as exc:
            # The deltas are in and checks see them; the merge's unfinished chunk
            # rolled back and the next sync goes on from there.
            self.warnings.append(f"feed {manifest.feed}: overlay merge deferred: {exc}")

    def overlay_rows(self, slot: int) -> int:
        rows: int = self.conn.execute(f"SELECT count(*) FROM {overlay_table(slot)}").fetchone()[0]
        return rows

    def merge_overlay(self, slot: int) -> None:
        """Fold the overlay into the base tables, in key-ordered chunks.

        Each chunk moves a range of keys from the overlay into the base in one
        transaction, so what checks see never changes, a failure (disk full) only
        leaves the rest for the next sync, and the WAL stays the size of one chunk
        rather than of the whole table. Set-based and in key order: each base page
        is visited once per chunk, however many of its rows changed.
        """
        vt, ot = vehicles_table(slot), overlay_table(slot)
        upto = "(plate, plate_type) <= (?, ?)"
        keys = f"SELECT plate, plate_type FROM {ot} ORDER BY plate"
        while True:
            # The chunk's last key: the MERGE_CHUNK-th, or the overlay's last.
            last = (
                self.conn.execute(
                    f"{keys}, plate_type LIMIT 1 OFFSET ?", (MERGE_CHUNK - 1,)
                ).fetchone()
                or self.conn.execute(f"{keys} DESC, plate_type DESC LIMIT 1").fetchone()
            )
            if last is None:
                return
            with self.transaction() as conn:
                conn.execute(
                    f"DELETE FROM {vt} WHERE (plate, plate_type) IN"
                    f" (SELECT plate, plate_type FROM {ot} WHERE status IS NULL AND {upto})",
                    last,
                )
                conn.execute(
                    f"INSERT INTO {vt} ({VEHICLE_COLUMNS}) SELECT {VEHICLE_COLUMNS} FROM {ot}"
                    f" WHERE status IS NOT NULL AND {upto} ORDER BY plate, plate_type"
                    " ON CONFLICT (plate, plate_type) DO UPDATE SET"
                    " valid_through = excluded.valid_through, status = excluded.status,"
                    " vehicle_type = excluded.vehicle_type",
                    last,
                )
                conn.execute(f"DELETE FROM {ot} WHERE {upto}", last)

    def apply_snapshot(
        self,
        manifest: Manifest,
        snapshot: Path,
        files: Sequence[tuple[FileEntry, Path]],
        now: int,
        progress: Progress = _no_progress,
    ) -> None:
        """Load a snapshot and its deltas into a new slot, then swap it in."""
        old = self.feed_state(manifest.feed)
        with self.transaction() as conn:
            slot = conn.execute(
                "INSERT INTO slots (feed, created_at) VALUES (?, ?)", (manifest.feed, now)
            ).lastrowid
            assert slot is not None
            create_slot_tables(conn, slot)
        try:
            count = _load_snapshot(self, slot, manifest, snapshot, progress)
            with self.transaction() as conn:
                for entry, path in files:
                    count = _apply_delta(conn, slot, manifest, entry, path, count, progress)
                _finish(conn, slot, manifest, count, now)
        except BaseException:
            self.drop_slot(slot)
            raise
        if old is not None:
            self.drop_slot(old.slot)


def _remove(path: Path) -> None:
    """A leftover gone, whatever it is (a link is removed, never followed)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def merge_limit(total: int) -> int:
    """How many overlay rows a feed of ``total`` records may carry unmerged."""
    return max(MERGE_FLOOR, total // MERGE_DIVISOR)


def _raise_floor(conn: sqlite3.Connection, t: int) -> None:
    conn.execute("UPDATE terminal SET clock_floor = max(clock_floor, ?) WHERE id = 1", (t,))


def _finish(conn: sqlite3.Connection, slot: int, manifest: Manifest, count: int, now: int) -> None:
    check_total(manifest, count)
    conn.execute(
        "INSERT OR REPLACE INTO feeds (feed, slot, kind, scope, version, generated_at,"
        " expires_at, total, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            manifest.feed,
            slot,
            manifest.kind,
            json.dumps(list(manifest.scope), ensure_ascii=False),
            manifest.version,
            manifest.generated_at,
            manifest.expires_at,
            count,
            now,
        ),
    )
    _raise_floor(conn, manifest.generated_at)


def _open_gzip(path: Path) -> gzip.GzipFile:
    return gzip.GzipFile(path, "rb")


def _load_snapshot(
    writer: CacheWriter,
    slot: int,
    manifest: Manifest,
    path: Path,
    progress: Progress,
) -> int:
    """Stream a checked snapshot into ``slot``, committing every ``COMMIT_EVERY``
    records to keep the WAL small (no reader looks at the slot before the swap)."""
    conn = writer.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        with _open_gzip(path) as stream:
            done = _insert_snapshot(conn, slot, snapshot_items(stream, manifest), progress)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    progress(done)
    return done


def _insert_snapshot(
    conn: sqlite3.Connection,
    slot: int,
    items: Iterator[VehicleRow | Serial],
    progress: Progress,
) -> int:
    """Write the items in batches of ``BATCH``; how many there were. Only writes:
    every check is ``snapshot_items``'s, which also puts every vehicle row before
    the first serial, so a batch splits in two at most and each part goes to
    ``executemany`` whole, with no Python step per record."""
    insert_vehicle = f"INSERT INTO {vehicles_table(slot)} VALUES (?, ?, ?, ?, ?)"
    insert_serial = f"INSERT INTO {serials_table(slot)} VALUES (?)"
    done = 0
    while batch := list(islice(items, BATCH)):
        split = _first_serial(batch)
        if split:
            conn.executemany(insert_vehicle, batch if split == len(batch) else batch[:split])
        if split < len(batch):
            conn.executemany(insert_serial, [(serial,) for serial in batch[split:]])
        done += len(batch)
        if done % BATCH == 0:
            progress(done)
            if done % COMMIT_EVERY == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
    return done


def _first_serial(batch: list[VehicleRow | Serial]) -> int:
    """Where the serials start in a batch (its length when it holds none)."""
    if type(batch[-1]) is tuple:
        return len(batch)
    return next(i for i, item in enumerate(batch) if type(item) is bytes)


def _apply_delta(
    conn: sqlite3.Connection,
    slot: int,
    manifest: Manifest,
    entry: FileEntry,
    path: Path,
    count: int,
    progress: Progress,
) -> int:
    """Apply one delta file's checked operations inside the caller's transaction;
    the feed's record count after it."""
    writer = _DeltaWriter(conn, slot)
    done = 0
    with _open_gzip(path) as stream:
        for done, operation in enumerate(delta_operations(stream, manifest, entry), 1):
            count += writer.apply(operation)
            if done % BATCH == 0:
                progress(done)
    progress(done)
    return count


class _DeltaWriter:
    """Writes checked delta operations to a slot; each returns how it changes the
    feed's record count.

    Vehicle changes go to the slot's overlay (see ``cache.schema``); whether a
    vehicle is present is what a check would see: the overlay's row, else the base.
    The rules that need that presence (SPEC 4.2: removing an absent vehicle,
    revoking a serial already revoked, lifting an absent revocation) are checked
    here, not in ``feeds.format``, because only the cache's rows can tell.
    """

    def __init__(self, conn: sqlite3.Connection, slot: int) -> None:
        self.conn = conn
        vt, ot, st = vehicles_table(slot), overlay_table(slot), serials_table(slot)
        # (NULL: no overlay row; 1: removed; 0: changed), whether the base has it.
        self.probe = (
            f"SELECT (SELECT status IS NULL FROM {ot} WHERE plate = ?1 AND plate_type = ?2),"
            f" EXISTS (SELECT 1 FROM {vt} WHERE plate = ?1 AND plate_type = ?2)"
        )
        self.put = f"INSERT OR REPLACE INTO {ot} ({VEHICLE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        self.unshadow = f"DELETE FROM {ot} WHERE plate = ? AND plate_type = ?"
        self.revoke = f"INSERT OR IGNORE INTO {st} VALUES (?)"
        self.lift = f"DELETE FROM {st} WHERE serial = ?"

    def apply(self, operation: Operation) -> int:
        match operation:
            case PutVehicle(row):
                return self.put_vehicle(row)
            case RemoveVehicle():
                return self.remove_vehicle(operation)
            case RevokeSerial(serial):
                if not self.conn.execute(self.revoke, (serial,)).rowcount:
                    raise FeedFormatError(f"delta revokes serial {serial.hex()} twice")
                return 1
            case LiftSerial(serial):
                if not self.conn.execute(self.lift, (serial,)).rowcount:
                    raise FeedFormatError(f"delta lifts absent revocation {serial.hex()}")
                return -1

    def _presence(self, key: tuple[str, str]) -> tuple[int | None, int]:
        removed, in_base = self.conn.execute(self.probe, key).fetchone()
        return removed, in_base

    def put_vehicle(self, row: VehicleRow) -> int:
        removed, in_base = self._presence(row[:2])
        self.conn.execute(self.put, row)
        return 0 if _present(removed, in_base) else 1

    def remove_vehicle(self, key: RemoveVehicle) -> int:
        removed, in_base = self._presence(key)
        if not _present(removed, in_base):
            raise FeedFormatError(f"delta removes absent vehicle {key.plate} {key.plate_type}")
        if in_base:
            self.conn.execute(self.put, (*key, None, None, None))
        else:
            self.conn.execute(self.unshadow, key)
        return -1


def _present(removed: int | None, in_base: int) -> bool:
    """Whether a check sees the vehicle: the overlay decides when it has a row
    (``removed`` 1 or 0), else the base."""
    return bool(in_base) if removed is None else not removed
