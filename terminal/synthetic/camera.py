"""A virtual camera for the demo and tests: certificates shown the way officers
meet them (phone screens, printouts, forwarded screenshots), one after another,
with empty frames between them so each one is a new showing."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from terminal.scan.sources import Frame
from terminal.synthetic.scenes import FRAME_VGA, make_frame

SCENES = ("phone", "paper-shadow", "screenshot-jpeg", "phone-dark-mode", "phone-perspective")


class VirtualCamera:
    live = True

    def __init__(
        self,
        texts: Sequence[str],
        fps: float = 10.0,
        hold: float = 2.0,
        gap: float = 4.0,
        size: tuple[int, int] = FRAME_VGA,
        loop: bool = True,
    ) -> None:
        self.name = "virtual camera"
        self.texts = list(texts)
        self.fps = fps
        self.hold = hold
        self.gap = gap
        self.size = size
        self.loop = loop
        self._stop = threading.Event()

    def frames(self) -> Iterator[Frame]:
        number = 0
        blank = np.full((self.size[1], self.size[0]), 110, np.uint8)
        showings = itertools.cycle(enumerate(self.texts)) if self.loop else enumerate(self.texts)
        for index, text in showings:
            image = make_frame(SCENES[index % len(SCENES)], text, index, self.size)
            for still, count in ((image, self.hold), (blank, self.gap)):
                for _ in range(max(1, int(count * self.fps))):
                    if self._stop.wait(1 / self.fps):
                        return
                    yield Frame(still, str(number))
                    number += 1

    def close(self) -> None:
        self._stop.set()
