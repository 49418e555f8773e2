"""Two high-contrast themes for sunlight: dark (default) and light."""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="vicheck-dark",
    primary="#4FC3F7",
    secondary="#FFD54F",
    accent="#FFD54F",
    warning="#FFB300",
    error="#FF1744",
    success="#00C853",
    foreground="#FFFFFF",
    background="#000000",
    surface="#101010",
    panel="#1A1A1A",
    dark=True,
)
LIGHT = Theme(
    name="vicheck-light",
    primary="#0D47A1",
    secondary="#E65100",
    accent="#E65100",
    warning="#E65100",
    error="#B71C1C",
    success="#1B5E20",
    foreground="#000000",
    background="#FFFFFF",
    surface="#F2F2F2",
    panel="#E8E8E8",
    dark=False,
)
THEMES = (DARK, LIGHT)
