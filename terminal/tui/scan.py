"""The home screen for a shift: what the camera sees, the last check, the shift's
counts, the officer and the data's age.

The screen is handed what it shows: the catalogue, how to read the data's age and
the clock (for "how long ago"); the app sets ``scanner_state`` as the camera worker
reports it and ``shift`` after every check. Scan-engine keystrokes are not handled
here but by the app, on every screen alike (``terminal.tui.scankeys``).

The upper half (``#preview``) is the camera's picture, to aim with, when there is a
camera: the app makes the ``CameraPreview`` (its worker feeds it frames) and hands
it over; without one, the title stands there.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from terminal.freshness import DataAge
from terminal.render import verdict_words
from terminal.strings import Catalogue
from terminal.tui.history import ShiftSummary


def last_check_line(shift: ShiftSummary, catalogue: Catalogue, now: float) -> str:
    """``Last: VALID 桂A12345, 2 min ago``, or that there was none yet."""
    t = catalogue.text
    last = shift.last
    if last is None:
        return t("ui.home.no_last")
    return t(
        "ui.home.last",
        verdict=verdict_words(last.result.verdict, catalogue),
        plate=last.result.plate or "-",
        ago=catalogue.age(now - last.at),
    )


def shift_line(shift: ShiftSummary, catalogue: Catalogue) -> str:
    t = catalogue.text
    counts = t("ui.home.counts", checks=shift.checks, alerts=shift.alerts, invalid=shift.invalid)
    if shift.officer:
        return f"{t('ui.home.officer', officer=shift.officer)}  {counts}"
    return counts


class ScanScreen(Screen[None]):
    scanner_state: reactive[str] = reactive("ui.scan.idle", init=False)
    """A catalogue key: what the camera sees (idle, reading, no camera)."""
    shift: reactive[ShiftSummary] = reactive(ShiftSummary, init=False)
    """The shift so far: set by the app after every check and at sign-in."""

    def __init__(
        self,
        catalogue: Catalogue,
        data_age: Callable[[], DataAge],
        now: Callable[[], float],
        scanner_state: str,
        shift: ShiftSummary,
        preview: Widget | None = None,
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.preview = preview
        self.data_age = data_age
        self.now = now
        self.set_reactive(ScanScreen.scanner_state, scanner_state)
        self.set_reactive(ScanScreen.shift, shift)

    def compose(self) -> ComposeResult:
        with Vertical(id="scan-body"):
            with Vertical(id="preview"):
                if self.preview is None:
                    yield Static(self.catalogue.text("ui.title"), id="title", markup=False)
                else:
                    yield self.preview
            yield Static("", id="scanner-state", markup=False)
            yield Static("", id="last-check", markup=False)
            yield Static("", id="shift", markup=False)
            yield Static("", id="data-age", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_state(self.scanner_state)
        self._show_shift()
        self.refresh_age()
        self.set_interval(30, self.refresh_age)
        self.set_interval(10, self._show_shift)

    def watch_scanner_state(self, state: str) -> None:
        if self.is_mounted:  # before, on_mount shows the state it finds
            self._show_state(state)

    def watch_shift(self, shift: ShiftSummary) -> None:
        if self.is_mounted:
            self._show_shift()

    def _show_state(self, state: str) -> None:
        self.query_one("#scanner-state", Static).update(self.catalogue.text(state))

    def _show_shift(self) -> None:
        shift = self.shift
        last = self.query_one("#last-check", Static)
        last.update(last_check_line(shift, self.catalogue, self.now()))
        for verdict in ("valid", "check", "invalid", "alert"):
            last.set_class(
                shift.last is not None and shift.last.result.verdict.name.lower() == verdict,
                f"last-{verdict}",
            )
        self.query_one("#shift", Static).update(shift_line(shift, self.catalogue))

    def refresh_age(self) -> None:
        age = self.data_age()
        label = self.query_one("#data-age", Static)
        label.update(age.text)
        label.set_class(age.stale, "stale")
