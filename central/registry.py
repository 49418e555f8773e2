"""The central vehicle registry: one SQLite file, its schema, and the record rules.

SQLite is the embedded default: a province's registry of ten million vehicles is a
few hundred megabytes, and publishing reads it in key order, which is the feed
order (SQLite's BINARY collation compares UTF-8 bytes, as SPEC 4.2 sorts).

Changes are tracked by triggers into ``changes`` once a feed has been published, so
``central publish`` compares only the vehicles that changed with what it published
last (``published``), whatever the size of the registry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from base.private import private_db, repair_entries
from base.sqlite import transaction
from central.errors import RegistryError
from feeds.format import FeedFormatError, ItemChecker
from feeds.writer import Vehicle
from keys.fields import is_month

SCHEMA = """
-- One row per registered vehicle (机动车), keyed as the feeds key it.
CREATE TABLE IF NOT EXISTS vehicles (
    plate         TEXT NOT NULL,               -- 号牌号码, SPEC section 5 normal form
    plate_type    TEXT NOT NULL,               -- 号牌种类, two digits
    vehicle_type  TEXT,                        -- 车辆类型, e.g. K33
    operating     INTEGER NOT NULL DEFAULT 0,  -- 1: operating (营运) use
    registered    TEXT,                        -- 初次登记日期, YYYY-MM
    valid_through TEXT,                        -- 检验有效期至, YYYY-MM
    status        TEXT NOT NULL DEFAULT 'A',   -- 机动车状态 letters, SPEC section 6
    PRIMARY KEY (plate, plate_type)
) WITHOUT ROWID;

-- Every certificate issued; a revoked one has revoked_at set.
CREATE TABLE IF NOT EXISTS certificates (
    serial        BLOB PRIMARY KEY,
    plate         TEXT NOT NULL,
    plate_type    TEXT NOT NULL,
    valid_through TEXT NOT NULL,
    basis         INTEGER NOT NULL,
    issued_at     INTEGER NOT NULL,
    kid           BLOB NOT NULL,
    revoked_at    INTEGER
);

-- Vehicles changed since the last publication (filled by the triggers below).
CREATE TABLE IF NOT EXISTS changes (
    plate TEXT NOT NULL, plate_type TEXT NOT NULL, PRIMARY KEY (plate, plate_type)
) WITHOUT ROWID;

