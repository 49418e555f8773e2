"""Shift start and sync: a progress bar per feed, then a freshness summary.

The sync runs in an exclusive thread worker; its listener posts ``SyncProgress``
messages (which merge), and ``SyncFinished`` carries the report back. Under each
bar, the file being downloaded in bytes, its rate and the time left (issue 15: a
shift start over a weak link), timed here, when each message arrives. Its errors
come from the network (header lines, feed ids from manifests): every widget here
shows text as it is, never as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from cache.sync import SyncEvent, SyncReport
from terminal.freshness import Freshness, data_age, freshness_lines
from terminal.progress import FileProgress
from terminal.render import sync_report_lines
from terminal.strings import Catalogue


class SyncScreen(Screen[None]):
    """Runs one sync on mount. With ``shift_start``, asks the officer number first.

    Handed the catalogue, the subscribed feeds (a bar each), how to read the cache's
    freshness, and whom to tell: ``set_officer`` the number typed, ``start_sync`` to
    run the sync. The app passes progress and the report back (``show_progress``,
    ``show_report``). ``monotonic`` times the progress, for the rate."""

    BINDINGS: ClassVar = [Binding("f10", "skip", "Skip", show=True)]

    def __init__(
        self,
        catalogue: Catalogue,
        feeds: Sequence[str],
        freshness: Callable[[], Freshness],
        start_sync: Callable[[], None],
        set_officer: Callable[[str], None],
        shift_start: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.feeds = tuple(feeds)
        self.freshness = freshness
        self.start_sync = start_sync
        self.set_officer = set_officer
        self.shift_start = shift_start
        self.started = False
        self.monotonic = monotonic
        self.bars: dict[str, ProgressBar] = {}
        self.byte_lines: dict[str, Static] = {}
        self.downloads: dict[str, FileProgress] = {}

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        with Vertical(id="sync-body"):
            yield Static(
                t("ui.shift.title" if self.shift_start else "ui.sync.title"),
                id="sync-title",
                markup=False,
            )
            if self.shift_start:
                yield Input(placeholder=t("ui.shift.officer"), id="officer", max_length=12)
                yield Static(
                    f"Enter: {t('ui.shift.start')}    F10: {t('ui.shift.skip')}",
                    id="shift-hint",
                    markup=False,
                )
            for feed in self.feeds:
                yield Label(feed, classes="feed-label", markup=False)
                # Kept by feed id, not queried by a widget id built from it: a feed id
                # read from config.json need not be a valid CSS identifier.
                self.bars[feed] = ProgressBar(total=None, show_eta=False)
                yield self.bars[feed]
                self.byte_lines[feed] = Static("", classes="feed-bytes", markup=False)
                yield self.byte_lines[feed]
            yield Static("", id="sync-summary", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.shift_start:
            self.query_one("#officer", Input).focus()
        else:
            self.begin()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.set_officer(event.value.strip())
        self.begin()

    def begin(self) -> None:
        if self.started:
            return
        self.started = True
        self.query_one("#sync-summary", Static).update(self.catalogue.text("ui.sync.running"))
        self.start_sync()

    def action_skip(self) -> None:
        age = data_age(self.freshness(), self.catalogue)
        self.app.notify(self.catalogue.text("ui.sync.offline", age=age.text), markup=False)
        self.app.pop_screen()

    def show_progress(self, event: SyncEvent) -> None:
        bar = self.bars.get(event.feed)
        if bar is None:
            return
        if event.stage in ("download", "apply") and event.total:
            bar.update(total=event.total, progress=event.done)
        elif event.stage == "done":
            bar.update(total=bar.total or 1, progress=bar.total or 1)
        self._show_bytes(event)

    def _show_bytes(self, event: SyncEvent) -> None:
        """The bytes line: updated while a file downloads, kept (bytes only) after."""
        if event.stage == "download" and event.total:
            file = self.downloads.setdefault(event.feed, FileProgress())
            file.add(event.done, event.total, self.monotonic())
            self.byte_lines[event.feed].update(file.text(self.catalogue))
        elif event.stage == "done" and event.feed in self.downloads:
            text = self.downloads[event.feed].text(self.catalogue, finished=True)
            self.byte_lines[event.feed].update(text)

    def show_report(self, report: SyncReport) -> None:
        """What happened, then how fresh each part of the cache now is."""
        t = self.catalogue.text
        lines = sync_report_lines(report, self.catalogue, detailed=False)
        lines.append(t("ui.sync.done") if report.ok else t("ui.sync.failed", error=""))
        lines.append("")
        lines += freshness_lines(self.freshness(), self.catalogue)
        self.query_one("#sync-summary", Static).update("\n".join(lines))
