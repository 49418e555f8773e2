"""Two high-contrast themes for sunlight: dark (default) and light.

Every colour the UI puts text in, and every colour that text sits on, comes from
here: Textual's theme colours, plus the variables below that ``vicheck.tcss`` uses
for the verdict banners, the data-age bar, the table cursor and placeholders.
tests/test_contrast.py computes each pair the UI uses and holds it to WCAG AAA
(at least 7:1), so a colour changed here cannot quietly fail in sunlight.
"""

from __future__ import annotations

from textual.theme import Theme

# The verdict banners are the same in both themes: the word is read on its banner.
VERDICT_COLOURS = {
    "verdict-valid-background": "#00C853",
    "verdict-valid-foreground": "#000000",
    "verdict-check-background": "#FFB300",
    "verdict-check-foreground": "#000000",
    "verdict-invalid-background": "#FF8A80",
    "verdict-invalid-foreground": "#000000",
    "verdict-alert-background": "#B00000",
    "verdict-alert-foreground": "#FFFFFF",
    "age-fresh-background": "#00C853",
    "age-fresh-foreground": "#000000",
    "age-stale-background": "#FFB300",
    "age-stale-foreground": "#000000",
}

DARK = Theme(
    name="vicheck-dark",
    primary="#4FC3F7",
    secondary="#FFD54F",
    accent="#FFD54F",
    warning="#FFB300",
    error="#FF5252",
    success="#00C853",
    foreground="#FFFFFF",
    background="#000000",
    surface="#101010",
    panel="#1A1A1A",
    dark=True,
    variables={
        **VERDICT_COLOURS,
        "placeholder": "#BDBDBD",
        "cursor-background": "#4FC3F7",
        "cursor-foreground": "#000000",
        "footer-key-foreground": "#FFD54F",
        "footer-description-foreground": "#FFFFFF",
        "footer-background": "#1A1A1A",
    },
)
LIGHT = Theme(
    name="vicheck-light",
    primary="#0D47A1",
    secondary="#7A2900",
    accent="#7A2900",
    warning="#FFB300",
    error="#B71C1C",
    success="#135218",
    foreground="#000000",
    background="#FFFFFF",
    surface="#F2F2F2",
    panel="#E8E8E8",
    dark=False,
    variables={
        **VERDICT_COLOURS,
        "placeholder": "#424242",
        "cursor-background": "#0D47A1",
        "cursor-foreground": "#FFFFFF",
        "footer-key-foreground": "#7A2900",
        "footer-description-foreground": "#000000",
        "footer-background": "#E8E8E8",
    },
)
THEMES = (DARK, LIGHT)
