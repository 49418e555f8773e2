"""From the text a reader returns to SPEC section 5 plates, with a cost for each repair.

OCR reads a plate as free text: ``川A·019W2`` may come back as ``川IA019W2``,
``浙GROL16`` or ``A82M83``. Every text is normalised (SPEC 5), stripped of what
cannot be on a plate, and matched position by position against the plate kinds a
camera meets (ordinary, the 挂学警港澳 suffixes, small and large new energy). Where
a position admits only letters or only digits, the look-alike of the other kind is
taken for it (O/0, I/1, B/8, D/0, Z/2, S/5, ...), each repair costing confidence;
where the serial admits both (an ordinary plate's), a character is kept as read.
The province character is checked against the 31; an unreadable or doubtful one is
offered from the home province and its neighbours (``provinces``), not guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from keys.fields import PROVINCES, is_valid_plate, normalize_plate
from terminal.plates.provinces import MISREADS, doubtful_province, look_alikes

_LETTERS_L = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # the authority letter: [A-HJ-Z]
_SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # S: [A-HJ-NP-Z0-9]
_DIGITS = "0123456789"
_ENERGY = "ABCDEFGHJK"  # a new-energy plate's letter: [A-HJK]
_SUFFIX = "挂学警港澳"

TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2"}
TO_DIGIT |= {"S": "5", "B": "8", "G": "6", "A": "4", "J": "1"}
"""A letter read where only a digit may stand, and the digit it most likely is."""
TO_LETTER = {"0": "D", "1": "T", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A", "7": "T"}
"""A digit read where only a letter may stand, and the letter it most likely is."""
TO_SERIAL = {"O": "0", "I": "1"}
"""I and O are never in a serial (SPEC 5): they are the digits 0 and 1."""

REPAIR_COST = 0.12
"""Confidence lost per character repaired (a letter read where a digit must be, ...)."""
DROP_COST = 0.15
"""Confidence lost for a stray character dropped (the dot read as I): a little more
than a repair, so a plate read whole wins over one made by dropping."""
LEFTOVER_COST = 0.13
"""Confidence lost per character read after the plate: a longer plate is likelier than
a shorter one with junk after it, even one with a repair (粤AD123S5 is 粤AD12355)."""
LOOK_ALIKE_COST = 0.3
"""Confidence lost by an alternative: a look-alike of the province or of one serial
character (G/6, B/8, ...) that the reader may have taken for what it read."""
DOUBTFUL_PROVINCE_COST = 0.35
"""Confidence lost when the province was not read as one of the 31."""

_TEMPLATES: tuple[tuple[str, ...], ...] = (
    (_LETTERS_L, _SERIAL, _SERIAL, _SERIAL, _SERIAL, _SERIAL),  # ordinary
    (_LETTERS_L, _SERIAL, _SERIAL, _SERIAL, _SERIAL, _SUFFIX),  # 挂学警港澳
    (_LETTERS_L, _ENERGY, _SERIAL, _DIGITS, _DIGITS, _DIGITS, _DIGITS),  # small new energy
    (_LETTERS_L, _DIGITS, _DIGITS, _DIGITS, _DIGITS, _DIGITS, _ENERGY),  # large new energy
)
"""What may stand at each position after the province, per plate kind."""

_KEEP = set(_SERIAL + "IO" + _SUFFIX + PROVINCES) | set(MISREADS)


class PlateGuess(NamedTuple):
    """One plate a text may stand for; ``cost`` is the confidence to take off."""

    plate: str
    cost: float
    province_read: bool
    """False when the province was offered (home, neighbours), not read."""


def clean(text: str) -> str:
    """SPEC 5's normal form, then only the characters that can be (or be misread
    for) a plate's: separators the reader turns into ``:`` or ``!`` go, as does
    anything else (parking-lot signs, timestamps' punctuation)."""
    return "".join(c for c in normalize_plate(text) if c in _KEEP)


MAX_GUESSES = 8
"""The most plates one text is offered as."""


def guesses(text: str, home: str | None = None) -> list[PlateGuess]:
    """The valid plates ``text`` may be read as, cheapest first, each once."""
    body = clean(text)
    best: dict[str, PlateGuess] = {}
    for guess in _all_guesses(body, home):
        if is_valid_plate(guess.plate) and (
            guess.plate not in best or guess.cost < best[guess.plate].cost
        ):
            best[guess.plate] = guess
    return sorted(best.values(), key=lambda g: (g.cost, g.plate))[:MAX_GUESSES]


def _all_guesses(body: str, home: str | None) -> Iterator[PlateGuess]:
    for start, province in _province_starts(body):
        rest = body[start + 1 :] if province else body[start:]
        for offered, cost, read in _provinces(province, home):
            for tail, tail_cost in _tails(rest):
                if cost and tail_cost >= LOOK_ALIKE_COST:
                    continue  # one doubt at a time: a look-alike province or serial
                if not read and (tail_cost > REPAIR_COST or not rest[:1].isalpha()):
                    continue  # no province read: the rest must look like a plate's own
                yield PlateGuess(offered + tail, cost + tail_cost, read)


def _province_starts(body: str) -> Iterator[tuple[int, str]]:
    """Where a plate may start: at each character that is (or is misread for) a
    province character; with none, at every position with the province unread."""
    found = False
    for i, c in enumerate(body):
        if c in PROVINCES or c in MISREADS:
            found = True
            yield i, c
    if not found:
        for i in range(max(1, len(body) - 5)):
            yield i, ""


def _provinces(read: str, home: str | None) -> list[tuple[str, float, bool]]:
    if read and read in PROVINCES:
        alike = [(p, LOOK_ALIKE_COST, True) for p in look_alikes(read)]
        return [(read, 0.0, True), *alike]
    offered = doubtful_province(read, home)
    return [(p, DOUBTFUL_PROVINCE_COST + 0.01 * rank, False) for rank, p in enumerate(offered[:8])]


def _tails(rest: str) -> Iterator[tuple[str, float]]:
    """The plate after its province, from the text after it: for each plate kind,
    the text as read or with one stray character dropped (the ``·`` read as ``I``)."""
    for template in _TEMPLATES:
        n = len(template)
        window = rest[: n + 1]
        variants = [(window[:n], 0.0)]
        variants += [((window[:i] + window[i + 1 :])[:n], DROP_COST) for i in range(n + 1)]
        for chars, drop_cost in variants:
            if len(chars) != n:
                continue
            fixed = _fit(chars, template)
            if fixed is not None:
                # Characters left over after the plate suggest a longer plate.
                left = len(rest) - n - (drop_cost > 0)
                cost = drop_cost + fixed[1] + LEFTOVER_COST * max(0, left)
                yield fixed[0], cost
                for alternative in _alternatives(fixed[0]):
                    yield alternative, cost + LOOK_ALIKE_COST


def _fit(chars: str, template: tuple[str, ...]) -> tuple[str, float] | None:
    out, cost = [], 0.0
    for c, allowed in zip(chars, template, strict=True):
        if c in allowed:
            out.append(c)
            continue
        repaired = TO_SERIAL.get(c) or TO_DIGIT.get(c) if allowed is not _LETTERS_L else None
        if allowed is _LETTERS_L or allowed is _ENERGY:
            repaired = TO_LETTER.get(c)
        if repaired is None or repaired not in allowed:
            return None
        out.append(repaired)
        cost += REPAIR_COST
    return "".join(out), cost


SERIAL_LOOK_ALIKES = {"G": "6", "6": "G", "B": "8", "8": "B", "D": "0", "0": "D", "Q": "0"}
SERIAL_LOOK_ALIKES |= {"Z": "2", "2": "Z", "S": "5", "5": "S", "7": "1", "1": "7"}
"""Characters an ordinary serial admits both of, which a reader takes for each other."""


def _alternatives(tail: str) -> Iterator[str]:
    """The tail with one serial character swapped for its look-alike (the authority
    letter stays: it is read large and first)."""
    for i in range(1, len(tail)):
        other = SERIAL_LOOK_ALIKES.get(tail[i])
        if other is not None:
            yield tail[:i] + other + tail[i + 1 :]
