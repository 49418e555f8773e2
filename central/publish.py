"""``central publish``: the registry as signed feeds (SPEC section 4).

Each run publishes every feed the registry knows (and any new one it is given):
one delta per feed with what changed since the last publication (a trivial empty
delta when nothing did, so the fresh manifest's new expiry reaches terminals), a
fresh snapshot when one is due, then a manifest with a short expiry.

Order of work, so that a crash at any point leaves served state whole:

1. in one registry transaction: compare the changed vehicles with what was
   published, update the published state, write the new delta and snapshot files
   (new names, never one a manifest already names), record them, commit;
2. write each manifest (atomically, after checking every file it names is there);
3. delete files that neither this manifest nor the previous one names (a terminal
   that just fetched the previous manifest can still download its files).

A crash in 1 rolls back (the next run writes the same version again); between 1
and 2 the old manifest stays served, naming old files that still exist, and the
next run's manifest chains through the committed version.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from base.private import open_private
from central.errors import InputError, RegistryError
from central.keysconfig import refuse_future
from central.registry import Registry
from feeds.format import FeedFormatError, FileEntry, ItemChecker
from feeds.model import KIND_FULL, KIND_HOTLIST, is_feed_id
from feeds.writer import (
    MANIFEST_NAME,
    Vehicle,
    lift,
    manifest_payload,
    remove,
    revoke,
    write_delta,
    write_manifest,
    write_snapshot,
)
from keys.fields import PROVINCES
from keys.keypair import KeyPair
from keys.reasons import ALERT_LETTERS, has_alert
from keys.trustlist import TrustListError, load_trust_list
from keys.wire import ROLE_FEED, SCOPE_ALL

TRUST_LIST_NAME = "trustlist.cose"

DAY = 86400
FILE_PREFIXES = ("snapshot-", "delta-")


@dataclass(frozen=True)
class FeedSpec:
    """What a feed publishes: a province's full feed, or the alert hotlist."""

    feed: str
    kind: str
    scope: tuple[str, ...]

    def check(self) -> None:
        if not is_feed_id(self.feed):
            raise InputError(f"feed id {self.feed!r} does not match [a-z0-9-]{{1,32}}")
        if self.kind == KIND_HOTLIST and self.scope != (SCOPE_ALL,):
            raise InputError(f'hotlist {self.feed}: the scope of a hotlist is exactly ["*"]')
        if (
            self.kind == KIND_FULL
            and not all(s == SCOPE_ALL or (s and s[0] in PROVINCES) for s in self.scope)
        ) or not self.scope:
            raise InputError(f"feed {self.feed}: scope {list(self.scope)} is not plate prefixes")

    def holds(self, plate: str, status: str) -> bool:
        """Whether a registry vehicle belongs in this feed."""
        if self.kind == KIND_HOTLIST:
            return has_alert(status)
        return any(s == SCOPE_ALL or plate.startswith(s) for s in self.scope)

    def holds_serial(self, plate: str) -> bool:
        """Revoked serials go in the full feeds that cover the certificate's plate."""
        return self.kind == KIND_FULL and self.holds(plate, "A")

    def where(self) -> tuple[str, list[str]]:
        """``holds`` as SQL over ``vehicles``, for the first snapshot."""
        if self.kind == KIND_HOTLIST:
            return f"status GLOB '*[{ALERT_LETTERS}]*'", []
        if SCOPE_ALL in self.scope:
            return "1", []
        args: list[str] = []
        for s in self.scope:
            args += [str(len(s)), s]
        return " OR ".join(["substr(plate, 1, ?) = ?"] * len(self.scope)), args


@dataclass(frozen=True)
class PublishSettings:
    out: Path  # the served root: feeds/{feed}/ is written below it
    key: KeyPair
    now: int
    expires: int = 2 * DAY
    keep_days: int = 7
    snapshot_days: int = 7
    force_snapshot: bool = False


@dataclass(frozen=True)
class FeedResult:
    feed: str
    version: int
    total: int
    delta_records: int
    snapshot: bool

    def to_json(self) -> dict[str, object]:
        return {
            "feed": self.feed,
            "version": self.version,
            "total": self.total,
            "delta_records": self.delta_records,
            "snapshot": self.snapshot,
        }


