"""Generate terminal/glyphs/table.py: bitmaps of every plate and verdict character.

The roadside card draws the plate and the verdict word large, out of Unicode block
characters, so an officer can read them at arm's length. The terminal must not need a
font file or Pillow at run time, so this script rasterises the characters once, from an
openly licensed CJK font, into a table of small bitmaps that is committed with the code.

Run it with ``make glyphs`` (needs the ``glyphs`` extra, i.e. Pillow, and the font:
``apt-get install fonts-noto-cjk``). The output is deterministic for a given font file.

How a glyph is made: Chinese characters fill a square cell of the target height (the
font's em square); up to 16 px FreeType's hinter draws them at the exact size, above it
they are drawn 8 times larger in grey, reduced by area averaging and cut at half
coverage. Letters and digits are drawn as on a real plate, as tall as the Chinese
characters and half as wide: drawn large, cropped to their ink, scaled to the full
cell height, narrowed when wider than the cell, then reduced the same way.
docs/glyphs.md tells why.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keys.fields import PROVINCES  # noqa: E402

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
SMALL_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_INDEX = 2  # Noto Sans CJK SC in both collections
HINTED_UP_TO = 16
"""Chinese characters up to this height are rasterised by FreeType's hinted monochrome
renderer at the exact size: averaged down from a large drawing, 藏 or 警 fill their
counters and turn into blots, while the hinter snaps strokes to the pixel grid and
keeps them apart."""
REGULAR_UP_TO = 12
"""Up to this height the hinted face is Regular: below 14 px the Bold face's strokes
run into each other even hinted. From 14 px on, Bold matches the letters' weight."""
LICENCE = "SIL Open Font License 1.1"
SIZES = (8, 10, 12, 14, 16, 20, 24, 32)
"""Cell heights in pixels: the renderer picks the biggest that fits the screen."""

SUPERSAMPLE = 8
SPECIALS = "挂学警港澳领使应急"
"""Plate characters other than provinces, letters and digits (SPEC section 5)."""
VERDICTS_ZH = "有效核查无效告警"
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PUNCTUATION = "·-"


def characters() -> str:
    """Every character the table must hold, each once, in a stable order."""
    seen: dict[str, None] = {}
    for char in PROVINCES + SPECIALS + VERDICTS_ZH + LATIN + PUNCTUATION:
        seen[char] = None
    return "".join(seen)


