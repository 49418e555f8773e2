"""A scan engine's keystrokes, told from a person's on every screen.

A hardware scan engine types the decoded text, fast, then Enter, into whatever has
focus. Issue 10: a scan that arrived while a verdict card was up lost its first
character (it dismissed the card) and the rest was judged alone, a false INVALID on a
valid certificate. So the app looks at every key before any screen does, with the
one cadence rule of ``terminal.scan.wedge`` (characters no further apart than its
gap, ended by Enter), and a burst that is a scan becomes a check wherever it lands.

Where a person types (the plate lookup, the history filter, the officer number) the
characters still reach the field as they come, since a plate typed quickly must
still work; only a burst at least ``TYPED_SCAN_MIN`` long counts as a scan there
(a plate is at most 8 characters, a certificate's text over 100).
"""

from __future__ import annotations

from collections.abc import Callable

from terminal.scan.wedge import WedgeInput

TYPED_SCAN_MIN = 16
"""Shortest burst taken for a scan on a screen where a person types."""


class ScanKeys:
    """The wedge's buffer plus the one thing a screen needs to know: is a burst open
    (a character came within the gap), so that Space or Enter belongs to the scan."""

    def __init__(self, clock: Callable[[], float], gap: float = 0.3) -> None:
        self._clock = clock
        self._gap = gap
        self._wedge = WedgeInput(clock, gap)
        self._last: float | None = None

    def in_burst(self) -> bool:
        return self._last is not None and self._clock() - self._last <= self._gap

    def character(self, char: str) -> bool:
        """Take a printable character; True when it opens a new burst."""
        opens = not self.in_burst()
        self._wedge.feed(char)
        self._last = self._clock()
        return opens

    def enter(self) -> str | None:
        """Enter: the burst's text when one was open, else None (a person's Enter)."""
        text = self._wedge.feed("\r") if self.in_burst() else None
        self._last = None
        return text
