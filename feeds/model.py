"""Small shared vocabulary of the cache: feed kinds and the on-disk month form.

Kept apart from ``feeds.format`` so the check path (``cache.store``) does not
load the feed parser.
"""

from __future__ import annotations

import re
from typing import Final

FEED_ID_RE: Final = re.compile("[a-z0-9-]{1,32}")
"""SPEC 4: a feed id. Checked by ``init``, by every sync and by the central side."""
KIND_FULL = "full"
KIND_HOTLIST = "hotlist"


def month_index(month: str) -> int:
    """``YYYY-MM`` as a small integer (months since year 0): compact on disk, ordered."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_text(index: int) -> str:
    year, month = divmod(index, 12)
    return f"{year:04d}-{month + 1:02d}"


def is_feed_id(text: str) -> bool:
    return FEED_ID_RE.fullmatch(text) is not None
