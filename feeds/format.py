"""The feed wire format of SPEC section 4, both ways: reading and checking it here,
writing it in ``feeds.writer``.

Items are validated one at a time as they stream past, so a feed of any size is
checked in constant memory. Anything that is not exactly the SPEC's shape raises
``FeedFormatError``; the sync client turns that into a refused file.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any, Final, NamedTuple, Protocol

import cbor2

from feeds.model import KIND_FULL, KIND_HOTLIST, month_index
from keys.cbor import (
    Malformed,
    decode_one,
    is_array,
    is_bstr,
    is_map,
    is_tstr,
    is_uint,
    require,
    require_map,
    strict_decoder,
)
from keys.fields import MONTH_RE, PLATE_RE, PLATE_TYPE_RE
from keys.reasons import has_alert
from keys.wire import SCOPE_ALL, SERIAL_MAX, SERIAL_MIN

PATH_RE: Final = re.compile("[A-Za-z0-9._-]+")
STATUS_RE: Final = re.compile("[A-Z]{1,8}")


# Manifest keys (SPEC 4.1)
M_FEED, M_VERSION, M_GENERATED_AT, M_EXPIRES_AT, M_KIND, M_SCOPE = 1, 2, 3, 4, 5, 6
M_SNAPSHOT, M_DELTAS, M_TOTAL = 7, 8, 9
SNAP_VERSION, SNAP_PATH, SNAP_SHA256, SNAP_SIZE, SNAP_RECORDS = 1, 2, 3, 4, 5
DELTA_FROM, DELTA_TO, DELTA_PATH, DELTA_SHA256, DELTA_SIZE, DELTA_RECORDS = 1, 2, 3, 4, 5, 6
# File headers (SPEC 4.2)
H_FEED, H_VERSION, H_RECORDS = 1, 2, 3
H_FROM, H_TO, H_DELTA_RECORDS = 2, 3, 4
# Item tags (SPEC 4.2)
OP_VEHICLE, OP_REVOKE, OP_REMOVE, OP_LIFT = 0, 1, 2, 3


class ByteStream(Protocol):
    """What the reader needs of a file: ``read`` (a ``GzipFile``, a ``BytesIO``)."""

    def read(self, size: int = -1, /) -> bytes: ...


class FeedFormatError(ValueError):
    """A manifest or feed file that does not follow SPEC section 4."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A snapshot (``from_version`` is None) or a delta named by a manifest."""

    path: str
    sha256: bytes
    size: int
    records: int
    to_version: int
    from_version: int | None = None

    @property
    def is_snapshot(self) -> bool:
        return self.from_version is None


@dataclass(frozen=True, slots=True)
class Manifest:
    feed: str
    version: int
    generated_at: int
    expires_at: int
    kind: str
    scope: tuple[str, ...]
    snapshot: FileEntry
    deltas: tuple[FileEntry, ...]
    total: int

    def chain(self, start: int) -> list[FileEntry] | None:
        """The shortest run of deltas from ``start`` to this version, or None.

        ``[]`` when ``start`` is already this version. Deltas that lead past the
        manifest's version or backwards are never used.
        """
        if start == self.version:
            return []
        usable = [
            d for d in self.deltas if d.from_version is not None and d.to_version <= self.version
        ]
        paths: dict[int, list[FileEntry]] = {start: []}
        frontier = [start]
        while frontier:
            nxt = []
            for version in frontier:
                for delta in usable:
                    if delta.from_version == version and delta.to_version not in paths:
                        if delta.to_version <= version:
                            continue
                        paths[delta.to_version] = [*paths[version], delta]
                        nxt.append(delta.to_version)
            if self.version in paths:
                return paths[self.version]
            frontier = nxt
        return None


