"""The terminal's one clock.

Every check asks this object for "now", so tests and ``--at`` replace time in one
place. It also applies SPEC 4.3's clock floor: a device clock that has fallen behind
signed data the terminal already applied is not believed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple


class BadTime(ValueError):
    """A ``--at`` value that is not ISO 8601 with an offset."""


class Clock(NamedTuple):
    """``at`` pins the time (``--at``), taken as given; else ``source`` floored."""

    source: Callable[[], float] = time.time
    at: float | None = None

    def now(self, floor: float = 0) -> float:
        if self.at is not None:
            return self.at
        return max(self.source(), floor)

    def behind(self, floor: float) -> bool:
        """True when the device clock reads earlier than the floor (worth a warning)."""
        return self.at is None and self.source() < floor

    @classmethod
    def parse_at(cls, text: str) -> Clock:
        return cls(at=parse_iso(text))


def parse_iso(text: str) -> float:
    """ISO 8601 with an explicit offset (``+08:00`` or ``Z``), as epoch seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadTime(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadTime(f"{text!r} has no UTC offset (add +08:00 or Z)")
    return moment.timestamp()
