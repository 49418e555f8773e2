"""Download progress by bytes, for the sync screen and ``vicheck sync`` (issue 15).

Over a weak mobile link an officer waiting at shift start wants to know how much
is left and how long it will take, not only a bar. Textual-free, so the command
line and the TUI share it and it is unit-tested without an app: ``Rate`` turns
(bytes, monotonic time) samples into bytes/s over the last few seconds (an
average since the start would hide a link that just got slower), ``FileProgress``
follows one feed's file after file, and ``TtyLine`` draws one updating line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from cache.sync import Stage, SyncEvent
from terminal.strings import Catalogue

WINDOW = 5.0
"""Seconds of samples the rate is taken over."""
UNITS = (("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def format_bytes(count: float) -> str:
    """A byte count as people read it: 512 B, 410 kB, 2.1 MB (SI, one decimal
    below 10 of a unit, so a figure that moves shows it moves)."""
    for unit, size in UNITS:
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{max(int(count), 0)} B"


@dataclass
class Rate:
    """Bytes/s over the last ``window`` seconds of samples, and the time left.

    A count that goes back (a new file, or a server that ignored Range so the
    download restarted) starts afresh: bytes from before say nothing of the rate
    from here."""

    window: float = WINDOW
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, done: int, now: float) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()
        self.samples.append((now, done))
        # Keep the newest sample at or before the window's start, so the span
        # covers the whole window rather than only the samples inside it.
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()

    def per_second(self) -> float | None:
        """None until two samples some time apart: no guess from one."""
        if len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        if t1 <= t0:
            return None
        return (b1 - b0) / (t1 - t0)

    def seconds_left(self, total: int) -> float | None:
        """At the current rate; None when there is no rate (or it is zero)."""
        rate = self.per_second()
        if rate is None or rate <= 0:
            return None
        return max(total - self.samples[-1][1], 0) / rate


@dataclass
class FileProgress:
    """One feed's download: the file being fetched, its bytes and its rate."""

    done: int = 0
    total: int = 0
    rate: Rate = field(default_factory=Rate)

    def add(self, done: int, total: int, now: float) -> None:
        if total != self.total:  # another file: its own rate
            self.rate = Rate(self.rate.window)
        self.done, self.total = done, total
        self.rate.add(done, now)

    def text(self, catalogue: Catalogue, *, finished: bool = False) -> str:
        """``2.1 MB / 5.8 MB, 410 kB/s, 9 s left``; only the bytes once finished (or
        the file whole) and while there is no rate yet."""
        done, total = format_bytes(self.done), format_bytes(self.total)
        rate = self.rate.per_second()
        left = self.rate.seconds_left(self.total)
        if finished or self.done >= self.total or rate is None or left is None:
            return catalogue.text("ui.sync.bytes", done=done, total=total)
        return catalogue.text(
            "ui.sync.bytes_rate",
            done=done,
            total=total,
            rate=format_bytes(rate),
            left=catalogue.age(left + 0.5),
        )


@dataclass
class TtyLine:
    """A sync listener drawing one line, redrawn in place (carriage return, erase to
    the end of the line), for a terminal; ``end`` closes it with a newline so what
    is printed next starts on its own line. Redrawn at most every ``interval``
    seconds, except a file's first and last event."""

    stream: TextIO
    catalogue: Catalogue
    clock: Callable[[], float]
    interval: float = 0.1
    files: dict[str, FileProgress] = field(default_factory=dict)
    drawn_at: float | None = None

    def __call__(self, event: SyncEvent) -> None:
        if event.stage != Stage.DOWNLOAD or not event.total:
            return
        now = self.clock()
        file = self.files.setdefault(event.feed, FileProgress())
        new_file = event.total != file.total or event.done < file.done
        file.add(event.done, event.total, now)
        recent = self.drawn_at is not None and now - self.drawn_at < self.interval
        if recent and not new_file and event.done < event.total:
            return
        self.drawn_at = now
        line = f"{event.feed} {file.text(self.catalogue)}"
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()

    def end(self) -> None:
        if self.drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn_at = None
