"""The cache, write side: applying a verified trust list and feed files atomically.

SPEC 4.3 step 4 wants the old cache whole after a failure or a power cut at any
point, and usable during the sync. Two mechanisms give that:

- deltas are applied to the live tables inside one transaction (WAL mode keeps
  readers on the old snapshot until it commits, and a crash rolls it back);
- a snapshot is loaded into a fresh *slot* (a new pair of tables no reader looks
  at), committed in batches to keep the WAL small, then swapped in by one small
  transaction that repoints the feed. A crash before the swap leaves an orphan
  slot, which the next sync drops.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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
from feeds.format import (
    OP_LIFT,
    OP_REMOVE,
    OP_REVOKE,
    OP_VEHICLE,
    FeedFormatError,
    FileEntry,
    ItemChecker,
    Manifest,
    delta_header,
    item_tag,
    read_items,
    snapshot_header,
)
from feeds.model import KIND_HOTLIST
from keys.trustlist import TrustList

DOWNLOAD_PREFIX = ".sync-"
"""Downloads of a sync go to a folder of this prefix in the data dir."""
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


class CountMismatch(FeedFormatError):
    """The records applied do not add up to the manifest's ``total``."""


def _no_progress(_: int) -> None:
    pass


class CacheWriter:
    """The only writer of a data dir's cache (the sync lock makes sure of it)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        private_dir(self.data_dir)  # 0700 whatever the umask; connect makes the db 0600
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
        """
        for leftover in self.data_dir.glob(f"{DOWNLOAD_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
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
        return self.conn.execute(f"SELECT count(*) FROM {overlay_table(slot)}").fetchone()[0]

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


def merge_limit(total: int) -> int:
    """How many overlay rows a feed of ``total`` records may carry unmerged."""
    return max(MERGE_FLOOR, total // MERGE_DIVISOR)


def _raise_floor(conn: sqlite3.Connection, t: int) -> None:
    conn.execute("UPDATE terminal SET clock_floor = max(clock_floor, ?) WHERE id = 1", (t,))


def _finish(conn: sqlite3.Connection, slot: int, manifest: Manifest, count: int, now: int) -> None:
    if count != manifest.total:
        raise CountMismatch(
            f"feed {manifest.feed} would hold {count} records, the manifest says {manifest.total}"
        )
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
    """Stream a snapshot into ``slot``, checking shapes and strict order as it goes."""
    conn = writer.conn
    feed, entry = manifest.feed, manifest.snapshot
    checker = ItemChecker(hotlist=manifest.kind == KIND_HOTLIST)
    insert_vehicle = f"INSERT INTO {vehicles_table(slot)} VALUES (?, ?, ?, ?, ?)"
    insert_serial = f"INSERT INTO {serials_table(slot)} VALUES (?)"
    vehicles: list[tuple] = []
    serials: list[bytes] = []
    last_key: tuple[str, str] | None = None
    last_serial: bytes | None = None
    done = 0

    def flush() -> None:
        if vehicles:
            conn.executemany(insert_vehicle, vehicles)
            vehicles.clear()
        if serials:
            conn.executemany(insert_serial, ((s,) for s in serials))
            serials.clear()

    conn.execute("BEGIN IMMEDIATE")
    try:
        with _open_gzip(path) as stream:
            for item in read_items(stream, snapshot_header(feed, entry)):
                # Inlined item_tag(): this loop runs once per vehicle.
                if type(item) is list and item and type(item[0]) is int:
                    tag = item[0]
                else:
                    tag = item_tag(item)  # raises: not an array with an int tag
                if tag == OP_VEHICLE:
                    if last_serial is not None:
                        raise FeedFormatError("a vehicle record follows the revoked serials")
                    row = checker.vehicle(item)
                    # Code-point order of str is the byte order of its UTF-8 form.
                    key = (row[0], row[1])
                    if last_key is not None and key <= last_key:
                        raise FeedFormatError(f"snapshot not strictly sorted at {row[0]} {row[1]}")
                    last_key = key
                    vehicles.append(row)
                elif tag == OP_REVOKE:
                    if len(item) != 2:
                        raise FeedFormatError("a revoked serial item has two elements")
                    serial = checker.serial(item[1])
                    if last_serial is not None and serial <= last_serial:
                        raise FeedFormatError("revoked serials not strictly sorted")
                    last_serial = serial
                    serials.append(serial)
                else:
                    raise FeedFormatError(f"item tag {tag} does not belong in a snapshot")
                done += 1
                if done % BATCH == 0:
                    flush()
                    progress(done)
                    if done % COMMIT_EVERY == 0:
                        conn.execute("COMMIT")
                        conn.execute("BEGIN IMMEDIATE")
        flush()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    progress(done)
    return done


def _apply_delta(
    conn: sqlite3.Connection,
    slot: int,
    manifest: Manifest,
    entry: FileEntry,
    path: Path,
    count: int,
    progress: Progress,
) -> int:
    """Apply one delta file's operations inside the caller's transaction.

    Vehicle changes go to the slot's overlay (see ``cache.schema``); whether a
    vehicle is present is what a check would see: the overlay's row, else the base.
    """
    feed = manifest.feed
    checker = ItemChecker(hotlist=manifest.kind == KIND_HOTLIST)
    vt, ot, st = vehicles_table(slot), overlay_table(slot), serials_table(slot)
    # (NULL: no overlay row; 1: removed; 0: changed), whether the base has it.
    probe = (
        f"SELECT (SELECT status IS NULL FROM {ot} WHERE plate = ?1 AND plate_type = ?2),"
        f" EXISTS (SELECT 1 FROM {vt} WHERE plate = ?1 AND plate_type = ?2)"
    )
    put = f"INSERT OR REPLACE INTO {ot} ({VEHICLE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    unshadow = f"DELETE FROM {ot} WHERE plate = ? AND plate_type = ?"
    revoke = f"INSERT OR IGNORE INTO {st} VALUES (?)"
    lift = f"DELETE FROM {st} WHERE serial = ?"
    done = 0
    with _open_gzip(path) as stream:
        for item in read_items(stream, delta_header(feed, entry)):
            tag = item_tag(item)
            if tag == OP_VEHICLE:
                row = checker.vehicle(item)
                removed, in_base = conn.execute(probe, row[:2]).fetchone()
                conn.execute(put, row)
                if not _present(removed, in_base):
                    count += 1
            elif tag == OP_REMOVE:
                if len(item) != 3:
                    raise FeedFormatError("a removal has three elements")
                key = checker.plate_key(item[1], item[2])
                removed, in_base = conn.execute(probe, key).fetchone()
                if not _present(removed, in_base):
                    raise FeedFormatError(f"delta removes absent vehicle {item[1]} {item[2]}")
                if in_base:
                    conn.execute(put, (*key, None, None, None))
                else:
                    conn.execute(unshadow, key)
                count -= 1
            elif tag in (OP_REVOKE, OP_LIFT):
                if len(item) != 2:
                    raise FeedFormatError("a serial operation has two elements")
                serial = checker.serial(item[1])
                if tag == OP_REVOKE:
                    if not conn.execute(revoke, (serial,)).rowcount:
                        raise FeedFormatError(f"delta revokes serial {serial.hex()} twice")
                    count += 1
                else:
                    if not conn.execute(lift, (serial,)).rowcount:
                        raise FeedFormatError(f"delta lifts absent revocation {serial.hex()}")
                    count -= 1
            else:
                raise FeedFormatError(f"unknown delta operation {tag}")
            done += 1
            if done % BATCH == 0:
                progress(done)
    progress(done)
    return count


def _present(removed: int | None, in_base: int) -> bool:
    """Whether a check sees the vehicle: the overlay decides when it has a row
    (``removed`` 1 or 0), else the base."""
    return bool(in_base) if removed is None else not removed
