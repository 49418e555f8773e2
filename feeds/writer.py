"""The feed format, write side (SPEC 4.1 and 4.2): snapshots, deltas, manifests.

Used by the central side to publish, and by tests and the demo to build feeds
that the sync client then reads over real HTTP. Files are written to a temporary
name and renamed, so a server never serves half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import cbor2

from feeds.format import (
    DELTA_FROM,
    DELTA_PATH,
    DELTA_RECORDS,
    DELTA_SHA256,
    DELTA_SIZE,
    DELTA_TO,
    H_DELTA_RECORDS,
    H_FEED,
    H_FROM,
    H_RECORDS,
    H_TO,
    H_VERSION,
    M_DELTAS,
    M_EXPIRES_AT,
    M_FEED,
    M_GENERATED_AT,
    M_KIND,
    M_SCOPE,
    M_SNAPSHOT,
    M_TOTAL,
    M_VERSION,
    OP_LIFT,
    OP_REMOVE,
    OP_REVOKE,
    OP_VEHICLE,
    SNAP_PATH,
    SNAP_RECORDS,
    SNAP_SHA256,
    SNAP_SIZE,
    SNAP_VERSION,
    FileEntry,
)
from keys.cose import sign1
from keys.keypair import KeyPair

MANIFEST_NAME = "manifest.cose"


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle record as published: ``valid_through`` is ``YYYY-MM`` or None."""

    plate: str
    plate_type: str
    valid_through: str | None
    status: str = "A"
    vehicle_type: str | None = None

    @property
    def key(self) -> tuple[bytes, bytes]:
        return self.plate.encode(), self.plate_type.encode()

    def item(self) -> list[Any]:
        return [
            OP_VEHICLE,
            self.plate,
            self.plate_type,
            self.valid_through,
            self.status,
            self.vehicle_type,
        ]


def revoke(serial: bytes) -> list[Any]:
    return [OP_REVOKE, serial]


def remove(plate: str, plate_type: str) -> list[Any]:
    return [OP_REMOVE, plate, plate_type]


def lift(serial: bytes) -> list[Any]:
    return [OP_LIFT, serial]


def write_items(path: Path, header: Any, items: Iterable[Any]) -> tuple[bytes, int]:
    """Write a gzip CBOR sequence as given (even a malformed one, for tests).

    Returns (sha256, size) of the file written.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
            # cbor2's stub asks for IO[bytes]; typeshed's GzipFile is a BufferedIOBase.
            encoder = cbor2.CBOREncoder(cast(IO[bytes], out))
            encoder.encode(header)
            for item in items:
                encoder.encode(item)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp, path)
    return _digest(path)


def _digest(path: Path) -> tuple[bytes, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.digest(), size


def write_snapshot(
    directory: Path,
    feed: str,
    version: int,
    vehicles: Iterable[Vehicle],
    serials: Iterable[bytes] = (),
    *,
    count: int | None = None,
    presorted: bool = False,
    name: str | None = None,
) -> FileEntry:
    """Write a snapshot in SPEC order. ``presorted`` with ``count`` streams any size."""
    if not presorted:
        vehicles = sorted(vehicles, key=lambda v: v.key)
        serials = sorted(set(serials))
    if count is None:
        vehicles, serials = list(vehicles), list(serials)
        count = len(vehicles) + len(serials)
    name = name or f"snapshot-{version}.cbor.gz"
    items = _chain((v.item() for v in vehicles), (revoke(s) for s in serials))
    sha, size = write_items(
        Path(directory) / name, {H_FEED: feed, H_VERSION: version, H_RECORDS: count}, items
    )
    return FileEntry(name, sha, size, count, version)


def write_delta(
    directory: Path,
    feed: str,
    from_version: int,
    to_version: int,
    operations: Sequence[Any],
    *,
    name: str | None = None,
) -> FileEntry:
    """Write a delta; operations are items: ``Vehicle``, or ``revoke/remove/lift(...)``."""
    items = [op.item() if isinstance(op, Vehicle) else op for op in operations]
    name = name or f"delta-{from_version}-{to_version}.cbor.gz"
    header = {H_FEED: feed, H_FROM: from_version, H_TO: to_version, H_DELTA_RECORDS: len(items)}
    sha, size = write_items(Path(directory) / name, header, items)
    return FileEntry(name, sha, size, len(items), to_version, from_version)


def manifest_payload(
    *,
    feed: str,
    version: int,
    generated_at: int,
    expires_at: int,
    kind: str,
    scope: Sequence[str],
    snapshot: FileEntry,
    deltas: Sequence[FileEntry],
    total: int,
) -> dict[int, Any]:
    return {
        M_FEED: feed,
        M_VERSION: version,
        M_GENERATED_AT: generated_at,
        M_EXPIRES_AT: expires_at,
        M_KIND: kind,
        M_SCOPE: list(scope),
        M_SNAPSHOT: {
            SNAP_VERSION: snapshot.to_version,
            SNAP_PATH: snapshot.path,
            SNAP_SHA256: snapshot.sha256,
            SNAP_SIZE: snapshot.size,
            SNAP_RECORDS: snapshot.records,
        },
        M_DELTAS: [
            {
                DELTA_FROM: d.from_version,
                DELTA_TO: d.to_version,
                DELTA_PATH: d.path,
                DELTA_SHA256: d.sha256,
                DELTA_SIZE: d.size,
                DELTA_RECORDS: d.records,
            }
            for d in deltas
        ],
        M_TOTAL: total,
    }


def sign_manifest(payload: dict[int, Any], key: KeyPair) -> bytes:
    return sign1(cbor2.dumps(payload), key.signing_key, key.kid)


def write_manifest(directory: Path, payload: dict[int, Any], key: KeyPair) -> bytes:
    """Sign and write ``manifest.cose`` last, after the files it names exist."""
    data = sign_manifest(payload, key)
    path = Path(directory) / MANIFEST_NAME
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def _chain(*iterables: Iterable[Any]) -> Iterable[Any]:
    for iterable in iterables:
        yield from iterable
