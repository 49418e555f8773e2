"""An entry as investigators read it: one JSON object, the same on both sides.

``vicheck audit export --json`` (terminal) and ``vicheck central audit export``
print one such object a line. ``iso`` formats the time, as each side writes times
in its output (ISO 8601 with an offset).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit.chain import Entry, entry_hash


def entry_json(
    entry: Entry, iso: Callable[[int], str], device: str | None = None
) -> dict[str, Any]:
    """Every field of ``entry``, its hash and (when given) the device it is from."""
    out: dict[str, Any] = {} if device is None else {"device": device}
    out.update(
        seq=entry.seq,
        time=iso(entry.time),
        officer=entry.officer,
        how=entry.how,
        plate=entry.plate,
        plate_type=entry.plate_type,
        serial=entry.serial,
        verdict=entry.verdict,
        reasons=list(entry.reasons),
        trust_list=entry.trust_list,
        feeds={feed: version for feed, version in entry.feeds},
        prev=entry.prev.hex(),
        hash=entry_hash(entry).hex(),
    )
    return out
