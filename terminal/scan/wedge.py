"""Hardware scan engines that type like a keyboard (the "keyboard wedge").

Rugged handhelds have a scan engine that types the decoded text into whatever has
focus and presses Enter. ``WedgeInput`` turns those keystrokes back into one text
per scan: characters accumulate until Enter (CR or LF) ends the code. A pause
longer than ``gap`` between characters means the buffer held a stray keypress, not
part of the scan, so it is dropped; an over-long buffer is dropped too.
"""

from __future__ import annotations

from collections.abc import Callable

from keys.wire import QR_TEXT_LIMIT

ENTER = {"\r", "\n"}


class WedgeInput:
    def __init__(
        self, clock: Callable[[], float], gap: float = 0.3, limit: int = QR_TEXT_LIMIT + 64
    ) -> None:
        self.clock = clock
        self.gap = gap
        self.limit = limit
        self._buffer: list[str] = []
        self._last = 0.0

    def feed(self, key: str) -> str | None:
        """Take one keystroke (a character, or "\\r"/"\\n" for Enter); return the
        scanned text when Enter completes one, else None."""
        now = self.clock()
        if self._buffer and now - self._last > self.gap:
            self._buffer.clear()
        self._last = now
        if key in ENTER:
            text = "".join(self._buffer).strip()
            self._buffer.clear()
            return text or None
        if len(self._buffer) >= self.limit:
            self._buffer.clear()
            return None
        self._buffer.append(key)
        return None

    def feed_text(self, keys: str) -> list[str]:
        """Feed a burst of keystrokes at once (as a terminal delivers a paste)."""
        return [text for key in keys if (text := self.feed(key)) is not None]