def parse_manifest(payload: bytes) -> Manifest:
    """A manifest payload's shape (SPEC 4.1); who signed it, and whether it may
    be applied, is ``cache.trusted``'s to decide."""
    try:
        body = require_map(decode_one(payload), "manifest")
        what = "manifest"
        feed = require(body, M_FEED, is_tstr, what)
        version = require(body, M_VERSION, is_uint, what)
        generated_at = require(body, M_GENERATED_AT, is_uint, what)
        expires_at = require(body, M_EXPIRES_AT, is_uint, what)
        kind = require(body, M_KIND, is_tstr, what)
        scope = require(body, M_SCOPE, is_array, what)
        snapshot = _file_entry(require(body, M_SNAPSHOT, is_map, what), snapshot=True)
        deltas = tuple(
            _file_entry(d, snapshot=False) for d in require(body, M_DELTAS, is_array, what)
        )
        total = require(body, M_TOTAL, is_uint, what)
    except Malformed as exc:
        raise FeedFormatError(f"manifest is malformed: {exc}") from None
    if version < 1:
        raise FeedFormatError("manifest version must be at least 1")
    if kind not in (KIND_FULL, KIND_HOTLIST):
        raise FeedFormatError(f"manifest kind {kind!r} is neither full nor hotlist")
    if not all(is_tstr(s) and s for s in scope):
        raise FeedFormatError("manifest scope entries must be non-empty text")
    if kind == KIND_HOTLIST and list(scope) != [SCOPE_ALL]:
        raise FeedFormatError('a hotlist feed must have scope exactly ["*"]')
    if snapshot.to_version > version:
        raise FeedFormatError("manifest snapshot is newer than the manifest")
    return Manifest(
        feed, version, generated_at, expires_at, kind, tuple(scope), snapshot, deltas, total
    )


def _file_entry(raw: object, *, snapshot: bool) -> FileEntry:
    what = "snapshot entry" if snapshot else "delta entry"
    entry = require_map(raw, what)
    if snapshot:
        to_version = require(entry, SNAP_VERSION, is_uint, what)
        from_version = None
        keys = (SNAP_PATH, SNAP_SHA256, SNAP_SIZE, SNAP_RECORDS)
    else:
        from_version = require(entry, DELTA_FROM, is_uint, what)
        to_version = require(entry, DELTA_TO, is_uint, what)
        keys = (DELTA_PATH, DELTA_SHA256, DELTA_SIZE, DELTA_RECORDS)
    path = require(entry, keys[0], is_tstr, what)
    sha256 = require(entry, keys[1], lambda v: is_bstr(v, 32), what)
    size = require(entry, keys[2], is_uint, what)
    records = require(entry, keys[3], is_uint, what)
    if PATH_RE.fullmatch(path) is None or path in (".", ".."):
        raise Malformed(f"{what} path {path!r} is not a plain file name")
    return FileEntry(path, sha256, size, records, to_version, from_version)


# --- Feed files -------------------------------------------------------------

VehicleRow = tuple[str, str, int | None, str, str | None]
"""(plate, plate_type, valid_through as a month index, status, vehicle_type)."""
Serial = bytes
"""A revoked certificate serial, 8 to 16 bytes."""


_plate_match = PLATE_RE.fullmatch
SHOWN = 60
"""How many characters of a bad value a refusal quotes: enough to find it, never
kilobytes of a hostile one."""


