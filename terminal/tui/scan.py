"""The home screen: scanning. The camera runs in a worker; a hardware scan engine's
keystrokes arrive here as key events and become a check on Enter.

The screen is handed what it shows and whom to tell: the catalogue, how to read the
data's age, the scan engine's clock and where a scanned code goes. The app sets
``scanner_state`` as the camera worker reports it."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from terminal.freshness import DataAge
from terminal.scan.wedge import WedgeInput
from terminal.strings import Catalogue


class ScanScreen(Screen[None]):
    scanner_state: reactive[str] = reactive("ui.scan.idle", init=False)
    """A catalogue key: what the camera sees (idle, reading, no camera)."""

    def __init__(
        self,
        catalogue: Catalogue,
        data_age: Callable[[], DataAge],
        monotonic: Callable[[], float],
        submit_code: Callable[[str], None],
        scanner_state: str,
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.data_age = data_age
        self.submit_code = submit_code
        self.wedge = WedgeInput(monotonic)
        self.set_reactive(ScanScreen.scanner_state, scanner_state)

    def compose(self) -> ComposeResult:
        with Vertical(id="scan-body"):
            yield Static(self.catalogue.text("ui.title"), id="title", markup=False)
            yield Static("", id="scanner-state", markup=False)
            yield Static("", id="data-age", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_state(self.scanner_state)
        self.refresh_age()
        self.set_interval(30, self.refresh_age)

    def watch_scanner_state(self, state: str) -> None:
        if self.is_mounted:  # before, on_mount shows the state it finds
            self._show_state(state)

    def _show_state(self, state: str) -> None:
        self.query_one("#scanner-state", Static).update(self.catalogue.text(state))

    def refresh_age(self) -> None:
        age = self.data_age()
        label = self.query_one("#data-age", Static)
        label.update(age.text)
        label.set_class(age.stale, "stale")

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
            self.submit_code(text)
