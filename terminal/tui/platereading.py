"""Reading the car's plate from the camera, for the terminal (issue 16).

The camera worker hands every frame it has already read to ``PlateCamera.keep``
(never a second capture); a plate read takes the newest one. The reader (PP-OCR,
about a second to load and half a gigabyte) is made on first use and kept for the
shift; ``terminal.plates`` is imported only then, so a start, a scan engine's check
and ``vicheck verify`` never load it. Reads run in their own thread worker, one at
a time (``begin``/``end``): a read costs a few hundred milliseconds of both cores,
and a second one queued behind it would only answer a stale frame.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message
from textual.screen import Screen

from terminal.strings import Catalogue

if TYPE_CHECKING:
    import numpy as np

    from terminal.plates.reader import PlateCandidate, PlateReader

CHOICES = 9
"""At most this many plates are offered, on the digit keys 1 to 9."""


class CarPlate(NamedTuple):
    """What the camera read of the car, for the card: the best read (None when no
    plate was seen) and whether it is the certificate's plate (None: not clear)."""

    plate: str | None
    matches: bool | None


class PlatesRead(Message):
    """A plate read finished: for the lookup (``for_card`` None) or for the card
    ``for_card`` (a card replaced meanwhile is left be). ``quiet``: the card asked by
    itself, not the officer, so seeing nothing is not worth a word."""

    def __init__(
        self, candidates: Sequence[PlateCandidate], for_card: Screen[None] | None, quiet: bool
    ) -> None:
        super().__init__()
        self.candidates = tuple(candidates)
        self.for_card = for_card
        self.quiet = quiet


class PlateCamera:
    """The newest camera frame, the shift's reader, and the one read in flight."""

    def __init__(self, home: str | None) -> None:
        self.home = home
        self._frame: np.ndarray | None = None
        self._reader: PlateReader | None = None
        self._busy = False
        self._lock = threading.Lock()

    def keep(self, frame: np.ndarray) -> None:
        """On the camera's thread: the frame it just decoded (a reference, no copy:
        the camera makes a new array for every frame)."""
        self._frame = frame

    def latest(self) -> np.ndarray | None:
        return self._frame

    def begin(self) -> bool:
        """True when no read is in flight (and marks one); False: leave it be."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            return True

    def end(self) -> None:
        with self._lock:
            self._busy = False

    def read(self, frame: np.ndarray) -> list[PlateCandidate]:
        """On a worker's thread: every plate in ``frame``, best first."""
        if self._reader is None:
            from terminal.plates.reader import PlateReader

            self._reader = PlateReader(home=self.home)
        return self._reader.read(frame)


def plates_of(candidates: Sequence[PlateCandidate]) -> list[str]:
    """The distinct plates read, best first, as many as there are digit keys."""
    return list(dict.fromkeys(c.plate for c in candidates))[:CHOICES]


def choices_line(plates: Sequence[str]) -> str:
    """``1 粤A89311  2 粤A8931I``: what each digit key picks."""
    return "  ".join(f"{i} {p}" for i, p in enumerate(plates[:CHOICES], start=1))


def car_plate(certificate_plate: str, candidates: Sequence[PlateCandidate]) -> CarPlate:
    """The card's comparison: the best read and whether it is the certificate's."""
    from terminal.plates.crosscheck import plate_matches

    matches = plate_matches(certificate_plate, candidates)
    if matches:  # the read that matched may not be the best: name the car's plate
        return CarPlate(certificate_plate, True)
    return CarPlate(candidates[0].plate if candidates else None, matches)


def car_plate_line(car: CarPlate, catalogue: Catalogue) -> str | None:
    """The card's line about the car's plate; None for a clear mismatch (the card
    shows both plates large and the reason instead)."""
    if car.matches is True:
        return catalogue.text("ui.card.plate_match", plate=car.plate or "")
    if car.matches is None:
        key = "ui.card.plate_unclear" if car.plate else "ui.plate.none"
        return catalogue.text(key)
    return None
