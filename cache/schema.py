"""The cache database's schema and its migrations.

Runs at ``init`` and ``sync`` (never on the check path: sqlite-utils costs ~140 ms
to import). ``PRAGMA user_version`` records the schema version; each migration
moves it forward by one inside a transaction, so a database is never half-migrated.

Layout of ``vicheck.db``:

- ``trust_list``: one row, the newest verified trust list as received (COSE bytes).
- ``feeds``: one row per feed applied: its manifest's version, generated_at,
  expires_at, kind and scope, the record count, when it was synced, and ``slot``,
  the number of the tables that hold its data.
- ``v{slot}`` (vehicles, keyed by plate and plate_type, WITHOUT ROWID) and
  ``s{slot}`` (revoked serials): one pair per feed. A snapshot is written to a new
  slot and swapped in by one small transaction, so readers never see it half built.
- ``terminal``: one row, the clock floor (SPEC 4.3).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SCHEMA_VERSION = 1


def _v1(conn: sqlite3.Connection) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    db["trust_list"].create(
        {
            "id": int,
            "version": int,
            "issued_at": int,
            "expires_at": int,
            "cose": bytes,
            "fetched_at": int,
        },
        pk="id",
        not_null={"version", "issued_at", "expires_at", "cose", "fetched_at"},
    )
    db["feeds"].create(
        {
            "feed": str,
            "slot": int,
            "kind": str,
            "scope": str,
            "version": int,
            "generated_at": int,
            "expires_at": int,
            "total": int,
            "synced_at": int,
        },
        pk="feed",
        not_null={"slot", "kind", "scope", "version", "generated_at", "expires_at", "total"},
    )
    db["terminal"].create({"id": int, "clock_floor": int}, pk="id", not_null={"clock_floor"})
    # Plain SQL: sqlite-utils' insert would commit the migration's transaction early.
    conn.execute("INSERT INTO terminal (id, clock_floor) VALUES (1, 0)")
    db["slots"].create({"slot": int, "feed": str, "created_at": int}, pk="slot")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing on an autocommit connection: BEGIN IMMEDIATE takes the write
    lock up front (no deadlock upgrading a read), an exception rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``SCHEMA_VERSION``; returns the version it started at."""
    start = conn.execute("PRAGMA user_version").fetchone()[0]
    if start > SCHEMA_VERSION:
        raise RuntimeError(
            f"cache schema {start} is newer than this vicheck understands ({SCHEMA_VERSION})"
        )
    for version in range(start, SCHEMA_VERSION):
        with transaction(conn):
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return start


def vehicles_table(slot: int) -> str:
    return f"v{int(slot)}"


def serials_table(slot: int) -> str:
    return f"s{int(slot)}"


def create_slot_tables(conn: sqlite3.Connection, slot: int) -> None:
    conn.execute(
        f"CREATE TABLE {vehicles_table(slot)} ("
        " plate TEXT NOT NULL, plate_type TEXT NOT NULL, valid_through INTEGER,"
        " status TEXT NOT NULL, vehicle_type TEXT,"
        " PRIMARY KEY (plate, plate_type)) WITHOUT ROWID"
    )
    conn.execute(
        f"CREATE TABLE {serials_table(slot)} (serial BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID"
    )


def drop_slot_tables(conn: sqlite3.Connection, slot: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {vehicles_table(slot)}")
    conn.execute(f"DROP TABLE IF EXISTS {serials_table(slot)}")
