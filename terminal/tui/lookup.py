"""Plate lookup, when no code is shown: pick the province, type the rest.

Normal form and validation happen as the officer types; the result is the same
verdict card as a scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from keys.fields import PROVINCES, is_plate_type, is_valid_plate, normalize_plate
from terminal.strings import Catalogue

DIGIT_KEYS = "1234567890"


def province_order(home: str | None) -> str:
    """The 31 provinces, the terminal's home province first."""
    if home and home in PROVINCES:
        return home + PROVINCES.replace(home, "")
    return PROVINCES


class PlateInput(Input):
    """The plate field: while it is empty, a digit picks a province instead
    (``pick_province`` gets the digit's index)."""

    def __init__(self, pick_province: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pick_province = pick_province

    async def _on_key(self, event: Key) -> None:
        if not self.value and event.character is not None and event.character in DIGIT_KEYS:
            event.stop()
            event.prevent_default()
            self.pick_province(DIGIT_KEYS.index(event.character))
            return
        await super()._on_key(event)


class LookupScreen(Screen[None]):
    """Handed the catalogue, the home province (first in the grid) and where a
    valid plate goes to be looked up."""

    BINDINGS: ClassVar = [
        Binding(d, f"province({i})", show=False) for i, d in enumerate(DIGIT_KEYS)
    ]

    def __init__(
        self,
        catalogue: Catalogue,
        home_province: str | None,
        submit_plate: Callable[[str, str | None], None],
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.order = province_order(home_province)
        self.submit_plate = submit_plate

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        order = self.order
        with Vertical(id="lookup-body"):
            yield Static(t("ui.lookup.province"), id="province-hint", markup=False)
            with Grid(id="provinces"):
                for i, p in enumerate(order):
                    label = f"{DIGIT_KEYS[i]}{p}" if i < len(DIGIT_KEYS) else p
                    yield Button(label, id=f"province-{i}", classes="province")
            yield PlateInput(self.action_province, placeholder=t("ui.lookup.plate"), id="plate")
            yield Input(placeholder=t("ui.lookup.type"), id="plate-type", max_length=2)
            yield Static("", id="plate-hint", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#plate", Input).focus()

    def action_province(self, index: int) -> None:
        """Digits pick a province while the plate field is still empty; elsewhere
        they are typed as usual."""
        focused = self.focused
        if isinstance(focused, Input) and (focused.id != "plate" or focused.value):
            focused.insert_text_at_cursor(DIGIT_KEYS[index])
            return
        self._pick(self.order[index])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("province-"):
            self._pick(self.order[int(event.button.id.split("-")[1])])

    def _pick(self, province: str) -> None:
        plate = self.query_one("#plate", Input)
        plate.value = province + plate.value.lstrip(PROVINCES)
        plate.cursor_position = len(plate.value)
        plate.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "plate":
            return
        t = self.catalogue.text
        normal = normalize_plate(event.value)
        hint = self.query_one("#plate-hint", Static)
        ok = is_valid_plate(normal)
        hint.update(f"{normal}  {t('ui.lookup.valid') if ok else t('ui.lookup.invalid')}")
        hint.set_class(ok, "ok")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        plate = normalize_plate(self.query_one("#plate", Input).value)
        plate_type = self.query_one("#plate-type", Input).value.strip() or None
        if event.input.id == "plate" and is_valid_plate(plate) and plate_type is None:
            self.query_one("#plate-type", Input).focus()
            return
        if not is_valid_plate(plate) or (plate_type is not None and not is_plate_type(plate_type)):
            self.query_one("#plate-hint", Static).update(self.catalogue.text("ui.lookup.invalid"))
            return
        self.submit_plate(plate, plate_type)
