"""A string drawn large, for reading at arm's length: the plate and the verdict word.

The widget picks the biggest glyph size that fits its width (and ``max_rows``, when
given), from the committed bitmaps in ``terminal.glyphs``. When no size fits, or the
string holds a character the table lacks (text from a certificate can hold anything),
it falls back to the string on one spaced bold line, so the answer is never hidden.

The text is shown as plain text: it goes into a ``rich.text.Text``, never through
Textual markup.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from terminal.glyphs import Mode, fit


def spaced(text: str) -> str:
    """Spread the characters out, so a plate reads like the plate on the car."""
    return " ".join(text)


class BigText(Widget):
    """``BigText("桂A12345", id="plate")``; set ``widget.text`` to change it.

    ``mode`` chooses the block characters (quadrants by default: they are in every
    common terminal font; sextants are sharper where the font has them; half blocks
    are the plainest). ``max_rows`` caps the height in rows, so the plate and the
    verdict word can share a small screen. The widget's width comes from its CSS
    (the whole line by default); its height follows from the size chosen.
    """

    DEFAULT_CSS = """
    BigText {
        width: 1fr;
        height: auto;
    }
    """

    text: reactive[str] = reactive("", layout=True)

    def __init__(
        self,
        text: str = "",
        *,
        mode: Mode = Mode.QUADRANT,
        max_rows: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.mode = mode
        self.max_rows = max_rows
        self.set_reactive(BigText.text, text)

    def lines(self, width: int) -> list[str] | None:
        """The large rendering at ``width`` columns, or None for the fallback."""
        if width <= 0:
            return None
        return fit(self.text, width, self.max_rows, self.mode)

    @property
    def is_large(self) -> bool:
        """Whether the text is drawn large at the widget's present width."""
        return self.lines(self.content_region.width) is not None

    def render(self) -> RenderableType:
        lines = self.lines(self.content_region.width)
        if lines is None:
            return Text(spaced(self.text), style="bold")
        return Text("\n".join(lines), no_wrap=True, overflow="crop")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        lines = self.lines(width)
        if lines is not None:
            return len(lines)
        return max(1, -(-cell_len(spaced(self.text)) // max(1, width)))