@dataclass
class _State:
    feed: str
    kind: str
    scope: tuple[str, ...]
    version: int
    total: int
    snapshot_version: int
    snapshot_at: int
    listed: list[str]


def publish(
    registry: Registry, new_feeds: Sequence[FeedSpec], settings: PublishSettings
) -> list[FeedResult]:
    """Publish every feed of the registry plus ``new_feeds``; see the module doc."""
    refuse_future(settings.now, "feed manifests")  # their generated_at is settings.now
    for spec in new_feeds:
        spec.check()
    with _lock(registry.path), registry.transaction() as conn:
        states = _states(conn)
        specs = [FeedSpec(s.feed, s.kind, s.scope) for s in states.values()]
        for spec in new_feeds:
            held = states.get(spec.feed)
            if held is None:
                if spec not in specs:
                    specs.append(spec)
            elif (held.kind, held.scope) != (spec.kind, spec.scope):
                raise InputError(
                    f"feed {spec.feed} is published as {held.kind} {list(held.scope)};"
                    f" it cannot become {spec.kind} {list(spec.scope)}"
                )
        if not specs:
            raise InputError("no feed to publish: name one with --feed and --scope")
        _check_authority(specs, settings)
        changed = conn.execute("SELECT plate, plate_type FROM changes").fetchall()
        results = []
        for spec in specs:
            directory = settings.out / "feeds" / spec.feed
            directory.mkdir(parents=True, exist_ok=True)
            state = states.get(spec.feed)
            if state is None:
                results.append(_first(conn, spec, directory, settings))
            else:
                results.append(_next(conn, spec, state, changed, directory, settings))
        conn.execute("DELETE FROM changes")
    with _lock(registry.path):
        for spec in specs:
            _manifest_and_prune(registry, spec, settings)
    return results


def published_feeds(registry: Registry) -> list[FeedSpec]:
    """The feeds this registry publishes, as they were first published."""
    return [FeedSpec(s.feed, s.kind, s.scope) for s in _states(registry.conn).values()]


