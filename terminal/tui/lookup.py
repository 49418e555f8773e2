"""Plate lookup, when no code is shown: pick the province, type the rest.

Normal form and validation happen as the officer types; the result is the same
verdict card as a scan. Two lists of plates may be offered on the digit keys (the
fields give up the focus meanwhile, so a digit picks instead of typing; Tab or a
click types again): the plates the camera read (F4: the best fills the field, Enter
looks it up) and, after a lookup with no record, the cached plates one commonly
confused character away (a digit looks that one up at once).
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
from terminal.tui.platereading import choices_line

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

    AUTO_FOCUS = ""  # ``on_mount`` focuses the plate; back from a card, offers keep the keys
    BINDINGS: ClassVar = [
        *(Binding(d, f"province({i})", show=False) for i, d in enumerate(DIGIT_KEYS)),
        Binding("enter", "submit", show=False),
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
        self.offers: list[str] = []
        self.offers_look_up = False
        """True for the similar plates (a digit looks up), False for plates read."""

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
            yield Static("", id="plate-offers", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#plate", Input).focus()

    def offer_read(self, plates: list[str]) -> None:
        """The camera's reads, best first: the best fills the field, all are offered."""
        plate = self.query_one("#plate", Input)
        plate.value = plates[0]
        plate.cursor_position = len(plate.value)
        self._offer(plates, "ui.plate.read", look_up=False)

    def offer_similar(self, plates: list[str]) -> None:
        """After a lookup with no record: the cached plates one misread away."""
        if plates:
            self._offer(plates, "ui.plate.similar", look_up=True)
        else:
            self._offer([], "", look_up=False)

    def _offer(self, plates: list[str], key: str, look_up: bool) -> None:
        self.offers = plates[: len(DIGIT_KEYS) - 1]
        self.offers_look_up = look_up
        line = self.catalogue.text(key, choices=choices_line(self.offers)) if plates else ""
        self.query_one("#plate-offers", Static).update(line)
        if plates:
            self.set_focus(None)  # the digits pick now

    def on_key(self, event: Key) -> None:
        """While plates are offered (no field has the focus), a letter or a province
        character goes back to typing the plate; digits stay the offers'."""
        char = event.character
        if self.focused is None and event.is_printable and char and char not in DIGIT_KEYS:
            event.stop()
            plate = self.query_one("#plate", Input)
            plate.focus()
            plate.insert_text_at_cursor(char)

    def action_submit(self) -> None:
        """Enter while no field has the focus (plates offered): look the plate up."""
        self._submit()

    def action_province(self, index: int) -> None:
        """Digits pick a province while the plate field is still empty, an offered
        plate while plates are offered and no field has the focus; elsewhere they are
        typed as usual."""
        focused = self.focused
        if self.offers and not isinstance(focused, Input):
            self._choose(index)
            return
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

    def _choose(self, index: int) -> None:
        """Digit ``index`` (0 for "1") while plates are offered."""
        if index >= len(self.offers):
            return
        chosen = self.offers[index]
        plate = self.query_one("#plate", Input)
        plate.value = chosen
        plate.cursor_position = len(chosen)
        if self.offers_look_up:
            self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter looks the plate up from either field: the plate type is optional (Tab
        reaches it), and an officer in gloves presses Enter once, as the hint says."""
        self._submit()

    def _submit(self) -> None:
        plate = normalize_plate(self.query_one("#plate", Input).value)
        plate_type = self.query_one("#plate-type", Input).value.strip() or None
        if not is_valid_plate(plate) or (plate_type is not None and not is_plate_type(plate_type)):
            self.query_one("#plate-hint", Static).update(self.catalogue.text("ui.lookup.invalid"))
            if not is_valid_plate(plate):
                self._offer_repairs(plate)
            return
        self.submit_plate(plate, plate_type)

    def _offer_repairs(self, plate: str) -> None:
        """A plate typed with a letter no plate has (O for 0, I for 1) or a look-alike
        in the wrong place: the valid plates the grammar reads it as, one key away
        (issue 16's fix-ups, as for the camera's reads)."""
        from terminal.plates.grammar import guesses

        repairs = [g.plate for g in guesses(plate)]
        if repairs:
            self._offer(repairs, "ui.plate.repairs", look_up=True)
