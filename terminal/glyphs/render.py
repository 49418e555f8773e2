"""Draw a string large, out of Unicode block characters, from the committed bitmaps.

The string is first laid out as one bitmap (glyphs side by side, a gap between them),
then cut into cells: a quadrant cell shows 2x2 pixels (U+2596..U+259F with the half
and full blocks), a sextant cell 2x3 (U+1FB00.., sharper but missing from many
terminal fonts), a half-block cell 1x2 (▀ ▄ █, in every font). Pure functions of their
arguments, with no Textual in sight, so the card's layout can be tested as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from terminal.glyphs.table import GLYPHS, SIZES

QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"
"""Indexed by top-left 1, top-right 2, bottom-left 4, bottom-right 8."""

HALVES = " ▀▄█"
"""Indexed by top 1, bottom 2."""


def _sextants() -> str:
    """Indexed by the six pixels, top-left 1, top-right 2, ... bottom-right 32: Unicode
    encodes them in that order from U+1FB00, leaving out the four that already exist."""
    existing = {0: " ", 21: "▌", 42: "▐", 63: "█"}
    chars, code = [], 0x1FB00
    for value in range(64):
        if value in existing:
            chars.append(existing[value])
        else:
            chars.append(chr(code))
            code += 1
    return "".join(chars)


SEXTANTS = _sextants()


class Mode(Enum):
    """How many pixels one character cell shows: (columns, rows) and the characters."""

    QUADRANT = (2, 2, QUADRANTS)
    SEXTANT = (2, 3, SEXTANTS)
    HALF = (1, 2, HALVES)

    @property
    def cell(self) -> tuple[int, int]:
        return self.value[0], self.value[1]


Bitmap = tuple[int, list[int]]
"""Width in pixels and rows as ints, most significant bit leftmost."""


def missing(text: str) -> set[str]:
    """The characters of ``text`` the table cannot draw (spaces it can)."""
    known = GLYPHS[SIZES[0]]
    return {c for c in text if c != " " and c not in known}


def gap(height: int) -> int:
    """Pixels between two glyphs: enough to keep them apart, never a whole cell more."""
    return max(1, height // 10)


def _glyph(char: str, height: int) -> Bitmap:
    if char == " ":
        return height // 2, [0] * height
    width, hexrows = GLYPHS[height][char]
    digits = (width + 3) // 4
    rows = [int(hexrows[i : i + digits], 16) for i in range(0, len(hexrows), digits)]
    return width, rows


def compose(text: str, height: int) -> Bitmap:
    """``text`` as one bitmap of glyphs ``height`` pixels tall, less the rows below
    the ink of every one of them (the font's descent: on a 20-row screen a blank band
    is a size of glyph lost); KeyError for a character not in the table (check with
    ``missing`` first)."""
    space = gap(height)
    total, rows = 0, [0] * height
    for index, char in enumerate(text):
        width, glyph_rows = _glyph(char, height)
        shift = width + (space if index else 0)
        rows = [(row << shift) | g for row, g in zip(rows, glyph_rows, strict=True)]
        total += shift
    return total, rows[: _inked(rows)]


def _inked(rows: Sequence[int]) -> int:
    """How many of ``rows`` there are down to the last with ink (at least one)."""
    return max((i + 1 for i, row in enumerate(rows) if row), default=1)


def measure(text: str, height: int, mode: Mode = Mode.QUADRANT) -> tuple[int, int]:
    """(columns, rows) that ``render`` would take, without drawing."""
    space = gap(height)
    glyphs = [_glyph(c, height) for c in text]
    width = sum(g[0] for g in glyphs) + space * max(0, len(text) - 1)
    ink = [0] * height
    for _width, glyph_rows in glyphs:
        ink = [a | b for a, b in zip(ink, glyph_rows, strict=True)]
    cols, rows = mode.cell
    return -(-width // cols), -(-_inked(ink) // rows)


def cells(bitmap: Bitmap, mode: Mode = Mode.QUADRANT) -> list[str]:
    """Cut a bitmap into lines of block characters (the right and bottom edges padded
    with blank pixels to whole cells)."""
    width, rows = bitmap
    cols, per_cell = mode.cell
    chars = mode.value[2]
    padded_width = -(-width // cols) * cols
    rows = [row << (padded_width - width) for row in rows]
    rows += [0] * (-len(rows) % per_cell)
    lines = []
    for top in range(0, len(rows), per_cell):
        band = rows[top : top + per_cell]
        line = []
        for x in range(padded_width - cols, -1, -cols):
            value = 0
            for dy, row in enumerate(band):
                for dx in range(cols):
                    if row >> (x + cols - 1 - dx) & 1:
                        value |= 1 << (dy * cols + dx)
            line.append(chars[value])
        lines.append("".join(line))
    return lines


def render(text: str, height: int, mode: Mode = Mode.QUADRANT) -> list[str]:
    """``text`` drawn ``height`` pixels tall, as lines of block characters."""
    return cells(compose(text, height), mode)


def best_height(
    text: str,
    max_cols: int,
    max_rows: int | None = None,
    mode: Mode = Mode.QUADRANT,
    sizes: Sequence[int] = SIZES,
) -> int | None:
    """The biggest glyph height at which ``text`` fits in ``max_cols`` by ``max_rows``
    cells; None when no size fits or the table lacks a character (the caller then
    falls back to ordinary text)."""
    if not text or missing(text):
        return None
    for height in sorted(sizes, reverse=True):
        cols, rows = measure(text, height, mode)
        if cols <= max_cols and (max_rows is None or rows <= max_rows):
            return height
    return None


def fit(
    text: str, max_cols: int, max_rows: int | None = None, mode: Mode = Mode.QUADRANT
) -> list[str] | None:
    """``text`` drawn as large as fits, or None when it cannot be drawn large at all."""
    height = best_height(text, max_cols, max_rows, mode)
    return None if height is None else render(text, height, mode)
