"""The cache database's schema and its migrations.

Runs at ``init`` and ``sync``, and on the check path when an updated vicheck opens
an older cache (the checks must keep working offline). Only the first migration,
which ``init`` runs, uses sqlite-utils (~140 ms to import); later ones are plain
SQL. ``PRAGMA user_version`` records the schema version; each migration moves it
forward by one inside a transaction that re-reads it under the write lock, so a
database is never half-migrated and two processes never run the same step.

Layout of ``vicheck.db``:

- ``trust_list``: one row, the newest verified trust list as received (COSE bytes).
- ``feeds``: one row per feed applied: its manifest's version, generated_at,
  expires_at, kind and scope, the record count, when it was synced, and ``slot``,
  the number of the tables that hold its data.
- ``v{slot}`` (vehicles, keyed by plate and plate_type, WITHOUT ROWID),
  ``o{slot}`` (the overlay: vehicle rows changed by deltas since the slot was
  built, same columns, a NULL ``status`` marking a removal) and ``s{slot}``
  (revoked serials): one set per feed. A snapshot is written to a new slot and
  swapped in by one small transaction, so readers never see it half built.
- ``terminal``: one row, the clock floor (SPEC 4.3).

Why an overlay: a day's delta touches ~30k vehicles spread over a 10M-row table,
so updating them in place dirties ~20k pages of it, and writing those to the WAL
and checkpointing them back costs more than the rest of the sync. Written to the
overlay, the same delta dirties a few hundred pages. What a check sees is the
overlay's row where there is one, else the base row (``current_vehicles``). The
overlay is merged into the base now and then (``cache.apply``), when it has
grown enough that one merge does the work of several days at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from base.sqlite import transaction

SCHEMA_VERSION = 2


def _v1(conn: sqlite3.Connection) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    db.table("trust_list").create(
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
    db.table("feeds").create(
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
    db.table("terminal").create({"id": int, "clock_floor": int}, pk="id", not_null={"clock_floor"})
    # Plain SQL: sqlite-utils' insert would commit the migration's transaction early.
    conn.execute("INSERT INTO terminal (id, clock_floor) VALUES (1, 0)")
    db.table("slots").create({"slot": int, "feed": str, "created_at": int}, pk="slot")


def ensure_overlays(conn: sqlite3.Connection) -> None:
    """Give every slot its overlay (plain SQL: a check may run this migration).

    Also run by every sync: a sync of an older vicheck that was still running when
    a newer one migrated the cache may have swapped in a slot without one.
    """
    for slot in missing_overlays(conn):
        conn.execute(_vehicle_table_sql(overlay_table(slot), ""))


def missing_overlays(conn: sqlite3.Connection) -> list[int]:
    """The slots whose overlay table does not exist."""
    slots = [row[0] for row in conn.execute("SELECT slot FROM slots")]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return [slot for slot in slots if overlay_table(slot) not in tables]


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, ensure_overlays]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``SCHEMA_VERSION``; returns the version it started at."""
    start = _user_version(conn)
    if start > SCHEMA_VERSION:
        raise RuntimeError(
            f"cache schema {start} is newer than this vicheck understands ({SCHEMA_VERSION})"
        )
    for version in range(start, SCHEMA_VERSION):
        with transaction(conn):
            if _user_version(conn) == version:  # else another process did this step
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
    return start


def _user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def vehicles_table(slot: int) -> str:
    return f"v{int(slot)}"


def serials_table(slot: int) -> str:
    return f"s{int(slot)}"


def overlay_table(slot: int) -> str:
    return f"o{int(slot)}"


SLOT_TABLE_PREFIXES = "vos"
"""The first letters of slot table names (a digit string follows)."""

VEHICLE_COLUMNS = "plate, plate_type, valid_through, status, vehicle_type"


def _vehicle_table_sql(name: str, status: str) -> str:
    """A vehicles table (``status`` NOT NULL) or an overlay (NULL status: removed)."""
    return (
        f"CREATE TABLE {name} (plate TEXT NOT NULL, plate_type TEXT NOT NULL,"
        f" valid_through INTEGER, status TEXT{status}, vehicle_type TEXT,"
        " PRIMARY KEY (plate, plate_type)) WITHOUT ROWID"
    )


def current_vehicles(slot: int, where: str, lead: str = "") -> str:
    """A SELECT of the vehicle rows a check sees in ``slot``, filtered by ``where``
    (its placeholders are bound twice, once per table), each row led by ``lead``.

    The overlay's live rows, then the base rows the overlay does not shadow: two
    index probes per key, with the overlay small enough to stay in the page cache.
    """
    v, o = vehicles_table(slot), overlay_table(slot)
    return (
        f"SELECT {lead}{VEHICLE_COLUMNS} FROM {o} WHERE {where} AND status IS NOT NULL"
        f" UNION ALL SELECT {lead}{VEHICLE_COLUMNS} FROM {v} WHERE {where} AND NOT EXISTS"
        f" (SELECT 1 FROM {o} WHERE {o}.plate = {v}.plate AND {o}.plate_type = {v}.plate_type)"
    )


def create_slot_tables(conn: sqlite3.Connection, slot: int) -> None:
    conn.execute(_vehicle_table_sql(vehicles_table(slot), " NOT NULL"))
    # Plain CREATE: a leftover table of a reused slot number is an error, not data.
    conn.execute(_vehicle_table_sql(overlay_table(slot), ""))
    conn.execute(
        f"CREATE TABLE {serials_table(slot)} (serial BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID"
    )


def drop_slot_tables(conn: sqlite3.Connection, slot: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {vehicles_table(slot)}")
    conn.execute(f"DROP TABLE IF EXISTS {overlay_table(slot)}")
    conn.execute(f"DROP TABLE IF EXISTS {serials_table(slot)}")