def shown(value: object) -> str:
    """``repr(value)``, cut to ``SHOWN`` characters, for a message."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


class ItemChecker:
    """Validates items of one file; remembers values already seen to be good.

    Plate types, months, statuses and vehicle types come from small vocabularies,
    so a memo turns their checks into a set lookup on the hot path of a sync. A
    value's type is checked before it meets a memo: a lookup hashes its key, and
    hashing a hostile value (a tag holding an array) raises, or recurses deep.
    """

    def __init__(self, *, hotlist: bool = False) -> None:
        self.hotlist = hotlist
        """A hotlist file's vehicles must each carry an alert letter (SPEC 4, 1.1)."""
        self._types: set[str] = set()
        self._months: dict[str, int] = {}
        self._statuses: set[str] = set()
        self._vtypes: set[str] = set()

    def vehicle(self, item: Any) -> VehicleRow:
        """Check a ``[0, plate, plate_type, month | null, status, vehicle_type | null]``.

        The hot path of a sync: one call per vehicle, so checks are inlined and the
        small vocabularies are memoised.
        """
        if len(item) != 6:
            raise FeedFormatError("a vehicle record has six elements")
        _, plate, plate_type, valid_through, status, vehicle_type = item
        if type(plate) is not str or _plate_match(plate) is None:
            raise FeedFormatError(f"bad plate {shown(plate)}")
        if type(plate_type) is not str or plate_type not in self._types:
            self._check_type(plate_type)
        if valid_through is None:
            month = None
        elif type(valid_through) is str and valid_through in self._months:
            month = self._months[valid_through]
        else:
            month = self._check_month(valid_through)
        if type(status) is not str or status not in self._statuses:
            self._check_status(status)
        if vehicle_type is not None and (
            type(vehicle_type) is not str or vehicle_type not in self._vtypes
        ):
            self._check_vehicle_type(vehicle_type)
        return plate, plate_type, month, status, vehicle_type

    def _check_type(self, plate_type: Any) -> None:
        if not (is_tstr(plate_type) and PLATE_TYPE_RE.fullmatch(plate_type)):
            raise FeedFormatError(f"bad plate_type {shown(plate_type)}")
        self._types.add(plate_type)

    def _check_month(self, valid_through: Any) -> int:
        if not (is_tstr(valid_through) and MONTH_RE.fullmatch(valid_through)):
            raise FeedFormatError(f"bad valid_through {shown(valid_through)}")
        month = self._months[valid_through] = month_index(valid_through)
        return month

    def _check_status(self, status: Any) -> None:
        if not (is_tstr(status) and is_status(status)):
            raise FeedFormatError(f"bad status {shown(status)}")
        if self.hotlist and not has_alert(status):
            raise FeedFormatError(f"a hotlist record has status {status!r}, no alert letter")
        self._statuses.add(status)

    def _check_vehicle_type(self, vehicle_type: Any) -> None:
        if not is_tstr(vehicle_type):
            raise FeedFormatError(f"bad vehicle_type {shown(vehicle_type)}")
        self._vtypes.add(vehicle_type)

    def plate_key(self, plate: Any, plate_type: Any) -> tuple[str, str]:
        if type(plate) is not str or PLATE_RE.fullmatch(plate) is None:
            raise FeedFormatError(f"bad plate {shown(plate)}")
        if type(plate_type) is not str or plate_type not in self._types:
            self._check_type(plate_type)
        return plate, plate_type

    @staticmethod
    def serial(value: Any) -> bytes:
        if type(value) is not bytes or not SERIAL_MIN <= len(value) <= SERIAL_MAX:
            raise FeedFormatError(f"bad serial {shown(value)}")
        return value


def is_status(text: str) -> bool:
    """One to eight distinct letters A-Z; ``A`` (normal) only alone."""
    return (
        STATUS_RE.fullmatch(text) is not None
        and len(set(text)) == len(text)
        and (text == "A" or "A" not in text)
    )


def item_tag(item: Any) -> int:
    if not is_array(item) or not item or type(item[0]) is not int:
        raise FeedFormatError("a feed item is not an array starting with an integer tag")
    return item[0]


def read_items(stream: ByteStream, header_check: Callable[[Any], int]) -> Iterator[Any]:
    """Yield the items of a CBOR-sequence file after its header.

    ``header_check`` validates the header and returns how many items follow. After
    them the stream must be at its end. Decoding, gzip and CRC errors all become
    ``FeedFormatError``.
    """
    end = object()
    try:
        items = _cbor_sequence(stream)
        header = next(items, end)
        if header is end:
            raise FeedFormatError("empty feed file")
        count = header_check(header)
        for _ in range(count):
            item = next(items, end)
            if item is end:
                raise FeedFormatError("feed file holds fewer records than its header says")
            yield item
        if next(items, end) is not end:
            raise FeedFormatError("data follows the last record")
    except FeedFormatError:
        raise
    except (
        cbor2.CBORError,
        EOFError,
        OSError,
        ValueError,
        TypeError,
        OverflowError,
        zlib.error,
    ) as exc:
        raise FeedFormatError(f"unreadable feed file: {exc}") from None


