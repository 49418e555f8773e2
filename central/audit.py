"""The central copy of every terminal's audit chain: enrolled devices, entries, heads.

One SQLite file, ``HOME/audit.db``, beside the registry rather than inside it: a
province's publication holds the registry's write lock for minutes, and an upload
waiting behind it would time out at every terminal of the fleet; and the record of
checks is evidence, kept and backed up on its own terms. Written like the
registry: the schema in one place, ``IF NOT EXISTS``, WAL, explicit transactions,
and ``user_version`` for the migrations a later schema brings.

Entries are stored as the exact bytes the terminal hashed, so the chain is
recomputed from what was received and nothing stored is trusted when verifying;
every accepted upload's signed head is kept, so an entry fabricated past the last
signed head, or the removal of the newest entries, shows (docs/audit-central.md).
Durability is ``synchronous = FULL``: an acknowledgement lets the terminal delete
its copy (after the retention), so what was acknowledged must survive a power cut.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from audit.chain import (
    GENESIS,
    HASH_SIZE,
    AuditFormatError,
    Entry,
    decode,
    device_id,
    encode,
    entry_hash,
    is_device_id,
    verify_chain,
    verify_signature,
)
from audit.verify import DAMAGED, MISSING, ROW, SIGNATURE, Finding, Verification
from audit.wire import (
    BAD_SIGNATURE,
    FORK,
    GAP,
    UNKNOWN_DEVICE,
    Answer,
    Upload,
)
from base.private import private_db
from base.sqlite import transaction
from central.errors import InputError

AUDIT_DB: Final = "audit.db"
SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT: Final = 30.0
"""Seconds a writer waits for the lock (a ``verify`` reading, another upload)."""
AFTER_HEAD: Final = "AFTER_HEAD"
"""A verify problem of the central side: entries past the newest signed head."""
BODY_TIMEOUT: Final = 60
"""Seconds an upload's body may take to arrive (8 MiB at 140 kB/s), in every
front of the endpoint: the app, ``central serve``'s forwarder and nginx."""
HEAD: Final = "HEAD"
"""A verify problem: a kept head names an entry whose hash is not the head's."""

SCHEMA: Final = """
-- One row per enrolled terminal: its id and Ed25519 public key (device add).
CREATE TABLE IF NOT EXISTS devices (
    device     TEXT PRIMARY KEY,          -- vt- and 16 hex digits of SHA-256(key)
    public_key BLOB NOT NULL,             -- 32 bytes
    added_at   INTEGER NOT NULL
);

-- Every entry received, as the exact bytes the terminal hashed and signed.
CREATE TABLE IF NOT EXISTS entries (
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    time        INTEGER NOT NULL,         -- the entry's own time, for export
    body        BLOB NOT NULL,            -- canonical CBOR (docs/audit.md)
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_time ON entries (device, time);

-- The signed head of every accepted upload: the device key's signature over the
-- chain ending at seq. The newest one covers everything held.
CREATE TABLE IF NOT EXISTS heads (
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    signature   BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
"""

MIGRATIONS: Final[dict[int, str]] = {}
"""Statements that bring schema ``n - 1`` to ``n``, for each later ``n``; the first
schema is ``SCHEMA`` itself."""


@dataclass(frozen=True)
class Device:
    device: str
    public_key: bytes
    added_at: int


