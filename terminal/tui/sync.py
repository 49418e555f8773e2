"""Shift start and sync: a progress bar per feed, then a freshness summary.

The sync runs in an exclusive thread worker; its listener posts ``SyncProgress``
messages (which merge), and ``SyncFinished`` carries the report back. Its errors
come from the network (header lines, feed ids from manifests): every widget here
shows text as it is, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from cache.sync import SyncEvent, SyncReport
from terminal.tui.status import freshness_lines


class SyncScreen(Screen[None]):
    """Runs one sync on mount. With ``shift_start``, asks the officer number first."""

    BINDINGS: ClassVar = [Binding("f10", "skip", "Skip", show=True)]

    def __init__(self, shift_start: bool = False) -> None:
        super().__init__()
        self.shift_start = shift_start
        self.started = False
        self.bars: dict[str, ProgressBar] = {}

    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
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
            for feed in self.app.config.feeds:  # type: ignore[attr-defined]
                yield Label(feed, classes="feed-label", markup=False)
                # Kept by feed id, not queried by a widget id built from it: a feed id
                # read from config.json need not be a valid CSS identifier.
                self.bars[feed] = ProgressBar(total=None, show_eta=False)
                yield self.bars[feed]
            yield Static("", id="sync-summary", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.shift_start:
            self.query_one("#officer", Input).focus()
        else:
            self.begin()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.app.officer = event.value.strip()  # type: ignore[attr-defined]
        self.begin()

    def begin(self) -> None:
        if self.started:
            return
        self.started = True
        self.query_one("#sync-summary", Static).update(self.app.t("ui.sync.running"))  # type: ignore[attr-defined]
        self.app.start_sync()  # type: ignore[attr-defined]

    def action_skip(self) -> None:
        t = self.app.t  # type: ignore[attr-defined]
        text, _ = self.app.data_age()  # type: ignore[attr-defined]
        self.app.notify(t("ui.sync.offline", age=text), markup=False)
        self.app.pop_screen()

    def show_progress(self, event: SyncEvent) -> None:
        bar = self.bars.get(event.feed)
        if bar is None:
            return
        if event.stage in ("download", "apply") and event.total:
            bar.update(total=event.total, progress=event.done)
        elif event.stage == "done":
            bar.update(total=bar.total or 1, progress=bar.total or 1)

    def show_report(self, report: SyncReport) -> None:
        """What happened, then how fresh each part of the cache now is."""
        t = self.app.t  # type: ignore[attr-defined]
        lines = [
            f"{t('label.trust_list')}: {t('sync.' + report.trust_list.status)}"
            f" v{report.trust_list.version}"
            + (f" ({report.trust_list.error})" if report.trust_list.error else "")
        ]
        for feed in report.feeds:
            line = f"{feed.feed}: {t('sync.' + feed.status)} v{feed.to_version}"
            lines.append(line + (f" ({feed.error})" if feed.error else ""))
        lines.append(t("ui.sync.done") if report.ok else t("ui.sync.failed", error=""))
        lines.append("")
        lines += freshness_lines(self.app)
        self.query_one("#sync-summary", Static).update("\n".join(lines))