CHUNK = 1 << 20
"""Decompressed bytes read at a time."""
ITEM_LIMIT: Final = 4096
"""The longest encoded item (header included) a feed file may hold.

A good item is far shorter: a vehicle record is at most about 60 bytes plus its
vehicle_type (a 车辆类型 code such as ``K33``), a header about 60, a serial item
19. The SPEC bounds no field of a feed item, so the bound leaves a wide margin:
4 KiB fits a vehicle_type four times longer than a whole certificate (1,024
bytes), in which the same field must fit. Past it the file is refused, so that
reading costs at most ``CHUNK + ITEM_LIMIT`` bytes of buffer and each byte is
decoded a bounded number of times, whatever a hostile file declares."""


def _cbor_sequence(stream: ByteStream) -> Iterator[Any]:
    """Decode a CBOR sequence from a stream, one decompressed chunk at a time.

    cbor2 reads ahead and seeks back; on a gzip stream a backward seek restarts
    decompression, which makes item-by-item decoding quadratic. Decoding from an
    in-memory chunk keeps seeks free. An item cut by the chunk's end is decoded
    again once the next chunk is in, so the cut part must stay short: an item
    longer than ``ITEM_LIMIT`` is refused as soon as that many of its bytes are
    buffered, which keeps memory constant and time linear.
    """
    buffer = b""
    at_end = False
    while True:
        source = io.BytesIO(buffer)
        decoder = strict_decoder(source)
        used = 0
        while used < len(buffer):
            try:
                item = decoder.decode()
            except cbor2.CBORDecodeEOF:
                if at_end:
                    raise FeedFormatError("feed file ends inside a record") from None
                break  # the item continues in the next chunk
            except Exception as exc:  # the decoder meets hostile bytes: any failure is theirs
                raise FeedFormatError(
                    f"unreadable feed file: {type(exc).__name__}: {exc}"
                ) from None
            end = source.tell()
            _check_length(end - used)
            used = end
            yield item
        _check_length(len(buffer) - used)  # the start of an unfinished item
        buffer = buffer[used:]
        if at_end:
            return
        more = stream.read(CHUNK)
        at_end = not more
        buffer += more


def _check_length(length: int) -> None:
    if length > ITEM_LIMIT:
        raise FeedFormatError(f"a feed item is longer than {ITEM_LIMIT} bytes")


def snapshot_header(feed: str, entry: FileEntry) -> Callable[[Any], int]:
    def check(header: Any) -> int:
        _expect_header(
            header, {H_FEED: feed, H_VERSION: entry.to_version, H_RECORDS: entry.records}
        )
        return entry.records

    return check


def delta_header(feed: str, entry: FileEntry) -> Callable[[Any], int]:
    def check(header: Any) -> int:
        _expect_header(
            header,
            {
                H_FEED: feed,
                H_FROM: entry.from_version,
                H_TO: entry.to_version,
                H_DELTA_RECORDS: entry.records,
            },
        )
        return entry.records

    return check


def _expect_header(header: Any, expected: dict[int, Any]) -> None:
    try:
        body = require_map(header, "file header")
    except Malformed as exc:
        raise FeedFormatError(str(exc)) from None
    for key, want in expected.items():
        got = body.get(key)
        if type(got) is not type(want) or got != want:
            raise FeedFormatError(f"file header key {key} is {got!r}, expected {want!r}")


# --- Checked items ----------------------------------------------------------
#
# What a feed file holds, checked as the writer reads it: shapes, tags, strict
# order, hotlist alert letters, and (through ``read_items``) the header and its
# record count. What needs the cache's rows (a delta removing an absent vehicle,
# revoking a serial twice) is the writer's to check, in ``cache.apply``.


