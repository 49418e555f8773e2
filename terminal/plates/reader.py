"""The plate reader: PP-OCR (rapidocr-onnxruntime, models inside the wheel) tuned for plates.

The bare engine runs its text detector over the whole frame (blown up so its short
side is 736 px), cuts plates' province characters off, splits two-row plates and
reads every shop sign and timestamp too. Here a frame is read in two looks:

1. the colour look (``regions``): plate-coloured rectangles, each read by the
   recogniser alone (one row, or two for the two-row plates of lorries and buses);
   a confident plate ends the frame's reading, in a tenth of the detector's time;
2. otherwise the detector, whose boxes are read straightened (a perspective warp of
   each quadrilateral), as found and widened to the left by one character (where a
   lost province character is), plus the union of two boxes side by side on a line
   (a plate split in two); when that finds nothing, once more at full size.

Every text read then goes through the plate grammar, which repairs misreads and
drops what is not a plate. A frame that is itself a plate (a cropped picture) goes
to the recogniser alone. The models ship inside the wheel: nothing is ever
downloaded (a test reads a plate with the network blocked).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from terminal.plates.grammar import guesses
from terminal.plates.regions import colour_regions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Frame = NDArray[np.uint8]

THREADS = 2
"""onnxruntime threads: the handheld has two cores; more only spins."""
MIN_SCORE = 0.5
"""Reads the recogniser is less sure of are noise (its own default text_score)."""
MIN_CONFIDENCE = 0.3
"""Candidates below this (after the grammar's repair costs) are not offered."""
QUICK_CONFIDENCE = 0.85
"""A plate read this sure (province read) in the colour look ends the frame's reading."""
DETECT_SHORT = 736
"""The detector's first look has the frame's short side at this (PP-OCR's own default)."""
FULL_SIDE = 1600
"""The detector's second look, when the first found no plate, has the long side at
this; no look is ever longer."""
MAX_ZOOM = 2.5
"""The second look enlarges a small frame at most this much."""
MIN_SIDE = 8
"""A frame narrower than this holds no plate to detect."""
CROP_HEIGHT = 100
"""A frame at most this tall, plate-shaped, is taken for a cropped plate."""
TWO_ROW_RATIO = 2.6
"""A coloured region narrower than this (width / height) may be a two-row plate
(440 x 220 mm: province and letter above, the serial below)."""


class PlateCandidate(NamedTuple):
    """One plate seen in a frame: what the JSON of ``vicheck plate`` holds."""

    plate: str
    confidence: float
    box: tuple[int, int, int, int]
    """x, y, width, height in the frame's pixels."""
    province_read: bool = True
    """False when the province character was offered (home, neighbours), not read."""

    def to_json(self) -> dict[str, Any]:
        return {"plate": self.plate, "confidence": round(self.confidence, 3), "box": list(self.box)}


Quad = tuple[tuple[float, float], ...]
"""Four corners, clockwise from the top left, in frame pixels."""


class _Read(NamedTuple):
    quad: Quad
    text: str
    score: float


class PlateReader:
    """Reads plates from BGR frames. The engine loads on first use (about a second);
    one reader serves one thread at a time (a lock guards it), so a worker keeps one
    for the shift.

    ``home`` is the terminal's province: offered, with its neighbours, when a
    plate's province character cannot be read."""

    def __init__(self, home: str | None = None, threads: int = THREADS) -> None:
        self.home = home
        self.threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def read(self, frame: Frame) -> list[PlateCandidate]:
        """Every plate seen in ``frame`` (8 bits: BGR, or grey or BGRA, as a camera
        gives them), best first, each plate once."""
        frame = as_bgr(frame)
        with self._lock:
            engine = self._load()
            height, width = frame.shape[:2]
            whole = _rect(0, 0, width, height)
            if height <= CROP_HEIGHT and 2 <= width / max(1, height) <= 6:
                return self._candidates(self._recognise(engine, frame, [whole]))
            quick = self._candidates(self._colour_look(engine, frame))
            if quick and quick[0].confidence >= QUICK_CONFIDENCE and quick[0].province_read:
                return quick
            found = self._candidates(self._recognise(engine, frame, self._detect(engine, frame)))
            if not found:
                found = self._candidates(
                    self._recognise(engine, frame, self._detect(engine, frame, full=True))
                )
            return _merge(found, quick)

    def _load(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # "max": the detector takes the frame at the size ``_detect`` made it
            # (at most FULL_SIDE, under the 2,000 px past which "max" shrinks it).
            self._engine = RapidOCR(
                det_limit_type="max", intra_op_num_threads=self.threads, inter_op_num_threads=1
            )
        return self._engine

    def _colour_look(self, engine: Any, frame: Frame) -> list[_Read]:
        regions = colour_regions(frame)
        quads = [
            _pad(_rect(x - 0.04 * w, y - 0.1 * h, x + 1.04 * w, y + 1.1 * h))
            for x, y, w, h in regions
        ]
        reads = self._recognise(engine, frame, quads)
        rows = [r for r in regions if r[2] / r[3] < TWO_ROW_RATIO]
        if rows:
            halves = []
            for x, y, w, h in rows:
                halves.append(_rect(x + 0.15 * w, y, x + 0.85 * w, y + 0.42 * h))
                halves.append(_rect(x, y + 0.36 * h, x + w, y + h))
            texts = self._recognise(engine, frame, halves)
            for (x, y, w, h), top, bottom in zip(rows, texts[::2], texts[1::2], strict=True):
                score = min(top.score, bottom.score)
                reads.append(_Read(_rect(x, y, x + w, y + h), top.text + bottom.text, score))
        return reads

    def _detect(self, engine: Any, frame: Frame, full: bool = False) -> list[Quad]:
        """The detector's text boxes, as reading regions (see ``_regions``). The
        detector sees the frame with its short side at ``DETECT_SHORT`` px (the
        engine's own default, which small plates need), or for the second look
        (``full``) with its long side at ``FULL_SIDE``; never longer than that, so
        a 3000 x 10 picture cannot become a 220,000 px one."""
        import cv2

        height, width = frame.shape[:2]
        if min(height, width) < MIN_SIDE:
            return []
        long_scale = FULL_SIDE / max(height, width)
        scale = (
            min(MAX_ZOOM, long_scale)
            if full
            else min(DETECT_SHORT / min(height, width), long_scale)
        )
        resized = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        quads, _ = engine.text_det(resized)
        quads = [] if quads is None else [q / scale for q in quads]
        boxes = [tuple((float(x), float(y)) for x, y in q) for q in quads]
        return _regions(boxes)

    def _recognise(self, engine: Any, frame: Frame, quads: Sequence[Quad]) -> list[_Read]:
        """One read per quad, in order (an empty one for a quad too small to read)."""
        crops = [_warp(frame, q) for q in quads]
        todo = [c for c in crops if c is not None]
        texts = iter(engine.text_rec(todo)[0] if todo else [])
        reads = []
        for quad, crop in zip(quads, crops, strict=True):
            text, score = next(texts) if crop is not None else ("", 0.0)
            reads.append(_Read(quad, text, float(score)))
        return reads

    def _candidates(self, reads: Iterable[_Read]) -> list[PlateCandidate]:
        found = []
        for read in reads:
            if read.score < MIN_SCORE:
                continue
            for guess in guesses(read.text, self.home):
                confidence = read.score * (1.0 - guess.cost)
                if confidence >= MIN_CONFIDENCE:
                    box = _bounds(read.quad)
                    found.append(PlateCandidate(guess.plate, confidence, box, guess.province_read))
        return _merge(found)


def _merge(*groups: Iterable[PlateCandidate]) -> list[PlateCandidate]:
    """Each plate once, at its most confident read; best first."""
    best: dict[str, PlateCandidate] = {}
    for group in groups:
        for c in group:
            if c.plate not in best or c.confidence > best[c.plate].confidence:
                best[c.plate] = c
    return sorted(best.values(), key=lambda c: (-c.confidence, c.plate))


def _rect(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _bounds(quad: Quad) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    x, y = max(0, round(min(xs))), max(0, round(min(ys)))
    return x, y, round(max(xs)) - x, round(max(ys)) - y


def _height(quad: Quad) -> float:
    (x0, y0), _, _, (x3, y3) = quad
    return float(((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5)


def _width(quad: Quad) -> float:
    (x0, y0), (x1, y1), _, _ = quad
    return float(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)


def _regions(boxes: Sequence[Quad]) -> list[Quad]:
    """The boxes to recognise: each plate-shaped box (padded), the same widened to
    the left by a character, and the union of two boxes side by side on one line."""
    shaped = [b for b in boxes if _height(b) >= 6 and 1.2 <= _width(b) / _height(b) <= 12]
    out = []
    for b in shaped:
        out += [_pad(b), _pad(b, left=0.9)]
    for a in shaped:
        for b in shaped:
            if a is not b and _side_by_side(a, b):
                out.append(_pad((a[0], b[1], b[2], a[3])))
    return out


def _side_by_side(a: Quad, b: Quad) -> bool:
    """``b`` continues ``a`` on the same line: heights alike, overlapping rows,
    starting less than a character's height to its right."""
    ax0, ay0, aw, ah = _bounds(a)
    bx0, by0, bw, bh = _bounds(b)
    h = max(ah, bh, 1)
    overlap = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    gap = bx0 - (ax0 + aw)
    alike = min(ah, bh) > 0.6 * h and overlap > 0.6 * h
    return alike and 0 <= gap <= h and (bx0 + bw - ax0) <= 12 * h


def _pad(quad: Quad, left: float = 0.0) -> Quad:
    """``quad`` with a margin (its text's edges are often cut), and ``left``
    character heights more on the left, along its own slant."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    width, height = max(_width(quad), 1.0), max(_height(quad), 1.0)
    ux, uy = (x1 - x0) / width, (y1 - y0) / width  # along the line
    vx, vy = (x3 - x0) / height, (y3 - y0) / height  # down the characters
    before, after, margin = height * (0.1 + left), height * 0.1, height * 0.12
    return (
        (x0 - ux * before - vx * margin, y0 - uy * before - vy * margin),
        (x1 + ux * after - vx * margin, y1 + uy * after - vy * margin),
        (x2 + ux * after + vx * margin, y2 + uy * after + vy * margin),
        (x3 - ux * before + vx * margin, y3 - uy * before + vy * margin),
    )


def _warp(frame: Frame, quad: Quad) -> Frame | None:
    """The quadrilateral cut out and straightened (edges past the frame replicated)."""
    import cv2
    import numpy as np

    width, height = round(_width(quad)), round(_height(quad))
    if width < 4 or height < 4:
        return None
    src = np.array(quad, dtype=np.float32)
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(
        frame, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, np.uint8)


def as_bgr(frame: Frame) -> Frame:
    """``frame`` as three 8-bit channels: an infrared or monochrome camera gives one
    (and the colour look and the OCR models want three), a screenshot may carry
    alpha. Grey plates then have no colour to be found by, only their text."""
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    import cv2
    import numpy as np

    grey = frame.ndim == 2 or frame.shape[2] == 1
    code = cv2.COLOR_GRAY2BGR if grey else cv2.COLOR_BGRA2BGR
    source = frame.reshape(frame.shape[:2]) if grey else frame
    return np.asarray(cv2.cvtColor(source, code), np.uint8)
