"""Import a registry from CSV: every row checked, all rows or none written.

Columns (a header row names them, in any order): ``plate`` and ``plate_type``
(required), ``vehicle_type``, ``operating`` (0/1), ``registered`` and
``valid_through`` (``YYYY-MM``), ``status`` (letters, default ``A``). Plates are
put in normal form (SPEC section 5) first, so ``桂a·12345`` is accepted as
``桂A12345``. A bad row stops the import with a message naming its line.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from central.errors import RegistryError
from central.registry import VEHICLE_COLUMNS, Registry, RegistryVehicle, check_vehicle
from feeds.format import ItemChecker
from keys.fields import normalize_plate

if TYPE_CHECKING:
    from _csv import Reader  # what csv.reader returns (typeshed's name)

REQUIRED = ("plate", "plate_type")
_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in VEHICLE_COLUMNS[2:])
_CHANGED = " OR ".join(f"vehicles.{c} IS NOT excluded.{c}" for c in VEHICLE_COLUMNS[2:])


def import_csv(registry: Registry, path: Path, *, replace: bool = False) -> int:
    """Import ``path`` into the registry; return the number of rows read.

    Rows update the vehicles they name; ``replace`` also removes every vehicle the
    file does not name. Unchanged vehicles are not touched, so they do not appear
    in the next delta.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _import(registry, csv.reader(handle), path.name, replace)
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path.name} is not UTF-8 text") from None
    except csv.Error as exc:
        raise RegistryError(f"{path.name}: malformed CSV: {exc}") from None


def _import(registry: Registry, reader: Reader, name: str, replace: bool) -> int:
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in VEHICLE_COLUMNS]
    if missing or unknown:
        raise RegistryError(
            f"{name} line 1: the header must name {', '.join(REQUIRED)} and only columns of"
            f" {', '.join(VEHICLE_COLUMNS)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    _refuse_repeated(header, f"{name} line {reader.line_num or 1}")
    checker = ItemChecker()
    count = 0
    with registry.transaction() as conn:
        conn.execute("DROP TABLE IF EXISTS temp.incoming")
        conn.execute("CREATE TEMP TABLE incoming AS SELECT * FROM vehicles WHERE 0")
        conn.execute("CREATE UNIQUE INDEX temp.incoming_key ON incoming (plate, plate_type)")
        insert = f"INSERT INTO incoming ({', '.join(VEHICLE_COLUMNS)}) VALUES (?,?,?,?,?,?,?)"
        for fields in reader:
            where = f"{name} line {reader.line_num}"
            if not fields or fields == [""]:
                continue
            row = _row(header, fields, where)
            check_vehicle(row, where, checker)
            try:
                conn.execute(insert, row)
            except sqlite3.IntegrityError:
                raise RegistryError(
                    f"{where}: vehicle {row.plate} type {row.plate_type} appears twice"
                ) from None
            count += 1
        if replace:
            conn.execute(
                "DELETE FROM vehicles WHERE NOT EXISTS (SELECT 1 FROM incoming i"
                " WHERE i.plate = vehicles.plate AND i.plate_type = vehicles.plate_type)"
            )
        conn.execute(
            f"INSERT INTO vehicles SELECT {', '.join(VEHICLE_COLUMNS)} FROM incoming WHERE 1"
            f" ON CONFLICT (plate, plate_type) DO UPDATE SET {_UPDATE} WHERE {_CHANGED}"
        )
        conn.execute("DROP TABLE temp.incoming")
    return count


def _refuse_repeated(header: list[str], where: str) -> None:
    """A column named twice would silently take its last value; say which one instead,
    since the person who wrote the file meant one of them and only they know which."""
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise RegistryError(f"{where}: the header names column {column!r} twice")
        seen.add(column)


def _row(header: list[str], fields: list[str], where: str) -> RegistryVehicle:
    if len(fields) != len(header):
        raise RegistryError(f"{where}: {len(fields)} fields, the header names {len(header)}")
    raw = {column: value.strip() for column, value in zip(header, fields, strict=True)}
    operating = raw.get("operating") or "0"
    if operating not in ("0", "1"):
        raise RegistryError(f"{where}: operating must be 0 or 1, not {operating!r}")
    return RegistryVehicle(
        plate=normalize_plate(raw["plate"]),
        plate_type=raw["plate_type"],
        vehicle_type=raw.get("vehicle_type") or None,
        operating=int(operating),
        registered=raw.get("registered") or None,
        valid_through=raw.get("valid_through") or None,
        status=raw.get("status") or "A",
    )
