"""The terminal's cache, read side: what the checks ask of it.

Opened on every ``verify`` and ``lookup``, so it uses the standard ``sqlite3``
module only and reads within one transaction, which in WAL mode is a consistent
snapshot even while a sync is writing. Writing lives in ``cache.apply``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cache.feedformat import KIND_FULL, KIND_HOTLIST, month_text
from cache.schema import SCHEMA_VERSION, serials_table, vehicles_table
from keys.trustlist import TrustList, TrustListError, load_trust_list
from keys.wire import SCOPE_ALL

DB_NAME = "vicheck.db"


class StoreError(RuntimeError):
    """The cache cannot be opened or read."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the applied manifest of a feed said, and where its data lives."""

    feed: str
    slot: int
    kind: str
    scope: tuple[str, ...]
    version: int
    generated_at: int
    expires_at: int
    total: int
    synced_at: int

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at

    @property
    def is_full(self) -> bool:
        return self.kind == KIND_FULL

    @property
    def is_hotlist(self) -> bool:
        return self.kind == KIND_HOTLIST

    def covers(self, plate: str) -> bool:
        """A full feed covers the plates its scope prefixes start; a hotlist nothing."""
        return self.is_full and any(s == SCOPE_ALL or plate.startswith(s) for s in self.scope)


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    feed: str
    plate: str
    plate_type: str
    valid_through: str | None
    status: str
    vehicle_type: str | None


def connect(path: Path) -> sqlite3.Connection:
    """A connection set up the one way every part of vicheck uses the cache."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class Store:
    """Read access to one data dir's cache. Cheap to open; safe to keep open."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        path = Path(data_dir) / DB_NAME
        if not path.exists():
            raise StoreError(f"no cache at {path}")
        try:
            conn = connect(path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the cache {path}: {exc}") from None
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"cache schema is version {version}, expected {SCHEMA_VERSION}: run vicheck sync"
            )
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """One consistent snapshot for a whole check, even across a sync's commit."""
        self._conn.execute("BEGIN")
        try:
            yield self
        finally:
            self._conn.execute("COMMIT")

    def trust_list(self) -> TrustList | None:
        row = self._conn.execute("SELECT cose FROM trust_list WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            return load_trust_list(row[0])
        except TrustListError as exc:
            raise StoreError(str(exc)) from None

    def clock_floor(self) -> int:
        return self._conn.execute("SELECT clock_floor FROM terminal WHERE id = 1").fetchone()[0]

    def feed_states(self, feeds: Iterable[str] | None = None) -> list[FeedState]:
        """Applied feeds, in the order asked (those never synced are left out)."""
        rows = {
            row[0]: FeedState(row[0], row[1], row[2], tuple(json.loads(row[3])), *row[4:9])
            for row in self._conn.execute(
                "SELECT feed, slot, kind, scope, version, generated_at, expires_at, total,"
                " synced_at FROM feeds"
            )
        }
        if feeds is None:
            return list(rows.values())
        return [rows[f] for f in feeds if f in rows]

    def records(
        self, feed: FeedState, plate: str, plate_type: str | None = None
    ) -> list[VehicleRecord]:
        sql = (
            "SELECT plate, plate_type, valid_through, status, vehicle_type"
            f" FROM {vehicles_table(feed.slot)} WHERE plate = ?"
        )
        args: tuple[str, ...] = (plate,)
        if plate_type is not None:
            sql += " AND plate_type = ?"
            args = (plate, plate_type)
        return [
            VehicleRecord(feed.feed, p, t, None if vt is None else month_text(vt), status, vtype)
            for p, t, vt, status, vtype in self._conn.execute(sql, args)
        ]

    def is_revoked(self, feed: FeedState, serial: bytes) -> bool:
        sql = f"SELECT 1 FROM {serials_table(feed.slot)} WHERE serial = ?"
        return self._conn.execute(sql, (serial,)).fetchone() is not None
