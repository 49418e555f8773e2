"""The terminal's one clock.

Every check asks this object for "now", so tests and ``--at`` replace time in one
place. It also applies SPEC 4.3's clock floor: a device clock that has fallen behind
signed data the terminal already applied is not believed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from base.cli import BadTime, parse_iso_time

__all__ = ["BadTime", "Clock"]


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
        """The clock of ``--at``; ``BadTime`` when ``text`` is not ISO 8601 with an offset."""
        return cls(at=parse_iso_time(text))
