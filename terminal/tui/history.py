"""This shift's checks, newest first; Enter shows one again in full.

Every cell is a ``Text``: nothing shown here is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from terminal.render import iso
from terminal.strings import Catalogue
from terminal.verdict import CheckResult


class HistoryEntry(NamedTuple):
    at: float
    how: str
    result: CheckResult


class HistoryScreen(Screen[None]):
    """Handed the shift's checks (oldest first) and where a chosen one is shown."""

    def __init__(
        self,
        catalogue: Catalogue,
        history: Sequence[HistoryEntry],
        show_result: Callable[[CheckResult], None],
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.history = history
        self.show_result = show_result

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        if not self.history:
            yield Static(t("ui.history.empty"), id="history-empty", markup=False)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        catalogue = self.catalogue
        t = catalogue.text
        table = self.query_one(DataTable)
        columns = (t("ui.history.time"), t("label.plate"), "", t("ui.history.kind"))
        table.add_columns(*(Text(c) for c in columns))
        for index, entry in reversed(list(enumerate(self.history))):
            cells = (
                iso(entry.at)[11:19],
                entry.result.plate or "-",
                catalogue.verdict(entry.result.verdict.name),
                t(f"ui.history.{entry.how}"),
            )
            # A str cell is parsed as markup by DataTable; Text is shown as it is.
            table.add_row(*(Text(c) for c in cells), key=str(index))
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        entry = self.history[int(event.row_key.value or 0)]
        self.show_result(entry.result)
