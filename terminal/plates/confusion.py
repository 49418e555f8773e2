"""Plates one commonly confused character away: for a lookup that found no record.

An officer who types ``粤B8Z345`` off a dirty plate, or a reader that took 湘 for
浙, gets "no record" for a car that is in the cache. So when a plate has no
record, the lookup offers the cached plates that differ from it by one character
of a confusable pair (0/D/Q, 8/B, 2/Z, 5/S, 1/7, 6/G, and the province characters
that look alike): the misread is one key away, not a second search. Pure Python
and the store's own query; no OCR here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cache.store import Store
from keys.fields import PROVINCES, is_valid_plate
from terminal.plates.provinces import look_alikes

CONFUSABLE = ("0DQ", "8B", "2Z", "5S", "17", "6G")
"""Characters of a plate's serial that are read or typed for one another."""


def _others(c: str) -> str:
    return "".join(o for group in CONFUSABLE if c in group for o in group if o != c)


def variants(plate: str) -> list[str]:
    """Every valid plate one confusable character away from ``plate``, in order of
    position (the province's look-alikes first)."""
    return list(dict.fromkeys(p for p in _variants(plate) if p != plate and is_valid_plate(p)))


def _variants(plate: str) -> Iterator[str]:
    if plate and plate[0] in PROVINCES:
        for p in look_alikes(plate[0]):
            yield p + plate[1:]
    for i in range(1, len(plate)):
        for other in _others(plate[i]):
            yield plate[:i] + other + plate[i + 1 :]


def confusable(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same plate or one confusable character apart."""
    return a == b or b in variants(a)


def similar_plates(store: Store, feeds: Sequence[str], plate: str) -> list[str]:
    """The plates one confusable character from ``plate`` that have a record in one
    of ``feeds`` (full feeds and hotlists alike: a hotlisted car is worth offering),
    in the order of ``variants``."""
    states = store.feed_states(feeds)
    if not states:
        return []
    return [p for p in variants(plate) if store.records(states, p)]
