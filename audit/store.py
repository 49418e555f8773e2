"""The terminal's audit log: ``DATA_DIR/audit.sqlite``, one row per check.

Append-only in use: ``append`` adds the next entry and its head signature in one
transaction and returns only once it is committed; rows leave only through
``prune``, which deletes a prefix of entries the central side has acknowledged and
that are past the retention, and keeps the last deleted one's seq, hash and
signature as the chain's base, so the rest still verifies.

Durability: WAL with ``synchronous = FULL``, the cache's setting
(cache.store.connect). In WAL mode FULL syncs the log on every commit, so a
committed entry survives a power cut (a handheld's battery pulled mid-shift),
not only a crash of the program; NORMAL would keep a crash's entries but could
lose the last ones to a power cut. The cost is one fsync per check (bench/audit.py).

Plain ``sqlite3`` and ``os``: it is opened on every check.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from nacl.signing import SigningKey

from audit.chain import (
    GENESIS,
    AuditFormatError,
    Entry,
    decode,
    device_id,
    encode,
    sign_head,
)
from base.private import private_db
from base.sqlite import transaction

AUDIT_DB = "audit.sqlite"
SCHEMA_VERSION = 1
DEFAULT_RETENTION = 30 * 24 * 3600
"""How long acknowledged entries stay on the terminal (seconds): 30 days."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    body BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device TEXT NOT NULL,
    base_seq INTEGER NOT NULL,
    base_hash BLOB NOT NULL,
    base_signature BLOB,
    newest INTEGER NOT NULL,
    held INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS officers (
    number TEXT PRIMARY KEY,
    pin_hash TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signin (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    failures INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_from INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);
"""
"""``entries``: seq, time (for prune), the entry's canonical bytes (what is hashed)
and the head signature over it. ``chain``: whose chain it is, its base (seq 0 and
32 zero bytes until a prune), ``newest``, the seq last appended (so a row deleted
at the end shows), and ``held``, the highest seq the central side acknowledged.
``officers`` and ``signin`` are audit.officers' (who may sign in, and the
persisted wrong-PIN lock)."""


class AuditLogError(RuntimeError):
    """The audit log cannot be opened, read or written."""


class Base(NamedTuple):
    """Where the entries held start: the seq and hash of the entry before the
    first one kept (0 and 32 zero bytes before any prune), and that entry's head
    signature (None before any prune)."""

    seq: int
    hash: bytes
    signature: bytes | None


class Row(NamedTuple):
    """One row as stored, for ``audit verify`` (which trusts none of it)."""

    seq: int
    time: int
    body: bytes
    signature: bytes


def connect(path: str) -> sqlite3.Connection:
    """The one way every part of vicheck opens the audit log (file 0600 first)."""
    private_db(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def db_path(data_dir: str | os.PathLike[str]) -> str:
    return os.path.join(data_dir, AUDIT_DB)


def open_db(data_dir: str | os.PathLike[str]) -> sqlite3.Connection:
    """The audit database of ``data_dir``, its schema set up (first use, or a
    data dir older than this feature)."""
    path = db_path(data_dir)
    try:
        conn = connect(path)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise AuditLogError(f"{path} is schema {version}, newer than this vicheck knows")
        if version < SCHEMA_VERSION:
            with transaction(conn):
                # Statement by statement: executescript would COMMIT our BEGIN.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.Error as exc:
        raise AuditLogError(f"cannot open the audit log {path}: {exc}") from None
    return conn


class AuditLog:
    """One data dir's audit log, with the device key that signs its head.

    ``key`` may be None for reading and verifying only (``audit export``); then
    ``append`` refuses. One connection; entries are appended in one process at a
    time per transaction (BEGIN IMMEDIATE), so a TUI and a command-line check on
    the same data dir interleave whole entries, never halves.
    """

    def __init__(self, conn: sqlite3.Connection, key: SigningKey | None) -> None:
        self._conn = conn
        self._key = key
        self.device = device_id(bytes(key.verify_key)) if key is not None else None

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], key: SigningKey | None = None) -> AuditLog:
        return cls(open_db(data_dir), key)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------

    def append(
        self,
        *,
        time: int,
        how: str,
        verdict: str,
        officer: str | None = None,
        plate: str | None = None,
        plate_type: str | None = None,
        serial: str | None = None,
        reasons: Sequence[str] = (),
        trust_list: int | None = None,
        feeds: Sequence[tuple[str, int]] = (),
    ) -> Entry:
        """Add the next entry, signed, and return it once it is committed.
        ``AuditFormatError`` for values no entry may hold; ``AuditLogError`` when
        it cannot be written (disk full, read-only, another device's log)."""
        if self._key is None or self.device is None:
            raise AuditLogError("the audit log was opened without the device key")
        try:
            with transaction(self._conn):
                device, base = self._chain(create_for=self.device)
                if device != self.device:
                    raise AuditLogError(
                        f"the audit log is device {device}'s, the device key is {self.device}'s"
                    )
                last = self._conn.execute(
                    "SELECT seq, body FROM entries ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (base.seq, base.hash) if last is None else (last[0], _sha(last[1]))
                entry = Entry(
                    seq=seq + 1,
                    time=time,
                    officer=officer,
                    how=how,
                    plate=plate,
                    plate_type=plate_type,
                    serial=serial,
                    verdict=verdict,
                    reasons=tuple(reasons),
                    trust_list=trust_list,
                    feeds=tuple(sorted(feeds)),
                    prev=prev,
                )
                signature = sign_head(self.device, entry, self._key)
                self._conn.execute(
                    "INSERT INTO entries (seq, time, body, signature) VALUES (?, ?, ?, ?)",
                    (entry.seq, entry.time, encode(entry), signature),
                )
                self._conn.execute("UPDATE chain SET newest = ? WHERE id = 1", (entry.seq,))
        except sqlite3.Error as exc:
            raise AuditLogError(f"cannot write the audit log: {exc}") from None
        return entry

    def acknowledge(self, held: int) -> int:
        """The central side holds entries up to ``held``: remember it (it never goes
        back, and never past the newest entry here). Returns the mark kept."""
        try:
            with transaction(self._conn):
                _device, base = self._chain()
                newest = self._newest_seq(base)
                self._conn.execute(
                    "UPDATE chain SET held = max(held, min(?, ?)) WHERE id = 1", (held, newest)
                )
                kept: int = self._conn.execute("SELECT held FROM chain WHERE id = 1").fetchone()[0]
        except sqlite3.Error as exc:
            raise AuditLogError(f"cannot write the audit log: {exc}") from None
        return kept

    def prune(self, now: float, retention_seconds: int = DEFAULT_RETENTION) -> int:
        """Delete the oldest entries that the central side holds and that are older
        than the retention: a prefix of the chain only (an entry stays while any
        before it must), the last deleted becoming the base. Returns how many."""
        cutoff = int(now) - retention_seconds
        try:
            with transaction(self._conn):
                _device, base = self._chain()
                held = self.held
                young = self._conn.execute(
                    "SELECT min(seq) FROM entries WHERE time >= ?", (cutoff,)
                ).fetchone()[0]
                cut = held if young is None else min(held, young - 1)
                row = self._conn.execute(
                    "SELECT body, signature FROM entries WHERE seq = ?", (cut,)
                ).fetchone()
                if cut <= base.seq or row is None:
                    return 0
                deleted = self._conn.execute("DELETE FROM entries WHERE seq <= ?", (cut,))
                self._conn.execute(
                    "UPDATE chain SET base_seq = ?, base_hash = ?, base_signature = ? WHERE id = 1",
                    (cut, _sha(row[0]), row[1]),
                )
                return int(deleted.rowcount)
        except sqlite3.Error as exc:
            raise AuditLogError(f"cannot write the audit log: {exc}") from None

    # --- reading ------------------------------------------------------------------

    @property
    def held(self) -> int:
        """The highest seq the central side has acknowledged (0: none)."""
        row = self._conn.execute("SELECT held FROM chain WHERE id = 1").fetchone()
        return 0 if row is None else _seq(row[0], "held")

    def base(self) -> Base:
        return self._chain()[1]

    def newest(self) -> int:
        """The seq last appended, as the chain row remembers it (0: none yet)."""
        row = self._conn.execute("SELECT newest FROM chain WHERE id = 1").fetchone()
        return 0 if row is None else _seq(row[0], "newest")

    def chain_device(self) -> str | None:
        """The device whose chain this is (None before the first entry)."""
        row = self._conn.execute("SELECT device FROM chain WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def head(self) -> tuple[int, bytes, bytes | None]:
        """(seq, hash, head signature) of the newest entry; the base's when none."""
        row = self._conn.execute(
            "SELECT seq, body, signature FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return self.base()
        return int(row[0]), _sha(row[1]), bytes(row[2])

    def since(self, seq: int, limit: int | None = None) -> list[Entry]:
        """The entries after ``seq``, oldest first (at most ``limit``);
        ``AuditLogError`` naming a row that does not decode."""
        sql = "SELECT seq, time, body, signature FROM entries WHERE seq > ? ORDER BY seq"
        args: tuple[int, ...] = (seq,)
        if limit is not None:
            sql, args = sql + " LIMIT ?", (seq, limit)
        out = []
        for row in self._conn.execute(sql, args):
            try:
                out.append(decode(bytes(row[2])))
            except AuditFormatError as exc:
                raise AuditLogError(f"entry {row[0]} is damaged: {exc}") from None
        return out

    def signature(self, seq: int) -> bytes:
        """The head signature made when entry ``seq`` was the newest."""
        row = self._conn.execute("SELECT signature FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise AuditLogError(f"no entry {seq} in the audit log")
        return bytes(row[0])

    def rows(self) -> Iterator[Row]:
        """Every row as stored, in seq order (for verifying, which trusts none)."""
        for seq, time, body, signature in self._conn.execute(
            "SELECT seq, time, body, signature FROM entries ORDER BY seq"
        ):
            yield Row(seq, time, bytes(body), bytes(signature))

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    # --- the chain row --------------------------------------------------------------

    def _chain(self, create_for: str | None = None) -> tuple[str | None, Base]:
        row = self._conn.execute(
            "SELECT device, base_seq, base_hash, base_signature FROM chain WHERE id = 1"
        ).fetchone()
        if row is None:
            if create_for is not None:
                self._conn.execute(
                    "INSERT INTO chain (id, device, base_seq, base_hash, base_signature,"
                    " newest, held) VALUES (1, ?, 0, ?, NULL, 0, 0)",
                    (create_for, GENESIS),
                )
            return create_for, Base(0, GENESIS, None)
        if type(row[0]) is not str or type(row[2]) is not bytes:
            raise AuditLogError("the chain row is damaged: its device or base hash is not one")
        if row[3] is not None and type(row[3]) is not bytes:
            raise AuditLogError("the chain row is damaged: its base signature is not one")
        return row[0], Base(_seq(row[1], "base_seq"), row[2], row[3])

    def _newest_seq(self, base: Base) -> int:
        newest = self._conn.execute("SELECT max(seq) FROM entries").fetchone()[0]
        return base.seq if newest is None else int(newest)


def _seq(value: object, column: str) -> int:
    """A seq read from the chain row, which anyone holding the file can edit: an
    integer SQLite can hold, or ``AuditLogError`` naming the column (never a
    ValueError from deep inside a sync or a verify)."""
    if type(value) is not int or value < 0:
        shown = repr(value)[:40]
        raise AuditLogError(f"the chain row is damaged: {column} is {shown}, not a seq")
    return value


def _sha(body: bytes) -> bytes:
    """An entry's hash from its stored bytes (``entry_hash`` without the decode)."""
    return hashlib.sha256(body).digest()
