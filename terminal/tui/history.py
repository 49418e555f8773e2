"""This shift's checks, newest first, filtered by plate as the officer types;
Enter shows one again in full. Also the shift's counts for the home screen.

Every cell is a ``Text``: nothing shown here is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.events import Key
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from keys.fields import normalize_plate
from keys.reasons import Verdict
from terminal.render import iso
from terminal.strings import Catalogue
from terminal.verdict import CheckResult


class HistoryEntry(NamedTuple):
    at: float
    how: str
    result: CheckResult


class ShiftSummary(NamedTuple):
    """What the home screen shows of the shift: counts, the last check, the officer."""

    checks: int = 0
    alerts: int = 0
    invalid: int = 0
    last: HistoryEntry | None = None
    officer: str = ""


def shift_summary(history: Sequence[HistoryEntry], officer: str) -> ShiftSummary:
    verdicts = [entry.result.verdict for entry in history]
    return ShiftSummary(
        len(history),
        verdicts.count(Verdict.ALERT),
        verdicts.count(Verdict.INVALID),
        history[-1] if history else None,
        officer,
    )


def matches(entry: HistoryEntry, wanted: str) -> bool:
    """A plate filter: the normal form of what is typed, anywhere in the plate."""
    return not wanted or wanted in (entry.result.plate or "")


class HistoryScreen(Screen[None]):
    """Handed the shift's checks (oldest first) and where a chosen one is shown.
    Typing a plate (or part of one) filters the table; Enter in the filter goes
    back to the table."""

    def __init__(
        self,
        catalogue: Catalogue,
        history: Sequence[HistoryEntry],
        show_entry: Callable[[HistoryEntry], None],
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.history = tuple(history)
        self.show_entry = show_entry

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        yield Input(
            placeholder=t("ui.history.filter"),
            id="history-filter",
            max_length=12,
            select_on_focus=False,
        )
        if not self.history:
            yield Static(t("ui.history.empty"), id="history-empty", markup=False)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        t = self.catalogue.text
        table = self.query_one(DataTable)
        columns = (t("ui.history.time"), t("label.plate"), "", t("ui.history.kind"))
        table.add_columns(*(Text(c) for c in columns))
        self._fill("")
        table.focus()

    def _fill(self, wanted: str) -> None:
        catalogue = self.catalogue
        table = self.query_one(DataTable)
        table.clear()
        for index, entry in reversed(list(enumerate(self.history))):
            if not matches(entry, wanted):
                continue
            cells = (
                iso(entry.at)[11:19],
                entry.result.plate or "-",
                catalogue.verdict(entry.result.verdict.name),
                catalogue.text(f"ui.history.{entry.how}"),
            )
            # A str cell is parsed as markup by DataTable; Text is shown as it is.
            table.add_row(*(Text(c) for c in cells), key=str(index))

    def on_key(self, event: Key) -> None:
        """A plate typed while the table has focus goes to the filter."""
        table = self.query_one(DataTable)
        if self.focused is table and event.is_printable and event.character:
            event.stop()
            field = self.query_one("#history-filter", Input)
            field.focus()
            field.insert_text_at_cursor(event.character)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(normalize_plate(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.show_entry(self.history[int(event.row_key.value or 0)])
