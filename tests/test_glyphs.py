"""Large glyphs: the committed table covers every plate and verdict character, the
renderer's output has the size it claims, and too narrow a space falls back to text."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult

from keys.fields import PLATE_RE, PROVINCES
from terminal.glyphs import Mode, best_height, fit, measure, missing, render
from terminal.glyphs.render import QUADRANTS, SEXTANTS, cells, compose
from terminal.glyphs.table import FONT, GLYPHS, LICENCE, SIZES
from terminal.strings import EN, ZH, Catalogue
from terminal.tui.bigtext import BigText, spaced

VERDICTS = ("VALID", "CHECK", "INVALID", "ALERT")

# One plate of every kind in SPEC section 5, the widest of each kind.
PLATES = (
    "桂A12345",  # ordinary
    "京A1234挂",
    "京A1234学",
    "京A1234警",
    "粤Z1234港",
    "粤Z1234澳",
    "沪AD12345",  # small new energy: 8 characters
    "沪A12345F",  # large new energy
    "沪A1234领",
    "京AX1234应急",  # emergency
    "京12345应急",
)


def _plate_characters() -> set[str]:
    """Every character SPEC section 5's grammar admits, read from the grammar itself."""
    chars = set(PROVINCES) | set("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
    literal = re.sub(r"\[[^\]]*\]|\\d|[(){}?|^$0-9,]", "", PLATE_RE.pattern)
    chars |= {c for c in literal if not c.isascii()}
    for group in re.findall(r"\[([^\]]*)\]", PLATE_RE.pattern):
        chars |= {c for c in group if not c.isascii()}
    return chars


def test_the_plates_are_plates() -> None:
    for plate in PLATES:
        assert PLATE_RE.fullmatch(plate), plate


def test_every_plate_and_verdict_character_is_in_every_size() -> None:
    catalogue_words = "".join(Catalogue(lang).verdict(v) for lang in (ZH, EN) for v in VERDICTS)
    wanted = _plate_characters() | set(catalogue_words) | set("挂学警港澳领使应急")
    assert "警" in wanted and "应" in wanted and "有" in wanted
    for height in SIZES:
        assert wanted <= set(GLYPHS[height]), (height, wanted - set(GLYPHS[height]))
    assert missing("".join(sorted(wanted))) == set()


def test_the_table_names_its_font_and_licence() -> None:
    assert FONT.startswith("Noto Sans CJK SC")
    assert LICENCE == "SIL Open Font License 1.1"


@pytest.mark.parametrize("height", SIZES)
def test_every_glyph_is_as_tall_as_its_size_and_not_blank(height: int) -> None:
    for char, (width, hexrows) in GLYPHS[height].items():
        digits = (width + 3) // 4
        assert len(hexrows) == digits * height, char
        rows = [int(hexrows[i : i + digits], 16) for i in range(0, len(hexrows), digits)]
        assert any(rows), char
        assert all(row < 1 << width for row in rows), char
        # Chinese characters are square, letters and digits half as wide
        assert width == height if not char.isascii() and char != "·" else width < height


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("height", SIZES)
def test_a_rendering_has_the_size_measure_promised(mode: Mode, height: int) -> None:
    for text in (*PLATES, "有效 VALID", "INVALID"):
        lines = render(text, height, mode)
        cols, rows = measure(text, height, mode)
        assert len(lines) == rows
        assert {cell_len(line) for line in lines} == {cols}, text
        _, per_row = mode.cell
        # The glyphs' height, less the blank rows under all of them, never more.
        assert rows <= -(-height // per_row)
        assert rows >= -(-(height * 3 // 4) // per_row)
        assert set("".join(lines)) <= set(mode.value[2])


def test_cells_put_each_pixel_in_its_place() -> None:
    # 4x2 pixels: top-left and bottom-right of the first cell, the whole second cell
    bitmap = (4, [0b1011, 0b0111])
    assert cells(bitmap, Mode.QUADRANT) == ["▚█"]
    assert cells(bitmap, Mode.HALF) == ["▀▄██"]
    # a sextant cell is 2x3; the missing third row is blank
    assert cells((2, [0b10, 0b01]), Mode.SEXTANT) == [SEXTANTS[1 | 8]]
    assert QUADRANTS[15] == "█" and SEXTANTS[63] == "█" and SEXTANTS[21] == "▌"
    assert len(set(SEXTANTS)) == 64


def test_compose_joins_glyphs_with_a_gap() -> None:
    one, _ = compose("1", 16)
    two, rows = compose("11", 16)
    assert two > 2 * one
    assert 12 <= len(rows) <= 16 and rows[-1] != 0  # the font's descent is cut off


def test_the_descent_under_every_glyph_is_a_size_gained() -> None:
    # 有效 in 4 rows of quadrants (8 pixels): with the blank rows under the ink cut,
    # the 10-pixel glyphs fit where the 8-pixel ones did.
    assert best_height("有效", 30, 4) == 10
    assert len(render("有效", 10)) == 4


@pytest.mark.parametrize("plate", PLATES)
def test_at_40_columns_every_plate_fits_in_38(plate: str) -> None:
    lines = fit(plate, 38)
    assert lines is not None, plate
    assert max(cell_len(line) for line in lines) <= 38
    assert len(lines) >= 5  # at least 10 px tall: large, not a line of text


def test_at_40_columns_an_ordinary_and_an_eight_character_plate_are_drawn_big() -> None:
    assert best_height("桂A12345", 38) == 16
    assert (best_height("沪AD12345", 38) or 0) >= 14


def test_the_biggest_size_that_fits_is_chosen() -> None:
    for width in (20, 38, 60, 98):
        height = best_height("有效 VALID", width)
        if height is None:
            continue
        assert measure("有效 VALID", height)[0] <= width
        bigger = [h for h in SIZES if h > height]
        assert all(measure("有效 VALID", h)[0] > width for h in bigger)


def test_max_rows_caps_the_height() -> None:
    assert best_height("桂A12345", 200) == max(SIZES)
    height = best_height("桂A12345", 200, max_rows=6)
    assert height is not None and measure("桂A12345", height)[1] <= 6


def test_too_narrow_or_unknown_characters_give_none() -> None:
    assert best_height("沪AD12345", 10) is None
    assert fit("沪AD12345", 10) is None
    assert fit("桂A12345😀", 200) is None  # text from a certificate can hold anything
    assert missing("桂A12345😀") == {"😀"}
    assert fit("", 40) is None


class _Big(App[None]):
    def __init__(self, text: str, width: int) -> None:
        super().__init__()
        self.text = text
        self.width = width

    def compose(self) -> ComposeResult:
        yield BigText(self.text, id="big")

    def on_mount(self) -> None:
        self.query_one(BigText).styles.width = self.width


async def test_the_widget_draws_large_when_it_fits() -> None:
    app = _Big("桂A12345", 38)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        big = app.query_one(BigText)
        assert big.is_large
        lines = str(big.render()).split("\n")
        assert lines == fit("桂A12345", 38)
        assert big.size.height == len(lines)


async def test_the_widget_falls_back_to_a_spaced_bold_line_when_too_narrow() -> None:
    app = _Big("沪AD12345", 12)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        big = app.query_one(BigText)
        assert not big.is_large
        rendered = big.render()
        assert str(rendered) == spaced("沪AD12345")
        assert "bold" in str(rendered.style)  # type: ignore[union-attr]


async def test_the_widget_shows_markup_as_plain_text_and_follows_its_text() -> None:
    app = _Big("[red]x[/red]", 38)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        big = app.query_one(BigText)
        assert str(big.render()) == spaced("[red]x[/red]")
        big.text = "INVALID"
        await pilot.pause()
        assert big.is_large
        assert str(big.render()).split("\n") == fit("INVALID", 38)