def latin_width(height: int) -> int:
    """Plate letters are half as wide as they are tall (45 mm by 90 mm)."""
    return max(4, (height + 1) // 2)


def punctuation_width(height: int) -> int:
    return max(2, height // 3)


def _reduce(big: Image.Image, width: int, height: int) -> list[str]:
    """Area-average a supersampled grey image down and cut at half coverage."""
    small = big.resize((width, height), Image.Resampling.BOX)
    data = small.tobytes()
    rows = []
    for y in range(height):
        bits = "".join("1" if data[y * width + x] >= 128 else "0" for x in range(width))
        rows.append(bits)
    return rows


def _hinted(font: ImageFont.FreeTypeFont, char: str, height: int) -> list[str]:
    image = Image.new("1", (height, height), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    ascent, descent = font.getmetrics()
    draw.text(
        (0, round(height * ascent / (ascent + descent))), char, fill=1, font=font, anchor="ls"
    )
    data = image.convert("L").tobytes()
    return [
        "".join("1" if data[y * height + x] else "0" for x in range(height)) for y in range(height)
    ]


def _cjk(font: ImageFont.FreeTypeFont, char: str, height: int) -> list[str]:
    size = height * SUPERSAMPLE
    big = Image.new("L", (size, size), 0)
    ascent, descent = font.getmetrics()
    # Place the em square (ascent + descent scaled to one em) on the canvas.
    baseline = round(size * ascent / (ascent + descent))
    ImageDraw.Draw(big).text((0, baseline), char, fill=255, font=font, anchor="ls")
    return _reduce(big, height, height)


def _latin(font: ImageFont.FreeTypeFont, char: str, height: int, width: int) -> list[str]:
    size = height * SUPERSAMPLE
    margin = max(0, round(height * 0.06)) * SUPERSAMPLE
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 2), char, fill=255, font=font, anchor="lt")
    box = canvas.getbbox()
    if box is None:
        return ["0" * width] * height
    ink = canvas.crop(box)
    ink_h = size - 2 * margin
    scale = ink_h / ink.height
    ink_w = min(round(ink.width * scale), width * SUPERSAMPLE)
    ink = ink.resize((max(1, ink_w), ink_h), Image.Resampling.LANCZOS)
    big = Image.new("L", (width * SUPERSAMPLE, size), 0)
    big.paste(ink, ((width * SUPERSAMPLE - ink_w) // 2, margin))
    return _reduce(big, width, height)


def _punctuation(char: str, height: int, width: int) -> list[str]:
    """Drawn, not rasterised: a centred dot or dash reads better than the font's at 8 px."""
    rows = ["0" * width for _ in range(height)]
    mid = height // 2
    thick = max(1, height // 8)
    on = "1" * width if char == "-" else "0" * ((width - thick) // 2) + "1" * thick
    for y in range(mid - thick // 2, mid - thick // 2 + thick):
        rows[y] = on.ljust(width, "0")
    return rows


def glyph(fonts: Fonts, char: str, height: int) -> list[str]:
    """One character at one cell height, as rows of '0'/'1'."""
    if char in PUNCTUATION:
        return _punctuation(char, height, punctuation_width(height))
    if char.isascii():
        return _latin(fonts.big[height], char, height, latin_width(height))
    if height <= HINTED_UP_TO:
        return _hinted(fonts.small[height], char, height)
    return _cjk(fonts.big[height], char, height)


def encode(rows: list[str]) -> str:
    """Rows as fixed-width hexadecimal, one row after the other."""
    digits = (len(rows[0]) + 3) // 4
    return "".join(f"{int(row, 2):0{digits}x}" for row in rows)


def font_version(path: str, index: int) -> str:
    """The font's own version (fc-query reports it as 16.16 fixed point)."""
    try:
        out = subprocess.run(
            ["fc-query", "-i", str(index), "-f", "%{fontversion}", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return f"{int(out) / 65536:.3f}"
    except (OSError, ValueError, subprocess.CalledProcessError):
        return "unknown"


class Fonts(NamedTuple):
    """The faces at every size: Bold supersampled (``big``), and the face hinted at
    the exact size (``small``: Regular up to ``REGULAR_UP_TO``, then Bold)."""

    big: dict[int, ImageFont.FreeTypeFont]
    small: dict[int, ImageFont.FreeTypeFont]


def table_source(path: str, small_path: str, index: int) -> str:
    fonts = Fonts(
        {h: ImageFont.truetype(path, h * SUPERSAMPLE, index=index) for h in SIZES},
        {
            h: ImageFont.truetype(small_path if h <= REGULAR_UP_TO else path, h, index=index)
            for h in SIZES
        },
    )
    family, style = fonts.big[SIZES[0]].getname()
    small_style = fonts.small[SIZES[0]].getname()[1]
    version = font_version(path, index)
    lines = [
        "# ruff: noqa: E501\n# fmt: off",
        '"""Bitmap glyphs for large text, generated by tools/make_glyphs.py: do not edit.',
        "",
        f"Font: {family} {style} (Chinese characters up to {REGULAR_UP_TO} px: {small_style}),",
        f"version {version}, {LICENCE}",
        "(https://github.com/notofonts/noto-cjk, https://openfontlicense.org).",
        "Each entry is (width in pixels, rows as fixed-width hexadecimal, top row first,",
        "most significant bit leftmost); every glyph of a size is that many pixels tall.",
        '"""',
        "",
        f'FONT = "{family} {style} {version}"',
        f'LICENCE = "{LICENCE}"',
        f"SIZES = {SIZES!r}",
        "",
        "GLYPHS: dict[int, dict[str, tuple[int, str]]] = {",
    ]
    for height in SIZES:
        lines.append(f"    {height}: {{")
        for char in characters():
            rows = glyph(fonts, char, height)
            lines.append(f'        "{char}": ({len(rows[0])}, "{encode(rows)}"),')
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", default=FONT_PATH, help="TrueType/OpenType file or collection")
    parser.add_argument("--small-font", default=SMALL_FONT_PATH, help="face for small sizes")
    parser.add_argument("--index", type=int, default=FONT_INDEX, help="face index in a collection")
    parser.add_argument("--out", type=Path, default=ROOT / "terminal" / "glyphs" / "table.py")
    args = parser.parse_args()
    for font in (args.font, args.small_font):
        if not Path(font).is_file():
            sys.exit(f"font not found: {font} (apt-get install fonts-noto-cjk, or --font)")
    source = table_source(args.font, args.small_font, args.index)
    args.out.write_text(source, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