def parse_public_key(text: str) -> bytes:
    """A public key given on the command line: 64 hex digits."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != HASH_SIZE:
        raise InputError("--public-key is an Ed25519 public key: 64 hex digits")
    return key


class AuditStore:
    """An open ``audit.db``. One connection, shared by the upload app's worker
    threads under one lock: uploads are small and few per second, and serialising
    them makes "continues exactly from what it holds" a plain read-then-write."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        private_db(self.path)
        self.conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT
        )
        self.lock = threading.Lock()
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self._migrate()

    @classmethod
    def of_home(cls, home: Path) -> AuditStore:
        return cls(Path(home) / AUDIT_DB)

    def _migrate(self) -> None:
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise InputError(f"{self.path} is schema {version}, newer than this vicheck knows")
        if version == SCHEMA_VERSION:
            return
        with transaction(self.conn):
            if version == 0:
                for statement in SCHEMA.split(";"):  # executescript would COMMIT our BEGIN
                    if statement.strip():
                        self.conn.execute(statement)
            for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                self.conn.execute(MIGRATIONS[step])
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- devices -------------------------------------------------------------------

    def add_device(self, device: str, public_key: bytes, now: int) -> bool:
        """Enrol ``device`` with ``public_key``; True when new, False when it was
        enrolled with that key already. The id must be the key's (``device_id``), so
        a typo in either is caught here and not at the first upload."""
        if not is_device_id(device):
            raise InputError(f"{device[:40]!r} is not a device id (vt- and 16 hex digits)")
        if device_id(public_key) != device:
            raise InputError(
                f"the public key is device {device_id(public_key)}'s, not {device}'s"
                " (copy both from `vicheck device` on the terminal)"
            )
        with self.lock, transaction(self.conn):
            known = self.device(device)
            if known is not None:
                return False
            self.conn.execute(
                "INSERT INTO devices (device, public_key, added_at) VALUES (?, ?, ?)",
                (device, public_key, now),
            )
        return True

    def device(self, device: str) -> Device | None:
        row = self.conn.execute(
            "SELECT device, public_key, added_at FROM devices WHERE device = ?", (device,)
        ).fetchone()
        return None if row is None else Device(row[0], bytes(row[1]), int(row[2]))

    def devices(self) -> list[Device]:
        rows = self.conn.execute("SELECT device, public_key, added_at FROM devices ORDER BY device")
        return [Device(r[0], bytes(r[1]), int(r[2])) for r in rows]

    def held(self, device: str) -> int:
        """The highest seq held for ``device`` (0: none)."""
        row = self.conn.execute(
            "SELECT max(seq) FROM entries WHERE device = ?", (device,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0])

    # --- receiving -----------------------------------------------------------------

    def receive(self, upload: Upload, now: int) -> Answer:
        """Take an upload already checked by ``audit.wire.decode_upload``: the
        device must be enrolled and the head signed by its key; entries it holds
        must be identical (a resend), the first new one must be ``held + 1`` and
        chain from it. All stored in one transaction, or nothing."""
        with self.lock, transaction(self.conn):
            known = self.device(upload.device)
            if known is None:
                return Answer(0, UNKNOWN_DEVICE, f"device {upload.device} is not enrolled")
            held = self.held(upload.device)
            head = upload.head
            if not verify_signature(
                upload.device, head.seq, head.hash, head.signature, known.public_key
            ):
                detail = "the head signature is not the enrolled key's"
                return Answer(held, BAD_SIGNATURE, detail)
            refusal = self._fits(upload, held)
            if refusal is not None:
                return refusal
            fresh = [e for e in upload.entries if e.seq > held]
            if fresh:
                self._store(upload, fresh, now)
            return Answer(self.held(upload.device))

    def _fits(self, upload: Upload, held: int) -> Answer | None:
        """None when the upload continues the chain held; else the refusal."""
        entries = upload.entries
        first, last = entries[0].seq, entries[-1].seq
        if first <= held:
            stored = dict(
                self.conn.execute(
                    "SELECT seq, body FROM entries WHERE device = ? AND seq BETWEEN ? AND ?",
                    (upload.device, first, min(last, held)),
                )
            )
            for entry in entries:
                if entry.seq > held:
                    break
                body = stored.get(entry.seq)
                if body is None or bytes(body) != _bytes(entry):
                    return Answer(held, FORK, f"entry {entry.seq} differs from the one held")
            return None  # the new ones chain from the last held one, checked by the wire
        if first > held + 1:
            return Answer(held, GAP, f"expected entry {held + 1}, got {first}")
        want = GENESIS if held == 0 else self._hash_of(upload.device, held)
        if entries[0].prev != want:
            detail = f"entry {first} does not chain from entry {held}, the one held"
            return Answer(held, FORK, detail)
        return None

    def _hash_of(self, device: str, seq: int) -> bytes:
        row = self.conn.execute(
            "SELECT body FROM entries WHERE device = ? AND seq = ?", (device, seq)
        ).fetchone()
        return entry_hash(decode(bytes(row[0])))

    def _store(self, upload: Upload, fresh: Sequence[Entry], now: int) -> None:
        self.conn.executemany(
            "INSERT INTO entries (device, seq, time, body, received_at) VALUES (?, ?, ?, ?, ?)",
            [(upload.device, e.seq, e.time, _bytes(e), now) for e in fresh],
        )
        head = upload.head
        self.conn.execute(
            "INSERT OR IGNORE INTO heads (device, seq, hash, signature, received_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (upload.device, head.seq, head.hash, head.signature, now),
        )

    # --- verifying and exporting -----------------------------------------------------

    def verify(self, device: str) -> Verification:
        """Recompute ``device``'s chain from the stored bytes, and check every kept
        head against it; the first entry that does not fit is named."""
        known = self.device(device)
        if known is None:
            raise InputError(f"device {device} is not enrolled")
        with self.lock:
            return _Verifier(self.conn, known).run()

    def export(
        self, device: str, since: int | None = None, until: int | None = None
    ) -> Iterator[dict[str, object]]:
        """``device``'s entries with ``since <= time <= until``, oldest seq first,
        each as the JSON object of docs/audit-central.md ("Export")."""
        if self.device(device) is None:
            raise InputError(f"device {device} is not enrolled")
        sql = "SELECT seq, body, received_at FROM entries WHERE device = ?"
        args: list[object] = [device]
        if since is not None:
            sql, args = sql + " AND time >= ?", [*args, since]
        if until is not None:
            sql, args = sql + " AND time <= ?", [*args, until]
        for seq, body, received in self.conn.execute(sql + " ORDER BY seq", args):
            yield export_json(device, int(seq), bytes(body), int(received))


