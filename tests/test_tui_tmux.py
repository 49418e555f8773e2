"""The real ``vicheck`` in a real terminal: tmux on its own socket, 40x20, on a
synced data dir, driven by ``send-keys`` as an officer (and a scan engine) would.

The real clock is months past the world's feeds, so a valid vehicle comes out
CHECK (stale cache) and the stolen one ALERT: neither may ever be INVALID.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import World

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

STOLEN = "vehicle status: stolen or robbed"
STALE = "vehicle status cache is out of date"
BINDINGS = "f2 Plate f3 Log"
"""The footer on the card (F1 is the card's own way back, not listed)."""


class Terminal:
    """One tmux session running ``vicheck --lang en --no-shift-start``."""

    def __init__(self, socket: Path, data_dir: Path, size: tuple[int, int]) -> None:
        self.tmux = ["tmux", "-S", str(socket)]
        vicheck = str(Path(sys.executable).parent / "vicheck")
        # COLUMNS/LINES from the test runner would override the real terminal size.
        command = (
            f"env -u COLUMNS -u LINES VICHECK_DATA_DIR={data_dir}"
            f" {vicheck} --lang en --no-shift-start"
        )
        width, height = size
        size_flags = ["-x", str(width), "-y", str(height)]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", "e2e", *size_flags, command], check=True
        )

    def screen(self) -> str:
        """The pane's text, its lines joined and spaces collapsed: a sentence the
        screen wrapped is still found."""
        shown = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", "e2e"], capture_output=True, check=False
        )
        return " ".join(shown.stdout.decode("utf-8", "replace").split())

    def wait_for(self, test: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if test(shown := self.screen()):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{what} never appeared:\n{self.screen()}")

    def wait_text(self, text: str) -> str:
        return self.wait_for(lambda shown: text in shown, repr(text))

    def keys(self, *names: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "e2e", *names], check=True)

    def scan(self, code: str) -> None:
        """A scan engine: the text typed in one burst (``-l``: literally), then Enter."""
        self.keys("-l", code)
        self.keys("Enter")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def terminal(world: World, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path / "tmux.sock", world.data_dir, (40, 20))
    try:
        term.wait_text("No camera")
        yield term
    finally:
        term.close()


def test_four_scans_in_a_row_give_four_verdicts(world: World, terminal: Terminal) -> None:
    """Issue 10: four good certificates scanned one after another came out CHECK,
    INVALID, CHECK, INVALID (the card ate the first character of the next scan).
    Each scan here lands on the card of the one before and must replace it."""
    valid = world.pki.certificate()
    stolen = world.pki.certificate("桂A00001", serial=b"serial-0009")
    for code, stolen_card in ((valid, False), (stolen, True), (valid, False), (stolen, True)):
        terminal.scan(code)

        def card_shown(shown: str, stolen_card: bool = stolen_card) -> bool:
            card = "Compare the plate" in shown and (STOLEN in shown) == stolen_card
            return card and BINDINGS in shown  # the footer stays on the card

        shown = terminal.wait_for(card_shown, f"the card of scan (stolen: {stolen_card})")
        assert "not a vehicle inspection certificate" not in shown
    terminal.keys("Escape")
    shown = terminal.wait_text("Checks 4")
    assert "Checks 4 alerts 2 invalid 0" in shown


def test_plate_lookup_by_keys(terminal: Terminal) -> None:
    terminal.keys("F2")
    terminal.wait_text("Province")
    terminal.keys("1", "A12345")
    terminal.wait_text("桂A12345 Valid plate")
    time.sleep(0.3)  # a person's pause before Enter
    terminal.keys("Enter")
    shown = terminal.wait_text("Compare the plate")
    assert "From: plate lookup" in shown and STALE in shown, shown
    terminal.keys("C-q")
