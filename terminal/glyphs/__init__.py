"""Large text for the verdict card: committed bitmaps of every plate and verdict
character, and the renderer that turns them into Unicode block characters.

The table (``table.py``) is generated once by ``tools/make_glyphs.py`` from Noto Sans
CJK (SIL Open Font License 1.1); see docs/glyphs.md. Nothing here needs a font, Pillow
or Textual at run time.
"""

from terminal.glyphs.render import Mode, best_height, fit, measure, missing, render

__all__ = ["Mode", "best_height", "fit", "measure", "missing", "render"]
