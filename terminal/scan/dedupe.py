"""The same code seen in consecutive frames is checked once.

A phone held in front of the camera shows the same code in every frame for
seconds; the officer wants one verdict and one bell, not thirty. A code counts
as new again once it has been out of sight for ``window`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable


class RecentCodes:
    def __init__(self, clock: Callable[[], float], window: float = 3.0) -> None:
        self.clock = clock
        self.window = window
        self._last_seen: dict[str, float] = {}

    def is_new(self, text: str) -> bool:
        """Record a sighting; True when ``text`` had not been seen for ``window`` s."""
        now = self.clock()
        self._last_seen = {t: s for t, s in self._last_seen.items() if now - s < self.window}
        new = text not in self._last_seen
        self._last_seen[text] = now
        return new