def export_json(device: str, seq: int, body: bytes, received_at: int) -> dict[str, object]:
    """One entry for an investigator: every field, its hash and prev in hex, and
    the base64-free raw bytes in hex so any tool can re-hash it; a row that no
    longer decodes is exported as such, never skipped."""
    out: dict[str, object] = {"device": device, "seq": seq}
    try:
        entry = decode(body)
    except AuditFormatError as exc:
        return {**out, "damaged": str(exc), "body": body.hex(), "received_at": received_at}
    return {
        **out,
        "time": entry.time,
        "officer": entry.officer,
        "how": entry.how,
        "plate": entry.plate,
        "plate_type": entry.plate_type,
        "serial": entry.serial,
        "verdict": entry.verdict,
        "reasons": list(entry.reasons),
        "trust_list": entry.trust_list,
        "feeds": [[feed, version] for feed, version in entry.feeds],
        "prev": entry.prev.hex(),
        "hash": entry_hash(entry).hex(),
        "received_at": received_at,
        "body": body.hex(),
    }


class _Verifier:
    """One device's verification; trusts no stored value but the enrolled key.

    The kept heads are read first (one per upload: few), so the walk over the
    entries holds one hash at a time, whatever the length of the chain."""

    def __init__(self, conn: sqlite3.Connection, device: Device) -> None:
        self.conn = conn
        self.device = device

    def run(self) -> Verification:
        name, key = self.device.device, self.device.public_key
        heads = {
            int(seq): (bytes(digest), bytes(signature))
            for seq, digest, signature in self.conn.execute(
                "SELECT seq, hash, signature FROM heads WHERE device = ?", (name,)
            )
        }
        last, signed, want_prev = 0, 0, GENESIS
        finding: Finding | None = None
        rows = self.conn.execute(
            "SELECT seq, body FROM entries WHERE device = ? ORDER BY seq", (name,)
        )
        for seq, body in rows:
            entry, finding = _entry(int(seq), bytes(body), last + 1, want_prev)
            if entry is None:
                break
            want_prev, last = entry_hash(entry), entry.seq
            if last in heads:
                finding = _head(name, key, last, want_prev, heads.pop(last))
                if finding is not None:
                    break
                signed = last
        if finding is None:
            finding = _end(name, key, (last, signed), heads)
        return Verification(name, 1, last, last, finding)


def _entry(
    seq: int, body: bytes, want_seq: int, want_prev: bytes
) -> tuple[Entry | None, Finding | None]:
    try:
        entry = decode(body)
    except AuditFormatError as exc:
        return None, Finding(seq, DAMAGED, f"stored bytes are not an entry: {exc}")
    if entry.seq != seq:
        return None, Finding(seq, ROW, f"the row of seq {seq} holds entry {entry.seq}")
    broken = verify_chain([entry], prev=want_prev, first_seq=want_seq)
    if broken is not None:
        detail = broken.describe()
        if broken.problem == "PREV":
            detail += f": entry {want_seq - 1} or {want_seq} was changed, or one removed"
        return None, Finding(broken.seq, broken.problem, detail)
    return entry, None


def _head(
    device: str, key: bytes, seq: int, digest: bytes, kept: tuple[bytes, bytes]
) -> Finding | None:
    """A kept head at ``seq``: it must name that entry's hash, signed by the key."""
    if kept[0] != digest:
        return Finding(seq, HEAD, f"entry {seq} is not the one its signed head names")
    if not verify_signature(device, seq, digest, kept[1], key):
        return Finding(seq, SIGNATURE, "the head signature kept for it is not the device key's")
    return None


def _end(
    device: str, key: bytes, walked: tuple[int, int], heads: dict[int, tuple[bytes, bytes]]
) -> Finding | None:
    """After the walk (``walked``: the last entry held, the last one a head
    covers): no head may name an entry past the last one held (entries removed
    from the end), and every entry held must be covered by a signed head (none
    made up past it)."""
    last, signed = walked
    for seq in sorted(heads):
        digest, signature = heads[seq]
        if not verify_signature(device, seq, digest, signature, key):
            return Finding(seq, SIGNATURE, "a kept head signature is not the device key's")
        detail = f"entries {last + 1} to {seq} were signed for but are missing"
        return Finding(last + 1, MISSING, detail)
    if last > signed:
        detail = f"entries {signed + 1} to {last} are past the newest signed head ({signed})"
        return Finding(signed + 1, AFTER_HEAD, detail)
    return None


def _bytes(entry: Entry) -> bytes:
    return encode(entry)
