"""The registry: CSV import (all rows or none) and the synthetic generator."""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import pytest

from central import cli
from central.generate import generate
from central.inspection import validity_after
from central.registry import Registry
from keys.fields import is_valid_plate

VICHECK = str(Path(sys.executable).parent / "vicheck")
HEADER = "plate,plate_type,vehicle_type,operating,registered,valid_through,status\n"
GOOD = "桂A12345,02,K33,0,2022-06,2026-06,A\n桂AD12345,52,K33,0,2024-01,2026-01,G\n"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VICHECK, "central", "--home", str(home), *args], capture_output=True, text=True
    )


def vehicles(home: Path) -> list[tuple]:
    with Registry(home / "registry.db") as registry:
        return registry.conn.execute("SELECT * FROM vehicles ORDER BY plate").fetchall()


def test_import_good_rows_normalises_plates(tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(HEADER + GOOD + "桂ｂ·88888,01,H11,1,2015-03,,GI\n", encoding="utf-8")
    assert cli.main(["--home", str(tmp_path), "registry", "import", str(csv)]) == 0
    rows = vehicles(tmp_path)
    assert [r[0] for r in rows] == ["桂A12345", "桂AD12345", "桂B88888"]
    assert rows[2] == ("桂B88888", "01", "H11", 1, "2015-03", None, "GI")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("桂I12345,02,K33,0,2022-06,2026-06,A", "line 4: bad plate '桂I12345'"),
        ("桂A54321,2,K33,0,2022-06,2026-06,A", "line 4: bad plate_type '2'"),
        ("桂A54321,02,K33,0,2022-06,2026-13,A", "line 4: bad valid_through '2026-13'"),
        ("桂A54321,02,K33,0,2022-06,2026-06,AG", "line 4: bad status 'AG'"),
        ("桂A54321,02,K33,0,22-06,2026-06,A", "line 4: bad registration month '22-06'"),
        ("桂A54321,02,K33,2,2022-06,2026-06,A", "line 4: operating must be 0 or 1"),
        ("桂A54321,02,K33,0,2022-06", "line 4: 5 fields, the header names 7"),
        ("桂A12345,02,K33,0,2022-06,2026-06,A", "line 4: vehicle 桂A12345 type 02 appears twice"),
    ],
)
def test_bad_row_names_the_line_and_writes_nothing(tmp_path: Path, row: str, message: str) -> None:
    home = tmp_path / "home"
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "桂K11111,02,K33,0,2022-06,2026-06,A\n", encoding="utf-8")
    assert run(home, "registry", "import", str(good)).returncode == 0
    before = vehicles(home)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD + row + "\n", encoding="utf-8")
    proc = run(home, "registry", "import", "--replace", str(bad))
    assert proc.returncode == 2
    assert f"bad.csv {message}" in proc.stderr and "Traceback" not in proc.stderr
    assert vehicles(home) == before


