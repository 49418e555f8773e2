"""The home screen: scanning. The camera runs in a worker; a hardware scan engine's
keystrokes arrive here as key events and become a check on Enter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Footer, Static

from terminal.scan.wedge import WedgeInput


class ScanScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        app = self.app
        with Vertical(id="scan-body"):
            yield Static(app.t("ui.title"), id="title", markup=False)  # type: ignore[attr-defined]
            yield Static("", id="scanner-state", markup=False)
            yield Static("", id="data-age", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.wedge = WedgeInput(self.app.monotonic)  # type: ignore[attr-defined]
        self.show_state(self.app.scanner_state)  # type: ignore[attr-defined]
        self.refresh_age()
        self.set_interval(30, self.refresh_age)

    def show_state(self, state: str) -> None:
        self.query_one("#scanner-state", Static).update(self.app.t(state))  # type: ignore[attr-defined]

    def refresh_age(self) -> None:
        text, stale = self.app.data_age()  # type: ignore[attr-defined]
        label = self.query_one("#data-age", Static)
        label.update(text)
        label.set_class(stale, "stale")

    def on_key(self, event: Key) -> None:
        """Keystrokes from a scan engine: printable characters and Enter."""
        if event.key == "enter":
            text = self.wedge.feed("\r")
        elif event.character is not None and event.is_printable:
            text = self.wedge.feed(event.character)
        else:
            return
        event.stop()
        if text is not None:
            self.app.check_code(text)  # type: ignore[attr-defined]