def snapshot_items(stream: ByteStream, manifest: Manifest) -> Iterator[VehicleRow | Serial]:
    """The checked items of ``manifest``'s snapshot: vehicle rows (tuples) in strict
    (plate, plate_type) order, then revoked serials (bytes) in strict order.

    The hot path of a first sync (one step per vehicle of a 10M-vehicle feed), so
    the vehicle loop is kept tight: the tag check is inlined, the serials have a
    loop of their own.
    """
    checker = ItemChecker(hotlist=manifest.kind == KIND_HOTLIST)
    items = read_items(stream, snapshot_header(manifest.feed, manifest.snapshot))
    vehicle = checker.vehicle
    last_key: tuple[str, str] | None = None
    for item in items:
        # Inlined item_tag(): this loop runs once per vehicle.
        if type(item) is not list or not item or type(item[0]) is not int:
            item_tag(item)  # raises, unless an array of another type
        if item[0] != OP_VEHICLE:
            yield from _snapshot_serials(chain((item,), items), checker)
            return
        row = vehicle(item)
        # Code-point order of str is the byte order of its UTF-8 form.
        key = (row[0], row[1])
        if last_key is not None and key <= last_key:
            raise FeedFormatError(f"snapshot not strictly sorted at {row[0]} {row[1]}")
        last_key = key
        yield row


def _snapshot_serials(items: Iterator[Any], checker: ItemChecker) -> Iterator[Serial]:
    """The rest of a snapshot, from its first item that is not a vehicle record."""
    last: bytes | None = None
    for item in items:
        tag = item_tag(item)
        if tag == OP_VEHICLE:
            raise FeedFormatError("a vehicle record follows the revoked serials")
        if tag != OP_REVOKE:
            raise FeedFormatError(f"item tag {tag} does not belong in a snapshot")
        if len(item) != 2:
            raise FeedFormatError("a revoked serial item has two elements")
        serial = checker.serial(item[1])
        if last is not None and serial <= last:
            raise FeedFormatError("revoked serials not strictly sorted")
        last = serial
        yield serial


class PutVehicle(NamedTuple):
    """``[0, ...]`` in a delta: insert or replace a vehicle record."""

    row: VehicleRow


class RemoveVehicle(NamedTuple):
    """``[2, plate, plate_type]``: the vehicle leaves the feed."""

    plate: str
    plate_type: str


class RevokeSerial(NamedTuple):
    """``[1, serial]``: a certificate serial is revoked."""

    serial: Serial


class LiftSerial(NamedTuple):
    """``[3, serial]``: a revocation is lifted."""

    serial: Serial


Operation = PutVehicle | RemoveVehicle | RevokeSerial | LiftSerial


def delta_operations(
    stream: ByteStream, manifest: Manifest, entry: FileEntry
) -> Iterator[Operation]:
    """The checked operations of delta ``entry`` of ``manifest``, in file order."""
    checker = ItemChecker(hotlist=manifest.kind == KIND_HOTLIST)
    for item in read_items(stream, delta_header(manifest.feed, entry)):
        yield _operation(item, checker)


def _operation(item: Any, checker: ItemChecker) -> Operation:
    tag = item_tag(item)
    if tag == OP_VEHICLE:
        return PutVehicle(checker.vehicle(item))
    if tag == OP_REMOVE:
        if len(item) != 3:
            raise FeedFormatError("a removal has three elements")
        return RemoveVehicle(*checker.plate_key(item[1], item[2]))
    if tag in (OP_REVOKE, OP_LIFT):
        if len(item) != 2:
            raise FeedFormatError("a serial operation has two elements")
        serial = checker.serial(item[1])
        return RevokeSerial(serial) if tag == OP_REVOKE else LiftSerial(serial)
    raise FeedFormatError(f"unknown delta operation {tag}")
