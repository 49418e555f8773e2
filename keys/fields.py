"""The field grammar shared by certificates and feeds: plates, plate types, months.

SPEC section 5 defines the plate normal form and the valid patterns; section 2 the
``YYYY-MM`` month. A month's end is needed by every validity check, so it lives here too.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CST = timezone(timedelta(hours=8), "CST")

_P = f"[{PROVINCES}]"
_L = "[A-HJ-Z]"
_S = "[A-HJ-NP-Z0-9]"
_D = "[0-9]"
PLATE_RE = re.compile(
    "|".join(
        [
            f"{_P}{_L}{_S}{{5}}",  # ordinary
            f"{_P}{_L}{_S}{{4}}[挂学警港澳]",  # trailer, coach, police, HK, Macau
            f"{_P}{_L}[A-HJK]{_S}{_D}{{4}}",  # small new energy
            f"{_P}{_L}{_D}{{5}}[A-HJK]",  # large new energy
            f"{_P}{_L}{_D}{{4}}领",  # consulate
            f"{_P}{_L}?(?:[XS]{_D}{{4}}|{_D}{{5}})应急",  # emergency
        ]
    )
)
PLATE_TYPE_RE = re.compile("[0-9]{2}")
MONTH_RE = re.compile("([0-9]{4})-(0[1-9]|1[0-2])")

# Full-width forms U+FF01..U+FF5E fold to ASCII, the ideographic space to a space;
# then the separators people type or print are removed.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20
_REMOVE = {ord(c): None for c in " ·・.-"}


def normalize_plate(text: str) -> str:
    """SPEC section 5 normal form: fold full-width, drop separators, upper-case Latin."""
    folded = text.translate(_FOLD).translate(_REMOVE)
    # Only Latin letters are upper-cased; str.upper() would also touch other scripts.
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in folded)


def is_valid_plate(plate: str) -> bool:
    """True for a plate that is valid *and* already in normal form.

    Every pattern admits only upper-case ASCII, digits and CJK characters, none of
    which normalisation changes, so a full match implies normal form.
    """
    return PLATE_RE.fullmatch(plate) is not None


def is_plate_type(text: str) -> bool:
    return PLATE_TYPE_RE.fullmatch(text) is not None


def is_month(text: str) -> bool:
    return MONTH_RE.fullmatch(text) is not None


def month_end(month: str) -> int:
    """Epoch seconds at which a ``YYYY-MM`` validity ends: the next month's first
    instant in CST, exclusive (``2026-06`` ends at 2026-07-01T00:00+08:00)."""
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return _days_from_civil(year, mon, 1) * 86400 - _CST_OFFSET


def month_of(epoch: int) -> str:
    """The ``YYYY-MM`` month (CST) that contains ``epoch``."""
    return datetime.fromtimestamp(epoch, CST).strftime("%Y-%m")


_CST_OFFSET = 8 * 3600


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date, for any year (0000 and
    10000 included, which ``datetime`` refuses but the month grammar admits)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The inverse of ``_days_from_civil``: (year, month, day) for any day number."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day
