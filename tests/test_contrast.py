"""Contrast that survives sunlight (issue 10 item 6): every colour pair the UI puts
text in reaches 7:1 (WCAG AAA), in both themes, computed from the theme definitions
and the stylesheet as they are, so a colour changed later is held to it too.

The pairs come from two places: each rule of vicheck.tcss that sets a text colour
(on its own background, or, when it sets none, on every background a screen has),
and the Textual widgets' own text the UI shows (the footer, table rows, inputs).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.color import Color
from textual.theme import Theme

from terminal.tui.themes import THEMES

TCSS = Path(__file__).resolve().parents[1] / "terminal" / "tui" / "vicheck.tcss"
AAA = 7.0
SCREEN_BACKGROUNDS = ("background", "surface", "panel")
BUILT_IN = [
    ("footer-key-foreground", "footer-background"),
    ("footer-description-foreground", "footer-background"),
    ("foreground", "surface-lighten-1"),  # the table's zebra rows
    ("foreground", "surface"),  # inputs, the table
]


def variables(theme: Theme) -> dict[str, str]:
    """The CSS variables as the app sees them: generated, then the theme's own."""
    return {**theme.to_color_system().generate(), **theme.variables}


def resolve(value: str, names: dict[str, str], under: Color | None = None) -> Color:
    """A colour from the stylesheet (``$name`` or a literal), blended onto ``under``
    when it is translucent."""
    value = value.strip()
    colour = Color.parse(names[value[1:]] if value.startswith("$") else value)
    if colour.a < 1 and under is not None:
        colour = under.blend(colour.with_alpha(1), colour.a)
    return colour


def luminance(colour: Color) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(a: Color, b: Color) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def stylesheet_pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every rule that colours text."""
    text = re.sub(r"/\*.*?\*/", "", TCSS.read_text(encoding="utf-8"), flags=re.S)
    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        decls = dict(
            (k.strip(), v.strip())
            for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d)
        )
        if "color" not in decls:
            continue
        backgrounds = [decls["background"]] if "background" in decls else []
        backgrounds = backgrounds or [f"${b}" for b in SCREEN_BACKGROUNDS]
        pairs += [(selector.strip(), decls["color"], bg) for bg in backgrounds]
    return pairs


def test_the_stylesheet_colours_text_at_all() -> None:
    """A guard for the parser: the verdict banners and the age bar are found."""
    selectors = {s for s, _, _ in stylesheet_pairs()}
    assert {".verdict-alert #verdict", "#data-age.stale", "#plate"} <= selectors


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.name)
def test_every_text_colour_pair_reaches_aaa(theme: Theme) -> None:
    names = variables(theme)
    base = resolve("$background", names)
    failing = []
    pairs = stylesheet_pairs()
    pairs += [(f"Textual {fg}", f"${fg}", f"${bg}") for fg, bg in BUILT_IN]
    pairs += [("screen text", "$foreground", f"${bg}") for bg in SCREEN_BACKGROUNDS]
    for selector, fg, bg in pairs:
        under = resolve(bg, names, base)
        ratio = contrast(resolve(fg, names, under), under)
        if ratio < AAA:
            failing.append(f"{selector}: {fg} on {bg} = {ratio:.2f}")
    assert failing == []


def test_contrast_is_computed_right() -> None:
    """The WCAG figures everyone knows: black on white 21:1, #777 on white 4.48:1."""
    white = Color.parse("#FFFFFF")
    assert contrast(Color.parse("#000000"), white) == pytest.approx(21)
    assert contrast(Color.parse("#777777"), white) == pytest.approx(4.48, abs=0.01)