def test_bad_header_and_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,colour\n桂A12345,blue\n", encoding="utf-8")
    proc = run(tmp_path, "registry", "import", str(bad))
    assert proc.returncode == 2 and "missing plate_type; unknown colour" in proc.stderr
    proc = run(tmp_path, "registry", "import", str(tmp_path / "absent.csv"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr


@pytest.mark.parametrize(
    ("header", "column"),
    [("plate,plate_type,plate", "plate"), ("plate,status,plate_type,status", "status")],
)
def test_header_naming_a_column_twice_is_refused(tmp_path: Path, header: str, column: str) -> None:
    home = tmp_path / "home"
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "桂K11111,02,K33,0,2022-06,2026-06,A\n", encoding="utf-8")
    assert run(home, "registry", "import", str(good)).returncode == 0
    before = vehicles(home)
    fields = {"plate": "桂A12345", "plate_type": "02", "status": "A"}
    row = ",".join(fields[c] for c in header.split(","))
    bad = tmp_path / "twice.csv"
    bad.write_text(f"{header}\n{row}\n", encoding="utf-8")
    proc = run(home, "registry", "import", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"twice.csv line 1: the header names column {column!r} twice" in proc.stderr
    assert vehicles(home) == before


def test_replace_removes_vehicles_the_file_omits(tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(HEADER + GOOD, encoding="utf-8")
    assert cli.main(["--home", str(tmp_path), "registry", "import", str(csv)]) == 0
    csv.write_text(HEADER + GOOD.splitlines()[0] + "\n", encoding="utf-8")
    assert cli.main(["--home", str(tmp_path), "registry", "import", "--replace", str(csv)]) == 0
    assert [r[0] for r in vehicles(tmp_path)] == ["桂A12345"]


def test_generator_is_deterministic_sorted_and_valid() -> None:
    first = list(generate("桂", 3000, 11, "2026-06"))
    assert first == list(generate("桂", 3000, 11, "2026-06"))
    assert first != list(generate("桂", 3000, 12, "2026-06"))
    keys = [(v.plate.encode(), v.plate_type.encode()) for v in first]
    assert keys == sorted(set(keys))
    assert all(is_valid_plate(v.plate) for v in first)


def test_generator_proportions() -> None:
    rows = list(generate("桂", 20_000, 3, "2026-06"))
    types = collections.Counter(v.plate_type for v in rows)
    share = {t: n / len(rows) for t, n in types.items()}
    assert 0.72 < share["02"] < 0.80 and 0.10 < share["52"] < 0.14
    assert share["15"] > 0.02 and 0 < share["16"] < 0.01 and 0 < share["23"] < 0.01
    assert all(v.plate.endswith("挂") for v in rows if v.plate_type == "15")
    assert all(v.plate.endswith("学") for v in rows if v.plate_type == "16")
    assert all(v.plate.endswith("警") for v in rows if v.plate_type == "23")
    assert all(
        v.plate[2] in "ABCDEFGHJK" and len(v.plate) == 8 for v in rows if v.plate_type == "52"
    )
    statuses = collections.Counter(letter for v in rows for letter in v.status)
    assert statuses["A"] / len(rows) > 0.85
    assert 0.03 < (statuses["G"] + statuses["I"]) / len(rows) < 0.12
    for rare in "CEKLQ":
        assert 0 < statuses[rare] / len(rows) < 0.03, rare
    overdue = [v for v in rows if v.valid_through < "2026-06"]
    assert 0.01 < len(overdue) / len(rows) < 0.05


@pytest.mark.parametrize(
    ("registered", "vehicle_type", "operating", "current", "expected"),
    [
        ("2024-03", "K33", False, None, "2026-03"),  # new private car: a mark at year 2
        ("2024-03", "K33", False, "2026-03", "2028-03"),
        ("2024-03", "K33", False, "2028-03", "2030-03"),  # station at 6
        ("2024-03", "K33", False, "2032-03", "2034-03"),  # station at 10
        ("2024-03", "K33", False, "2034-03", "2035-03"),  # yearly after 10
        ("2024-03", "K33", True, "2026-03", "2027-03"),  # operating: yearly
        ("2024-03", "H31", False, "2026-03", "2027-03"),  # goods: yearly
    ],
)
def test_inspection_cycles(registered, vehicle_type, operating, current, expected) -> None:
    assert validity_after(registered, vehicle_type, operating, current) == expected


def test_generator_refuses_bad_province_and_non_empty_registry(tmp_path: Path) -> None:
    gen = ["registry", "generate", "--vehicles", "10", "--as-of", "2026-06"]
    assert run(tmp_path, *gen, "--province", "X").returncode == 2
    assert run(tmp_path, *gen, "--province", "桂").returncode == 0
    proc = run(tmp_path, *gen, "--province", "桂")
    assert proc.returncode == 2 and "already holds 10 vehicles" in proc.stderr


def test_put_registers_and_replaces_and_refuses_a_bad_row_whole(tmp_path: Path) -> None:
    from central.errors import RegistryError
    from central.registry import RegistryVehicle

    first = RegistryVehicle("桂A12345", "02", "K33", 0, "2022-06", "2026-06", "A")
    other = RegistryVehicle("桂B54321", "02", "K33", 0, "2021-01", "2027-01", "A")
    with Registry(tmp_path / "registry.db") as registry:
        registry.put([first, other])
        renewed = first._replace(valid_through="2028-06", status="G")
        registry.put([renewed])
        assert registry.vehicles("桂A12345") == [renewed]
        bad = other._replace(plate="桂I00000")
        with pytest.raises(RegistryError, match="vehicle 桂I00000 type 02"):
            registry.put([first._replace(status="C"), bad])
        assert registry.vehicles("桂A12345") == [renewed]
        assert registry.count() == 2
