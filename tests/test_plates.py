"""Plates and months: SPEC section 5 (plates, normalisation) and section 2 (months)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.fields import CST, is_valid_plate, month_end, normalize_plate
from tests.support.plates import INVALID_PLATES, SPEC_PROVINCES, VALID_PLATES


def test_province_list_is_the_spec_list() -> None:
    assert len(SPEC_PROVINCES) == 31
    for p in SPEC_PROVINCES:
        for plate in (f"{p}A12345", f"{p}B1234挂", f"{p}CD12345", f"{p}E12345F", f"{p}X1234应急"):
            assert is_valid_plate(plate), plate


@pytest.mark.parametrize("plate", VALID_PLATES)
def test_valid_plates(plate: str) -> None:
    assert is_valid_plate(plate)
    assert normalize_plate(plate) == plate  # valid implies normal form


@pytest.mark.parametrize("plate", INVALID_PLATES)
def test_invalid_plates(plate: str) -> None:
    assert not is_valid_plate(plate)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("桂ａ１２３４５", "桂A12345"),  # full-width Latin and digits
        ("桂Ａ－１２３４５", "桂A12345"),  # full-width hyphen folds, then is removed
        ("桂Ａ．１２３４５", "桂A12345"),  # full-width full stop
        ("桂A\u300012345", "桂A12345"),  # ideographic space
        ("桂 a 123 45", "桂A12345"),
        ("桂A·12345", "桂A12345"),
        ("桂A・12345", "桂A12345"),
        ("桂A.12345", "桂A12345"),
        ("桂A-12345", "桂A12345"),
        (" 粤b·d1234-5 ", "粤BD12345"),
        ("京a12345应急", "京A12345应急"),
        ("桂aß", "桂Aß"),  # only Latin a-z is upper-cased (str.upper gives SS)
        ("桂aé", "桂Aé"),
        ("桂aα", "桂Aα"),
        ("桂A١٢٣٤٥", "桂A١٢٣٤٥"),  # Arabic-Indic digits are not folded
        ("桂A\t12345", "桂A\t12345"),  # a tab is not a space
    ],
)
def test_normalize_plate(typed: str, normal: str) -> None:
    assert normalize_plate(typed) == normal


def test_normalised_forms_become_valid_only_with_ascii_digits() -> None:
    assert is_valid_plate(normalize_plate("桂ａ　１２３４５"))
    assert not is_valid_plate(normalize_plate("桂A1234٣"))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=20))
def test_normalize_plate_is_idempotent(text: str) -> None:
    once = normalize_plate(text)
    assert normalize_plate(once) == once
    assert not set(once) & set(" ·・.-\u3000")
    assert not any("a" <= c <= "z" or "\uff01" <= c <= "\uff5e" for c in once)


@pytest.mark.parametrize(
    ("month", "end"),
    [
        ("2026-06", datetime(2026, 7, 1, tzinfo=CST)),
        ("2026-12", datetime(2027, 1, 1, tzinfo=CST)),
        ("2024-02", datetime(2024, 3, 1, tzinfo=CST)),
        ("2026-01", datetime(2026, 2, 1, tzinfo=CST)),
        ("1999-12", datetime(2000, 1, 1, tzinfo=CST)),
    ],
)
def test_month_end(month: str, end: datetime) -> None:
    assert month_end(month) == int(end.timestamp())


def test_month_end_is_cst_midnight() -> None:
    assert month_end("2026-06") == int(datetime.fromisoformat("2026-06-30T16:00:00Z").timestamp())


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 9998), st.integers(1, 12))
def test_month_end_matches_datetime(year: int, month: int) -> None:
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CST)
    assert month_end(f"{year:04d}-{month:02d}") == int(nxt.timestamp())
