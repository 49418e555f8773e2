"""Status: server, feeds, versions, ages, the clock floor, camera and language."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from terminal.strings import Catalogue


class StatusScreen(Screen[None]):
    """Handed its lines (``terminal.freshness.status_lines``): the status as of when
    the officer opened the screen."""

    def __init__(self, catalogue: Catalogue, lines: Sequence[str]) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.shown_lines = tuple(lines)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="status-body"):
            yield Static(self.catalogue.text("ui.status.title"), id="status-title", markup=False)
            yield Static("", id="status-lines", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#status-lines", Static).update("\n".join(self.shown_lines))