def _check_authority(specs: Sequence[FeedSpec], settings: PublishSettings) -> None:
    """Refuse what terminals would refuse (SPEC 4.3 step 1): a feed key the published
    trust list does not name, or does not allow for the feed, and a full feed whose
    scope goes beyond the key's covers."""
    trust_file = settings.out / TRUST_LIST_NAME
    try:
        trust = load_trust_list(trust_file.read_bytes())
    except (OSError, TrustListError):
        raise InputError(
            f"no trust list at {trust_file}: sign it first (central trustlist)"
        ) from None
    entry = trust.key(settings.key.kid)
    if entry is None or entry.role != ROLE_FEED:
        raise InputError(
            f"feed key {settings.key.kid.hex()} is not a feed key of the published trust list"
        )
    for spec in specs:
        if not entry.covers_feed(spec.feed):
            raise InputError(f"feed {spec.feed}: the key's scope {list(entry.scope)} omits it")
        if spec.kind == KIND_FULL and not entry.covers_scope(spec.scope):
            raise InputError(
                f"feed {spec.feed}: scope {list(spec.scope)} goes beyond the key's covers"
                f" {list(entry.covers)}; terminals would refuse it"
            )


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One publisher at a time per registry, manifests included."""
    with open_private(path.with_name(path.name + ".publish-lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _states(conn: sqlite3.Connection) -> dict[str, _State]:
    rows = conn.execute(
        "SELECT feed, kind, scope, version, total, snapshot_version, snapshot_at, listed"
        " FROM feeds ORDER BY feed"
    )
    return {
        r[0]: _State(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5], r[6], json.loads(r[7]))
        for r in rows
    }


def _first(
    conn: sqlite3.Connection, spec: FeedSpec, directory: Path, settings: PublishSettings
) -> FeedResult:
    """Version 1 of a new feed: everything it holds, as a snapshot."""
    where, args = spec.where()
    conn.execute(
        "INSERT INTO published SELECT ?, plate, plate_type, valid_through, status, vehicle_type"
        f" FROM vehicles WHERE {where}",
        [spec.feed, *args],
    )
    if spec.kind == KIND_FULL:
        serials = conn.execute(
            "SELECT serial, plate FROM certificates WHERE revoked_at IS NOT NULL"
        ).fetchall()
        conn.executemany(
            "INSERT INTO published_serials VALUES (?, ?)",
            [(spec.feed, s) for s, plate in serials if spec.holds_serial(plate)],
        )
    total = _count(conn, spec.feed)
    entry = _snapshot(conn, spec.feed, 1, total, directory)
    _record(conn, spec.feed, entry, settings.now)
    conn.execute(
        "INSERT INTO feeds (feed, kind, scope, version, total, snapshot_version, snapshot_at)"
        " VALUES (?, ?, ?, 1, ?, 1, ?)",
        (
            spec.feed,
            spec.kind,
            json.dumps(list(spec.scope), ensure_ascii=False),
            total,
            settings.now,
        ),
    )
    return FeedResult(spec.feed, 1, total, 0, True)


def _count(conn: sqlite3.Connection, feed: str) -> int:
    vehicles = conn.execute("SELECT count(*) FROM published WHERE feed = ?", (feed,)).fetchone()
    serials = conn.execute(
        "SELECT count(*) FROM published_serials WHERE feed = ?", (feed,)
    ).fetchone()
    return int(vehicles[0]) + int(serials[0])


def _next(
    conn: sqlite3.Connection,
    spec: FeedSpec,
    state: _State,
    changed: list[tuple[str, str]],
    directory: Path,
    settings: PublishSettings,
) -> FeedResult:
    """The next version: one delta from the changes, and a snapshot when one is due."""
    version = state.version + 1
    ops, growth = _vehicle_ops(conn, spec, changed)
    serial_ops, serial_growth = _serial_ops(conn, spec)
    ops += serial_ops
    total = state.total + growth + serial_growth
    entry = write_delta(directory, spec.feed, state.version, version, ops)
    _record(conn, spec.feed, entry, settings.now)
    due = (
        settings.force_snapshot or state.snapshot_at + settings.snapshot_days * DAY <= settings.now
    )
    snapshot_version, snapshot_at = state.snapshot_version, state.snapshot_at
    if due:
        _record(
            conn, spec.feed, _snapshot(conn, spec.feed, version, total, directory), settings.now
        )
        snapshot_version, snapshot_at = version, settings.now
    conn.execute(
        "UPDATE feeds SET version = ?, total = ?, snapshot_version = ?, snapshot_at = ?"
        " WHERE feed = ?",
        (version, total, snapshot_version, snapshot_at, spec.feed),
    )
    return FeedResult(spec.feed, version, total, len(ops), due)


def _vehicle_ops(
    conn: sqlite3.Connection, spec: FeedSpec, changed: list[tuple[str, str]]
) -> tuple[list[Any], int]:
    """Compare each changed vehicle with what this feed published; update that."""
    checker = ItemChecker()
    ops: list[Any] = []
    growth = 0
    for plate, plate_type in changed:
        row = conn.execute(
            "SELECT valid_through, status, vehicle_type FROM vehicles"
            " WHERE plate = ? AND plate_type = ?",
            (plate, plate_type),
        ).fetchone()
        old = conn.execute(
            "SELECT valid_through, status, vehicle_type FROM published"
            " WHERE feed = ? AND plate = ? AND plate_type = ?",
            (spec.feed, plate, plate_type),
        ).fetchone()
        new = row if row is not None and spec.holds(plate, row[1]) else None
        if new is not None and new != old:
            vehicle = _checked(checker, Vehicle(plate, plate_type, *new))
            ops.append(vehicle)
            conn.execute(
                "INSERT OR REPLACE INTO published VALUES (?, ?, ?, ?, ?, ?)",
                (spec.feed, plate, plate_type, *new),
            )
            growth += old is None
        elif new is None and old is not None:
            ops.append(remove(plate, plate_type))
            conn.execute(
                "DELETE FROM published WHERE feed = ? AND plate = ? AND plate_type = ?",
                (spec.feed, plate, plate_type),
            )
            growth -= 1
    return ops, growth


def _serial_ops(conn: sqlite3.Connection, spec: FeedSpec) -> tuple[list[Any], int]:
    """Revocations since the last publication, and revocations lifted."""
    current = {
        serial
        for serial, plate in conn.execute(
            "SELECT serial, plate FROM certificates WHERE revoked_at IS NOT NULL"
        )
        if spec.holds_serial(plate)
    }
    held = {
        s
        for (s,) in conn.execute(
            "SELECT serial FROM published_serials WHERE feed = ?", (spec.feed,)
        )
    }
    ops: list[Any] = [revoke(s) for s in sorted(current - held)]
    ops += [lift(s) for s in sorted(held - current)]
    conn.executemany(
        "INSERT INTO published_serials VALUES (?, ?)", [(spec.feed, s) for s in current - held]
    )
    conn.executemany(
        "DELETE FROM published_serials WHERE feed = ? AND serial = ?",
        [(spec.feed, s) for s in held - current],
    )
    return ops, len(current - held) - len(held - current)


def _checked(checker: ItemChecker, vehicle: Vehicle) -> Vehicle:
    """A registry row a terminal would refuse stops the publication, naming it."""
    try:
        checker.vehicle(vehicle.item())
    except FeedFormatError as exc:
        raise RegistryError(
            f"registry vehicle {vehicle.plate!r} type {vehicle.plate_type!r}: {exc}"
        ) from None
    return vehicle


def _snapshot(
    conn: sqlite3.Connection, feed: str, version: int, total: int, directory: Path
) -> FileEntry:
    """Stream the published state, already in SPEC order by its primary key."""
    checker = ItemChecker()
    rows = conn.execute(
        "SELECT plate, plate_type, valid_through, status, vehicle_type FROM published"
        " WHERE feed = ? ORDER BY feed, plate, plate_type",
        (feed,),
    )
    vehicles = (_checked(checker, Vehicle(*row)) for row in rows)
    serials = conn.execute(
        "SELECT serial FROM published_serials WHERE feed = ? ORDER BY feed, serial", (feed,)
    )
    return write_snapshot(
        directory,
        feed,
        version,
        vehicles,
        (s for (s,) in serials),
        count=total,
        presorted=True,
    )


def _record(conn: sqlite3.Connection, feed: str, entry: FileEntry, now: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO feed_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            feed,
            entry.path,
            entry.from_version,
            entry.to_version,
            entry.sha256,
            entry.size,
            entry.records,
            now,
        ),
    )


def _manifest_and_prune(registry: Registry, spec: FeedSpec, settings: PublishSettings) -> None:
    conn = registry.conn
    state = _states(conn)[spec.feed]
    directory = settings.out / "feeds" / spec.feed
    files = [
        (FileEntry(r[0], r[3], r[4], r[5], r[2], r[1]), r[6])
        for r in conn.execute(
            "SELECT path, from_version, to_version, sha256, size, records, created_at"
            " FROM feed_files WHERE feed = ? ORDER BY to_version, from_version",
            (spec.feed,),
        )
    ]
    snapshot = next(e for e, _ in files if e.is_snapshot and e.to_version == state.snapshot_version)
    horizon = settings.now - settings.keep_days * DAY
    held_then = max((e.to_version for e, at in files if at <= horizon), default=1)
    start = min(snapshot.to_version, held_then)
    deltas = [e for e, _ in files if not e.is_snapshot and e.from_version >= start]  # type: ignore[operator]
    for entry in (snapshot, *deltas):
        path = directory / entry.path
        if not path.is_file() or path.stat().st_size != entry.size:
            raise RuntimeError(f"{path} is missing or not {entry.size} bytes: not publishing it")
    payload = manifest_payload(
        feed=spec.feed,
        version=state.version,
        generated_at=settings.now,
        expires_at=settings.now + settings.expires,
        kind=spec.kind,
        scope=spec.scope,
        snapshot=snapshot,
        deltas=deltas,
        total=state.total,
    )
    write_manifest(directory, payload, settings.key)
    listed = [snapshot.path, *(d.path for d in deltas)]
    keep = set(listed) | set(state.listed)
    with registry.transaction():
        conn.execute("UPDATE feeds SET listed = ? WHERE feed = ?", (json.dumps(listed), spec.feed))
        for entry, _ in files:
            if entry.path not in keep:
                conn.execute(
                    "DELETE FROM feed_files WHERE feed = ? AND path = ?", (spec.feed, entry.path)
                )
    for path in directory.iterdir():
        stale = path.name.startswith(FILE_PREFIXES) and path.name not in keep
        if stale or (path.name.endswith(".part") and path.name != MANIFEST_NAME):
            path.unlink(missing_ok=True)
