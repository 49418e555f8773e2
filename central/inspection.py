"""Inspection cycles: when a vehicle's inspection validity (检验有效期) ends.

The rules the generator and ``central issue`` apply, simplified from the national
ones: small and mini non-operating passenger cars are exempt from station
inspection for six years (a mark every two years, applied for online, 免检), are
inspected at the station in years 6 and 10 with a mark every two years in between,
and yearly after year 10. Operating and goods vehicles are inspected yearly.
Validity always ends in the registration month of the year the next cycle is due.
"""

from __future__ import annotations

from feeds.model import month_index, month_text
from keys.fields import is_month

# Years after registration at which a small non-operating car's validity ends; the
# cycles ending in years 2, 4 and 8 are renewed by a mark alone, 6 and 10 at a station.
SMALL_PRIVATE_DUE = (2, 4, 6, 8, 10)
EXEMPT_RENEWALS = (2, 4, 8)


def is_small_private(vehicle_type: str | None, operating: bool) -> bool:
    """Small and mini passenger cars (K3x, K4x) in non-operating use."""
    return not operating and vehicle_type is not None and vehicle_type[:2] in ("K3", "K4")


def due_years(vehicle_type: str | None, operating: bool, upto: int) -> list[int]:
    """The years after registration at which validity ends, up to ``upto``."""
    if is_small_private(vehicle_type, operating):
        return [y for y in SMALL_PRIVATE_DUE if y <= upto] + list(range(11, upto + 1))
    return list(range(1, upto + 1))


def validity_after(
    registered: str, vehicle_type: str | None, operating: bool, current: str | None
) -> str:
    """The validity a vehicle gets when its next cycle is passed: the first due month
    after ``current`` (or the first one at all, for a new registration)."""
    start = month_index(registered)
    floor = month_index(current) if current is not None and is_month(current) else start
    years = 1
    while True:
        for year in due_years(vehicle_type, operating, years):
            if start + 12 * year > floor:
                return month_text(start + 12 * year)
        years += 12


def cycle_is_exempt(
    registered: str, valid_through: str | None, vehicle_type: str | None, operating: bool
) -> bool:
    """True when the cycle ending at ``valid_through`` may be renewed without a station
    inspection (basis 2, 免检): a small non-operating car whose validity ends in year
    2, 4 or 8 after registration."""
    if not is_small_private(vehicle_type, operating) or valid_through is None:
        return False
    months = month_index(valid_through) - month_index(registered)
    return months % 12 == 0 and months // 12 in EXEMPT_RENEWALS
