"""The feed files' item checks, on ``feeds.format.snapshot_items`` and
``delta_operations`` alone: what the writer in cache.apply gets is already checked
(shape, tags, order, alert letters, record count), with no database in the way.
The checks that need the cache's rows (removing an absent vehicle) are the
writer's: test_sync.py and test_overlay.py cover them through a real sync."""

from __future__ import annotations

import io
from typing import Any

import cbor2
import pytest

from feeds.format import (
    FeedFormatError,
    FileEntry,
    LiftSerial,
    Manifest,
    PutVehicle,
    RemoveVehicle,
    RevokeSerial,
    delta_operations,
    snapshot_items,
)
from feeds.model import month_index
from feeds.writer import Vehicle, lift, remove, revoke

SHA = bytes(32)
A = Vehicle("桂A00001", "02", "2027-06", "A", "K33")
B = Vehicle("桂A00002", "01", None, "G", None)
B2 = Vehicle("桂A00002", "02", "2026-01", "A", None)
HOT = Vehicle("桂A00003", "02", "2027-06", "GC", None)
S1, S2 = b"serial-01", b"serial-02"


def stream(header: dict[int, Any], items: list[Any]) -> io.BytesIO:
    return io.BytesIO(b"".join(cbor2.dumps(x) for x in [header, *items]))


def manifest(kind: str = "full", records: int = 0, deltas: tuple[FileEntry, ...] = ()) -> Manifest:
    scope = ("桂",) if kind == "full" else ("*",)
    snapshot = FileEntry("s", SHA, 1, records, 2)
    return Manifest("gx", 2, 0, 1, kind, scope, snapshot, deltas, records)


def snapshot(items: list[Any], kind: str = "full", records: int | None = None) -> list[Any]:
    count = len(items) if records is None else records
    data = stream({1: "gx", 2: 2, 3: count}, items)
    return list(snapshot_items(data, manifest(kind, count)))


def delta(items: list[Any], kind: str = "full") -> list[Any]:
    entry = FileEntry("d", SHA, 1, len(items), 2, 1)
    data = stream({1: "gx", 2: 1, 3: 2, 4: len(items)}, items)
    return list(delta_operations(data, manifest(kind, deltas=(entry,)), entry))


def row(v: Vehicle) -> tuple[Any, ...]:
    month = None if v.valid_through is None else month_index(v.valid_through)
    return (v.plate, v.plate_type, month, v.status, v.vehicle_type)


def test_snapshot_items_are_rows_then_serials() -> None:
    got = snapshot([A.item(), B.item(), B2.item(), revoke(S1), revoke(S2)])
    assert got == [row(A), row(B), row(B2), S1, S2]
    assert snapshot([revoke(S1)]) == [S1]
    assert snapshot([]) == []


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([B.item(), A.item()], "not strictly sorted at 桂A00001 02"),
        ([A.item(), A.item()], "not strictly sorted"),
        ([B2.item(), B.item()], "not strictly sorted"),
        ([revoke(S2), revoke(S1)], "revoked serials not strictly sorted"),
        ([revoke(S1), revoke(S1)], "revoked serials not strictly sorted"),
        ([revoke(S1), A.item()], "a vehicle record follows the revoked serials"),
        ([A.item(), remove(B.plate, B.plate_type)], "item tag 2 does not belong"),
        ([lift(S1)], "item tag 3 does not belong"),
        ([[1, S1, S2]], "a revoked serial item has two elements"),
        ([[1, b"short"]], "bad serial"),
        ([[0, "桂A00001", "02", "2027-06", "A"]], "six elements"),
        ([["0"]], "integer tag"),
        ([[True, 1]], "integer tag"),
        ([5], "integer tag"),
    ],
)
def test_snapshot_items_refuse_bad_files(items: list[Any], match: str) -> None:
    with pytest.raises(FeedFormatError, match=match):
        snapshot(items)


def test_snapshot_items_check_the_record_count() -> None:
    with pytest.raises(FeedFormatError, match="fewer records"):
        snapshot([A.item()], records=2)
    with pytest.raises(FeedFormatError, match="data follows"):
        snapshot([A.item(), B.item()], records=1)


def test_hotlist_items_need_an_alert_letter() -> None:
    assert snapshot([HOT.item()], kind="hotlist") == [row(HOT)]
    with pytest.raises(FeedFormatError, match="no alert letter"):
        snapshot([A.item()], kind="hotlist")
    with pytest.raises(FeedFormatError, match="no alert letter"):
        delta([A.item()], kind="hotlist")


def test_delta_operations_in_file_order() -> None:
    items = [B.item(), A.item(), remove(A.plate, A.plate_type), lift(S1), revoke(S2)]
    assert delta(items) == [
        PutVehicle(row(B)),
        PutVehicle(row(A)),
        RemoveVehicle(A.plate, A.plate_type),
        LiftSerial(S1),
        RevokeSerial(S2),
    ]


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([[4, S1]], "unknown delta operation 4"),
        ([[2, A.plate]], "a removal has three elements"),
        ([[2, "not a plate", "02"]], "bad plate"),
        ([[3, S1, S2]], "a serial operation has two elements"),
        ([[1, "text"]], "bad serial"),
        ([[]], "integer tag"),
    ],
)
def test_delta_operations_refuse_bad_items(items: list[Any], match: str) -> None:
    with pytest.raises(FeedFormatError, match=match):
        delta(items)
