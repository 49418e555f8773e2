"""The fixed "now" of deterministic worlds, and the spans they count in."""

from __future__ import annotations

from datetime import datetime

from keys.fields import CST

T0 = int(datetime(2026, 6, 1, 9, 0, tzinfo=CST).timestamp())
"""The usual "now" of a test or bench world: 2026-06-01 09:00 CST."""
DAY = 86400
YEAR = 365 * DAY


def at(t: float) -> str:
    """``t`` as the ISO 8601 text the CLI's ``--at`` takes, in China Standard Time."""
    return datetime.fromtimestamp(t, CST).isoformat()
