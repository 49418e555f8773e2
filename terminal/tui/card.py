"""The verdict card: the answer at a glance, in sunlight, with gloves.

The verdict is always a word (有效 / 核查 / 无效 / 告警) in its colour, never colour
alone, and once per language (zh_CN adds the English word beside it, English shows
it once). Then the plate large, with the prompt to compare it with the car, and what
the officer needs in words: plate type and vehicle type by name, the inspection
month, the issuer, where the answer came from (a scanned code, or a plate lookup
with no code shown, which within validity is not an offence), the data's age when it
is not fresh, and the reasons.

A card is a full screen, not a modal: the footer stays and every function key acts
at once. Only Esc, Enter and Space (and the time-out) dismiss it; a new scan or
camera code replaces it (the app decides, see ``terminal.tui.scankeys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key, Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from keys.reasons import Verdict
from terminal.freshness import DataAge
from terminal.render import printable
from terminal.strings import EN, Catalogue
from terminal.tui.bigtext import BigText
from terminal.tui.platereading import CarPlate, car_plate_line
from terminal.verdict import CheckResult

CARD_SECONDS = 6.0
DISMISS_KEYS = ("escape", "enter", "space")
TALL = 26
"""From this many rows the large glyphs may grow (the app's tall breakpoint)."""
GLYPH_ROWS = {False: (4, 5), True: (6, 10)}
"""Rows for the verdict word and the plate, on a short screen and a tall one: at
40x20 both fit with the details, the footer and the dismiss line."""
TWO_PLATE_ROWS = {False: 5, True: 7}
"""Rows for each plate when two are shown (the certificate's and the car's)."""


def code_name(catalogue: Catalogue, table: str, code: str | None) -> str | None:
    """``02 小型汽车号牌`` from a code table in the catalogue; the code alone when the
    table has no name for it (a new code, or text from a feed)."""
    if not code:
        return None
    key = f"{table}.{code}"
    name = catalogue.text(key)
    return printable(code) if name == key else f"{printable(code)} {name}"


def detail_lines(
    result: CheckResult, how: str, catalogue: Catalogue, age: DataAge | None
) -> list[str]:
    """The card's lines under the plate, in the order an officer reads them."""
    t = catalogue.text
    cert = result.certificate
    record = result.vehicles[0] if result.vehicles else None
    lines = [age.text] if age is not None and age.stale else []
    plate_type = code_name(
        catalogue, "plate_type", result.plate_type or (record.plate_type if record else None)
    )
    if plate_type:
        lines.append(f"{t('ui.card.plate_type')}: {plate_type}")
    vehicle = (cert.vehicle_type if cert else None) or (record.vehicle_type if record else None)
    if vehicle_type := code_name(catalogue, "vehicle_type", vehicle):
        lines.append(f"{t('ui.card.vehicle_type')}: {vehicle_type}")
    lines.append(
        t("ui.card.valid_through", month=result.valid_through)
        if result.valid_through
        else t("ui.card.no_validity")
    )
    if cert is not None:
        lines.append(f"{t('label.issuer')}: {printable(cert.issuer)}")
    if how == "plate":
        lines.append(t("ui.card.from_plate"))
        if result.verdict in (Verdict.VALID, Verdict.CHECK) and result.valid_through:
            lines.append(t("ui.card.no_code_ok"))
    else:
        lines.append(t("ui.card.from_code"))
    return lines


class VerdictCard(Screen[None]):
    """Handed the result, how it was obtained ("code" or "plate"), the data's age as
    of the check, and how long to stay (0: until dismissed); then what the scan said
    besides the verdict (``notices``: several certificates in view, or what the code
    that is not one looks like), the car's plate as the camera read it (``car``), and
    whether a plate read can be asked for (a certificate's card, with a camera)."""

    BINDINGS: ClassVar = [Binding("f1", "app.show_scan", show=False)]
    """F1 acts on a card too, unlisted: the footer's room goes to the other keys."""

    def __init__(
        self,
        result: CheckResult,
        how: str,
        catalogue: Catalogue,
        age: DataAge | None = None,
        timeout: float = CARD_SECONDS,
        notices: Sequence[str] = (),
        car: CarPlate | None = None,
        can_read_plate: bool = False,
    ) -> None:
        super().__init__(classes=f"verdict-{result.verdict.name.lower()}")
        self.result = result
        self.how = how
        self.catalogue = catalogue
        self.age = age
        self.timeout = timeout
        self.notices = tuple(notices)
        self.car = car
        self.can_read_plate = can_read_plate
        self.plate_tries = 0
        """Reads the card made by itself that saw nothing clear (the app stops at a few)."""

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        result = self.result
        # As ``on_resize`` would pick: a card recomposed by ``show_car`` keeps its size.
        verdict_rows, plate_rows = self._rows(self.app.size.height >= TALL)
        with Vertical(id="card"):
            with Horizontal(id="verdict"):
                word = self.catalogue.verdict(result.verdict.name)
                yield BigText(word, id="verdict-word", max_rows=verdict_rows)
                if self.catalogue.lang != EN:  # the English word beside, once
                    yield Static(result.verdict.name, id="verdict-en", markup=False)
            mismatch = self.car is not None and self.car.matches is False
            if mismatch:  # both plates, large: the certificate's, then the car's
                yield Static(t("ui.card.cert_plate"), classes="plate-label", markup=False)
            if result.plate:
                yield BigText(result.plate, id="plate", max_rows=plate_rows)
            if mismatch and self.car is not None and self.car.plate:
                yield Static(t("ui.card.car_plate"), classes="plate-label", markup=False)
                yield BigText(self.car.plate, id="car-plate", max_rows=plate_rows)
            elif result.plate:
                yield Static(t("label.compare"), id="compare", markup=False)
            # The reasons first: what is wrong matters more than the details.
            with VerticalScroll(id="card-body"):
                yield Static(
                    "\n".join(f"• {self.catalogue.reason(r.code)}" for r in result.reasons),
                    id="reasons",
                    markup=False,
                )
                # Outside text (plates and text read from the codes): plain, no markup.
                notices = Static("\n".join(self.notices), id="notices", markup=False)
                notices.display = bool(self.notices)
                yield notices
                lines = [
                    *self._plate_lines(),
                    *detail_lines(result, self.how, self.catalogue, self.age),
                ]
                yield Static("\n".join(lines), id="details", markup=False)
            yield Static(t("ui.card.dismiss"), id="dismiss", markup=False)
        yield Footer(compact=True)

    def _plate_lines(self) -> list[str]:
        """What the card says of the car's plate: the camera's comparison, or the
        key that asks for it."""
        if self.car is not None:
            line = car_plate_line(self.car, self.catalogue)
            return [line] if line else []
        if self.can_read_plate and self.result.certificate is not None:
            return [self.catalogue.text("ui.card.read_plate")]
        return []

    def show_car(self, car: CarPlate, result: CheckResult) -> None:
        """The camera read the car's plate: the card shows the comparison and, on a
        clear mismatch, turns to ``result`` (CHECK, PLATE_MISMATCH)."""
        self.car = car
        self.set_class(False, f"verdict-{self.result.verdict.name.lower()}")
        self.result = result
        self.set_class(True, f"verdict-{result.verdict.name.lower()}")
        self.refresh(recompose=True)

    def _rows(self, tall: bool) -> tuple[int, int]:
        """Rows for the verdict word and for each plate (two plates get fewer)."""
        verdict_rows, plate_rows = GLYPH_ROWS[tall]
        if self.car is not None and self.car.matches is False:
            return verdict_rows, min(plate_rows, TWO_PLATE_ROWS[tall])
        return verdict_rows, plate_rows

    def on_resize(self, event: Resize) -> None:
        """Bigger glyphs on a tall screen; the widgets pick the size that fits."""
        verdict_rows, plate_rows = self._rows(event.size.height >= TALL)
        for index, widget in enumerate(self.query(BigText)):
            rows = verdict_rows if index == 0 else plate_rows
            if widget.max_rows != rows:
                widget.max_rows = rows
                widget.refresh(layout=True)

    def on_mount(self) -> None:
        self.query_one("#card-body").focus()  # Up and Down scroll what does not fit
        self.app.bell()
        if self.timeout > 0:
            self.set_timer(self.timeout, self._close)

    def _close(self) -> None:
        if self.is_current:
            self.dismiss()

    def on_key(self, event: Key) -> None:
        """Esc, Enter, Space: back to scanning. Every other key goes on to the
        bindings (F2 opens the lookup at once); characters are the app's to judge."""
        if event.key in DISMISS_KEYS:
            event.stop()
            self._close()
