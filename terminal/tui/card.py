"""The verdict card: the answer at a glance, in sunlight, with gloves.

The verdict is always a word (有效 / 核查 / 无效 / 告警) in its colour, never colour
alone; the plate is shown large with the prompt to compare it with the car.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Static

from terminal.strings import Catalogue
from terminal.verdict import CheckResult

CARD_SECONDS = 6.0


def spaced(plate: str) -> str:
    """Spread the plate out so it reads like the plate on the car."""
    return " ".join(plate)


class VerdictCard(ModalScreen[None]):
    """Any key, or a few seconds, returns to scanning."""

    def __init__(self, result: CheckResult, catalogue: Catalogue, timeout: float = CARD_SECONDS):
        super().__init__(classes=f"verdict-{result.verdict.name.lower()}")
        self.result = result
        self.catalogue = catalogue
        self.timeout = timeout

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        result = self.result
        with Vertical(id="card"):
            yield Static(
                f"{self.catalogue.verdict(result.verdict.name)}  {result.verdict.name}",
                id="verdict-word",
                markup=False,
            )
            if result.plate:
                yield Static(spaced(result.plate), id="plate", markup=False)
                yield Static(t("label.compare"), id="compare", markup=False)
            yield Static(
                t("ui.card.valid_through", month=result.valid_through)
                if result.valid_through
                else t("ui.card.no_validity"),
                id="validity",
                markup=False,
            )
            yield Static(
                "\n".join(f"• {self.catalogue.reason(r.code)}" for r in result.reasons),
                id="reasons",
                markup=False,
            )
            yield Static(t("ui.card.dismiss"), id="dismiss", markup=False)

    def on_mount(self) -> None:
        self.app.bell()
        if self.timeout > 0:
            self.set_timer(self.timeout, self._close)

    def _close(self) -> None:
        if self.is_current:
            self.dismiss()

    def on_key(self, event: Key) -> None:
        event.stop()
        self._close()