-- Publication state: one row per feed, the files published, the records published.
CREATE TABLE IF NOT EXISTS feeds (
    feed             TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,     -- full | hotlist
    scope            TEXT NOT NULL,     -- JSON array of plate prefixes
    version          INTEGER NOT NULL,
    total            INTEGER NOT NULL,  -- records plus revoked serials at version
    snapshot_version INTEGER NOT NULL,
    snapshot_at      INTEGER NOT NULL,
    listed           TEXT NOT NULL DEFAULT '[]'  -- JSON: paths the last manifest named
);
CREATE TABLE IF NOT EXISTS feed_files (
    feed         TEXT NOT NULL,
    path         TEXT NOT NULL,
    from_version INTEGER,               -- NULL for a snapshot
    to_version   INTEGER NOT NULL,
    sha256       BLOB NOT NULL,
    size         INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (feed, path)
);
CREATE TABLE IF NOT EXISTS published (
    feed TEXT NOT NULL, plate TEXT NOT NULL, plate_type TEXT NOT NULL,
    valid_through TEXT, status TEXT NOT NULL, vehicle_type TEXT,
    PRIMARY KEY (feed, plate, plate_type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS published_serials (
    feed TEXT NOT NULL, serial BLOB NOT NULL, PRIMARY KEY (feed, serial)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS vehicles_insert AFTER INSERT ON vehicles
WHEN EXISTS (SELECT 1 FROM feeds) BEGIN
    INSERT OR IGNORE INTO changes VALUES (NEW.plate, NEW.plate_type);
END;
CREATE TRIGGER IF NOT EXISTS vehicles_update AFTER UPDATE ON vehicles
WHEN EXISTS (SELECT 1 FROM feeds) BEGIN
    INSERT OR IGNORE INTO changes VALUES (OLD.plate, OLD.plate_type);
    INSERT OR IGNORE INTO changes VALUES (NEW.plate, NEW.plate_type);
END;
CREATE TRIGGER IF NOT EXISTS vehicles_delete AFTER DELETE ON vehicles
WHEN EXISTS (SELECT 1 FROM feeds) BEGIN
    INSERT OR IGNORE INTO changes VALUES (OLD.plate, OLD.plate_type);
END;
"""

HOME_PRIVATE = ("keys", "keys.toml", "trustlist.version", "trustlist.version.part")
"""What else of a central home (the registry's folder) is its owner's only; the
registry's own files, its SQLite sidecars and lock files, start with its name.
``public/`` is not here: it is what the world is served."""

VEHICLE_COLUMNS = (
    "plate",
    "plate_type",
    "vehicle_type",
    "operating",
    "registered",
    "valid_through",
    "status",
)


class RegistryVehicle(NamedTuple):
    """A registry row, in ``VEHICLE_COLUMNS`` order."""

    plate: str
    plate_type: str
    vehicle_type: str | None
    operating: int
    registered: str | None
    valid_through: str | None
    status: str

    def feed_record(self) -> Vehicle:
        return Vehicle(
            self.plate, self.plate_type, self.valid_through, self.status, self.vehicle_type
        )


def check_vehicle(row: RegistryVehicle, where: str, checker: ItemChecker | None = None) -> None:
    """Raise ``RegistryError`` naming ``where`` when a row could not be published:
    the feed's own item checker decides, so the registry never holds what a terminal
    would refuse."""
    try:
        (checker or ItemChecker()).vehicle(row.feed_record().item())
    except FeedFormatError as exc:
        raise RegistryError(f"{where}: {exc}") from None
    if row.registered is not None and not is_month(row.registered):
        raise RegistryError(f"{where}: bad registration month {row.registered!r}")
    if row.operating not in (0, 1):
        raise RegistryError(f"{where}: operating must be 0 or 1, not {row.operating!r}")


def _private_home(path: Path) -> None:
    """Make the registry ``path`` 0600 before SQLite opens it (SQLite would create
    it 0644, and gives its -wal and -shm files the database's mode), and bring what
    an older install left at 0644/0755 in its home to 0600/0700.

    The home folder itself keeps its mode: ``public/`` in it is served, and a web
    server running as another user must be able to reach it.
    """
    private_db(path)
    repair_entries(path.parent, HOME_PRIVATE, (path.name,))


class Registry:
    """An open registry file. Transactions are explicit (``with registry.transaction()``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private_home(self.path)
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for bulk work
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """All or nothing: an exception rolls everything back."""
        return transaction(self.conn)

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM vehicles").fetchone()[0])

    def vehicles(self, plate: str, plate_type: str | None = None) -> list[RegistryVehicle]:
        sql = f"SELECT {', '.join(VEHICLE_COLUMNS)} FROM vehicles WHERE plate = ?"
        args: tuple[str, ...] = (plate,)
        if plate_type is not None:
            sql, args = sql + " AND plate_type = ?", (plate, plate_type)
        return [
            RegistryVehicle(*row) for row in self.conn.execute(sql + " ORDER BY plate_type", args)
        ]

    def put(self, vehicles: Iterable[RegistryVehicle]) -> None:
        """Register vehicles, replacing any of the same plate and type; each row is
        checked first, so a refused one names itself and nothing is written."""
        rows = list(vehicles)
        for row in rows:
            check_vehicle(row, f"vehicle {row.plate} type {row.plate_type}")
        with self.transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO vehicles ({', '.join(VEHICLE_COLUMNS)})"
                " VALUES (?,?,?,?,?,?,?)",
                rows,
            )

    def set_validity(self, vehicle: RegistryVehicle, valid_through: str, status: str) -> None:
        self.conn.execute(
            "UPDATE vehicles SET valid_through = ?, status = ? WHERE plate = ? AND plate_type = ?",
            (valid_through, status, vehicle.plate, vehicle.plate_type),
        )

    def record_certificate(
        self,
        serial: bytes,
        vehicle: RegistryVehicle,
        valid_through: str,
        basis: int,
        issued_at: int,
        kid: bytes,
    ) -> None:
        self.conn.execute(
            "INSERT INTO certificates (serial, plate, plate_type, valid_through, basis,"
            " issued_at, kid) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (serial, vehicle.plate, vehicle.plate_type, valid_through, basis, issued_at, kid),
        )

    def revoke(self, serial: bytes, at: int) -> None:
        """Revoke an issued certificate; the next publication carries it."""
        row = self.conn.execute(
            "SELECT revoked_at FROM certificates WHERE serial = ?", (serial,)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no certificate with serial {serial.hex()} was issued here")
        if row[0] is None:
            self.conn.execute(
                "UPDATE certificates SET revoked_at = ? WHERE serial = ?", (at, serial)
            )
