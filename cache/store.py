"""The terminal's cache, read side: what the checks ask of it.

Opened on every ``verify`` and ``lookup``, so it uses the standard ``sqlite3``
module only and reads within one transaction, which in WAL mode is a consistent
snapshot even while a sync is writing. Writing lives in ``cache.apply``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from base.private import private_db
from base.sqlite import transaction
from cache.schema import SCHEMA_VERSION, current_vehicles, migrate, serials_table
from feeds.model import KIND_FULL, KIND_HOTLIST, month_text
from keys.trustlist import TrustList, TrustListError, load_trust_list
from keys.wire import SCOPE_ALL

DB_NAME = "vicheck.db"


class StoreError(RuntimeError):
    """The cache cannot be opened or read."""


class StaleView(StoreError):
    """A sync replaced a feed's tables between taking the view and reading rows."""


class FeedState(NamedTuple):
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


class VehicleRecord(NamedTuple):
    feed: str
    plate: str
    plate_type: str
    valid_through: str | None
    status: str
    vehicle_type: str | None


class CacheView(NamedTuple):
    trust_list: TrustList | None
    feeds: dict[str, FeedState]
    clock_floor: int

    def feed_states(self, feeds: Iterable[str] | None = None) -> list[FeedState]:
        if feeds is None:
            return list(self.feeds.values())
        return [self.feeds[f] for f in feeds if f in self.feeds]


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection set up the one way every part of vicheck uses the cache.

    The file is made 0600 first (created so when new): SQLite gives the -wal and
    -shm files it creates the database's mode, and left alone makes it 0644."""
    private_db(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class Store:
    """Read access to one data dir's cache. Cheap to open; safe to keep open."""

    def __init__(self, conn: sqlite3.Connection, memoise: bool = True) -> None:
        self._conn = conn
        # The view (trust list, feed states, clock floor) is kept while no other
        # connection has committed (PRAGMA data_version), so a terminal that checks
        # all shift long parses it once per sync, not once per check. The writer's
        # own Store does not memoise: its own commits leave data_version alone.
        self._memoise = memoise
        self._seen_version: int | None = None
        self._view: CacheView | None = None
        # One connection may serve several threads (the terminal's UI and its
        # workers); its transactions must not interleave.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str]) -> Store:
        path = os.path.join(data_dir, DB_NAME)
        if not os.path.exists(path):
            raise StoreError(f"no cache at {path}")
        try:
            conn = connect(path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the cache {path}: {exc}") from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"cache schema is version {version}, newer than this vicheck understands"
                f" ({SCHEMA_VERSION})"
            )
        if version < 1:
            conn.close()
            raise StoreError(f"the cache {path} was never set up: run vicheck init")
        if version < SCHEMA_VERSION:
            # An updated vicheck on a terminal that has not synced since: checks
            # must keep working offline, so bring the cache up to date here.
            try:
                migrate(conn)
            except sqlite3.Error as exc:
                conn.close()
                raise StoreError(f"cannot update the cache {path}: {exc}") from None
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def view(self) -> CacheView:
        """What every check needs besides vehicle rows, consistent as of one moment."""
        with self._lock:
            return self._current_view()

    def _current_view(self) -> CacheView:
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if self._view is None or not self._memoise or version != self._seen_version:
            self._conn.execute("BEGIN")
            try:
                self._view = CacheView(
                    self._load_trust_list(), self._load_feeds(), self._load_floor()
                )
            finally:
                self._conn.execute("COMMIT")
            self._seen_version = version
        return self._view

    def _load_trust_list(self) -> TrustList | None:
        row = self._conn.execute("SELECT cose FROM trust_list WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            return load_trust_list(row[0])
        except TrustListError as exc:
            raise StoreError(str(exc)) from None

    def _load_floor(self) -> int:
        floor: int = self._conn.execute("SELECT clock_floor FROM terminal WHERE id = 1").fetchone()[
            0
        ]
        return floor

    def _load_feeds(self) -> dict[str, FeedState]:
        return {
            row[0]: FeedState(row[0], row[1], row[2], tuple(json.loads(row[3])), *row[4:9])
            for row in self._conn.execute(
                "SELECT feed, slot, kind, scope, version, generated_at, expires_at, total,"
                " synced_at FROM feeds"
            )
        }

    def trust_list(self) -> TrustList | None:
        return self.view().trust_list

    def clock_floor(self) -> int:
        return self.view().clock_floor

    def feed_states(self, feeds: Iterable[str] | None = None) -> list[FeedState]:
        """Applied feeds, in the order asked (those never synced are left out)."""
        return self.view().feed_states(feeds)

    def records(
        self, feeds: Sequence[FeedState], plate: str, plate_type: str | None = None
    ) -> list[VehicleRecord]:
        """Every record of ``plate`` (of ``plate_type``, if given) in ``feeds``."""
        return self.certificate_status(feeds, (), plate, plate_type, b"")[1]

    def certificate_status(
        self,
        feeds: Sequence[FeedState],
        serial_feeds: Sequence[FeedState],
        plate: str,
        plate_type: str | None,
        serial: bytes,
    ) -> tuple[bool, list[VehicleRecord]]:
        """Whether ``serial`` is revoked in any of ``serial_feeds``, and the records
        of ``plate`` in ``feeds``, in one statement.

        On the check path each round trip through the sqlite3 module costs more
        than the index lookups themselves, so every feed's tables are asked at once
        (UNION ALL); a revoked serial shows as a row with feed index -1.
        """
        where = "plate = ?" if plate_type is None else "plate = ? AND plate_type = ?"
        key = (plate,) if plate_type is None else (plate, plate_type)
        parts = [
            f"SELECT -1, NULL, NULL, NULL, NULL, NULL FROM {serials_table(f.slot)} WHERE serial = ?"
            for f in serial_feeds
        ]
        parts += [current_vehicles(f.slot, where, lead=f"{i}, ") for i, f in enumerate(feeds)]
        if not parts:
            return False, []
        args = (serial,) * len(serial_feeds) + key * 2 * len(feeds)
        revoked = False
        records = []
        try:
            with self._lock:
                rows = self._conn.execute(" UNION ALL ".join(parts), args).fetchall()
        except sqlite3.OperationalError as exc:
            # One statement is one consistent read; a table gone missing means a
            # sync swapped a feed since the view was taken.
            raise StaleView(str(exc)) from None
        for i, p, t, vt, st, vtype in rows:
            if i < 0:
                revoked = True
            else:
                month = None if vt is None else month_text(vt)
                records.append(VehicleRecord(feeds[i].feed, p, t, month, st, vtype))
        return revoked, records


class FloorReset(NamedTuple):
    """What ``reset_clock_floor`` did: the floor before and after, and the largest
    issued_at / generated_at of the signed data held (0 when none is held)."""

    old: int
    new: int
    held: int


def reset_clock_floor(conn: sqlite3.Connection) -> FloorReset:
    """Set the clock floor back to the newest ``issued_at``/``generated_at`` of the
    trust list and feeds held, never later than it was.

    SPEC 4.3's floor only ever rises, so one far-future signed time would keep
    every check on a wrong "now" for good; this is the administrator's deliberate
    way back (``vicheck init --reset-clock-floor``). The data held is what the
    floor would be had only it been applied, and SPEC 4.3 forbids a "now" earlier
    than that. The device clock plays no part: the floor exists because that clock
    may be wrong (a dead RTC battery reads years behind), so a reset run on such a
    clock must not drop the floor below data already held; the caller warns
    instead. It lives here, not in ``cache.apply``, because it is one statement on
    the table the checks read, not part of applying a sync.
    """
    with transaction(conn):
        old = conn.execute("SELECT clock_floor FROM terminal WHERE id = 1").fetchone()[0]
        held = conn.execute(
            "SELECT coalesce(max(t), 0) FROM (SELECT issued_at AS t FROM trust_list"
            " UNION ALL SELECT generated_at FROM feeds)"
        ).fetchone()[0]
        new = min(old, held)
        conn.execute("UPDATE terminal SET clock_floor = ? WHERE id = 1", (new,))
    return FloorReset(old, new, held)
