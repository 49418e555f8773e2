"""Synthetic feeds for benchmarks: large, deterministic, already in SPEC order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from feeds.format import FileEntry
from feeds.writer import Vehicle, write_snapshot

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
STATUSES = ["A"] * 90 + ["G"] * 4 + ["I"] * 2 + ["GI", "C", "E", "Q"]
TYPES = ["K33", "K31", "H11", "M21"]


def plates(count: int, province: str = "桂") -> Iterator[str]:
    """``count`` distinct ordinary plates in byte order (letter, then five digits).

    Up to 2.4M; the realistic 10M generator is ``central registry generate``.
    """
    per_letter = 100_000
    if count > per_letter * len(LETTERS):
        raise ValueError(f"bench.data makes at most {per_letter * len(LETTERS):,} plates")
    for letter_index in range(count // per_letter + 1):
        letter = LETTERS[letter_index]
        for n in range(min(per_letter, count - letter_index * per_letter)):
            yield f"{province}{letter}{n:05d}"


def vehicles(count: int, seed: int = 7, province: str = "桂") -> Iterator[Vehicle]:
    rng = random.Random(seed)
    for plate in plates(count, province):
        year = rng.choice((2026, 2027, 2028))
        yield Vehicle(
            plate,
            "02" if rng.random() < 0.85 else "01",
            f"{year}-{rng.randint(1, 12):02d}",
            rng.choice(STATUSES),
            rng.choice(TYPES),
        )


def big_snapshot(directory: Path, feed: str, count: int, version: int = 1) -> FileEntry:
    return write_snapshot(
        directory, feed, version, vehicles(count), (), count=count, presorted=True
    )
