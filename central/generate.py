"""Synthetic province registries: realistic enough to measure the system at scale.

Plate formats come in their real proportions (ordinary blue and yellow, small and
large new energy, 挂, 学, 警), each with its plate type, plausible vehicle types and
use; registration dates skew young; inspection validity follows the cycle rules of
``central.inspection`` (with some early renewals and some overdue vehicles); status
letters come at plausible rates. Output is deterministic from (seed, as_of).

Rows come out already in key order (plate bytes, then plate type): each plate
pattern is sampled in order by stratified sampling of its index space, and the
patterns of one authority letter are merged. So ten million rows stream into the
registry's B-tree by appending, with memory that does not grow with the count.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from central.errors import InputError
from central.inspection import validity_after
from central.registry import VEHICLE_COLUMNS, Registry, RegistryVehicle
from feeds.model import month_index, month_text
from keys.fields import PROVINCES

DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # SPEC section 5 S letters, in byte order
NEV = "ABCDEFGHJK"
# Authority letters (发牌机关代号) and their share of a province's vehicles.
AUTHORITIES = dict(
    zip("ABCDEFGHJKLMNPR", (26, 11, 9, 5, 4, 3, 3, 2, 4, 10, 6, 6, 5, 3, 3), strict=True)
)


def _at_most_two_letters(length: int) -> tuple[tuple[str, ...], ...]:
    """Serial patterns with at most two letters (the rest digits), as issued."""
    return tuple(
        tuple(LETTERS if i in letters else DIGITS for i in range(length))
        for n in range(3)
        for letters in itertools.combinations(range(length), n)
    )


ORDINARY = _at_most_two_letters(5)
SUFFIXED = _at_most_two_letters(4)  # 挂, 学, 警: four characters, then the suffix


@dataclass(frozen=True)
class Category:
    """A plate format with its plate type, share, and what vehicles carry it."""

    name: str
    plate_type: str
    share: float
    patterns: tuple[tuple[str, ...], ...]
    suffix: str
    vehicle_types: tuple[tuple[str, float], ...]
    operating: float  # probability of operating use
    max_age_years: int = 20


CATEGORIES = (
    Category(
        "ordinary small",
        "02",
        0.760,
        ORDINARY,
        "",
        (("K33", 55), ("K31", 18), ("K32", 8), ("K41", 2), ("H31", 12), ("H41", 5)),
        0.06,
    ),
    Category(
        "ordinary large",
        "01",
        0.065,
        ORDINARY,
        "",
        (("H11", 35), ("H21", 15), ("K11", 15), ("K21", 10), ("Q11", 25)),
        0.9,
    ),
    Category(
        "small new energy",
        "52",
        0.120,
        ((NEV, DIGITS + LETTERS, *[DIGITS] * 4),),
        "",
        (("K33", 70), ("K31", 20), ("K32", 10)),
        0.12,
        9,
    ),
    Category(
        "large new energy",
        "51",
        0.008,
        ((*[DIGITS] * 5, NEV),),
        "",
        (("K11", 60), ("H11", 40)),
        1.0,
        9,
    ),
    Category(
        "trailer",
        "15",
        0.035,
        SUFFIXED,
        "挂",
        (("B11", 70), ("B21", 30)),
        1.0,
    ),
    Category("coach", "16", 0.006, SUFFIXED, "学", (("K33", 100),), 1.0, 12),
    Category(
        "police",
        "23",
        0.006,
        SUFFIXED,
        "警",
        (("K33", 60), ("K31", 40)),
        0.0,
        12,
    ),
)

# Status letters (SPEC section 6) and their rates; Q also marks overdue vehicles.
STATUSES = (
    ("A", 9130),
    ("G", 500),
    ("I", 120),
    ("GI", 80),
    ("C", 15),
    ("E", 40),
    ("K", 20),
    ("L", 15),
)
OVERDUE = 0.025
EARLY = 0.4


def split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` in parts proportional to ``weights``, summing exactly (largest remainder)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def generate(province: str, count: int, seed: int, as_of: str) -> Iterator[RegistryVehicle]:
    """``count`` vehicles of ``province`` in key order, as of month ``as_of``."""
    if province not in PROVINCES or len(province) != 1:
        raise InputError(f"{province!r} is not one of the 31 province characters")
    letters = list(AUTHORITIES)
    for letter, n_letter in zip(letters, split(count, list(AUTHORITIES.values())), strict=True):
        streams = []
        shares = split(n_letter, [c.share for c in CATEGORIES])
        for c_index, (category, n_cat) in enumerate(zip(CATEGORIES, shares, strict=True)):
            sizes = [_space(p) for p in category.patterns]
            for p_index, (pattern, n) in enumerate(
                zip(category.patterns, split(n_cat, sizes), strict=True)
            ):
                rng = random.Random(f"{seed}:{province}{letter}:{c_index}:{p_index}")
                streams.append(
                    _stream(province + letter, category, pattern, n, rng, month_index(as_of))
                )
        yield from heapq.merge(*streams)


def _space(pattern: Sequence[str]) -> int:
    size = 1
    for alphabet in pattern:
        size *= len(alphabet)
    return size


def _stream(
    prefix: str,
    category: Category,
    pattern: Sequence[str],
    n: int,
    rng: random.Random,
    now: int,
) -> Iterator[RegistryVehicle]:
    space = _space(pattern)
    if n > space:
        raise InputError(f"{n} {category.name} plates do not fit under {prefix} ({space} exist)")
    types, type_weights = zip(*category.vehicle_types, strict=True)
    type_cum = list(itertools.accumulate(type_weights))
    status_letters, status_weights = zip(*STATUSES, strict=True)
    status_cum = list(itertools.accumulate(status_weights))
    radices = [len(a) for a in reversed(pattern)]
    alphabets = list(reversed(pattern))
    choices = rng.choices
    for k in range(n):
        low, high = k * space // n, (k + 1) * space // n
        index = low + rng.randrange(high - low)
        chars = []
        for radix, alphabet in zip(radices, alphabets, strict=True):
            index, digit = divmod(index, radix)
            chars.append(alphabet[digit])
        plate = prefix + "".join(reversed(chars)) + category.suffix
        vehicle_type = choices(types, cum_weights=type_cum)[0]
        operating = vehicle_type[0] in "HQB" or rng.random() < category.operating
        registered = now - int(rng.random() ** 1.6 * category.max_age_years * 12)
        status = choices(status_letters, cum_weights=status_cum)[0]
        valid = _validity(registered, vehicle_type, operating, now, rng)
        if valid < now and status == "A":
            status = "Q" if rng.random() < 0.6 else status
        yield RegistryVehicle(
            plate,
            category.plate_type,
            vehicle_type,
            int(operating),
            month_text(registered),
            month_text(valid),
            status,
        )


def _validity(
    registered: int, vehicle_type: str, operating: bool, now: int, rng: random.Random
) -> int:
    """The current cycle's end; sometimes renewed early, sometimes overdue."""
    reg = month_text(registered)
    current = month_index(validity_after(reg, vehicle_type, operating, month_text(now - 1)))
    roll = rng.random()
    if current - now <= 3 and roll < EARLY:
        return month_index(validity_after(reg, vehicle_type, operating, month_text(current)))
    if roll > 1 - OVERDUE:
        previous = _previous_due(reg, vehicle_type, operating, current)
        if previous is not None:
            return previous
    return current


def _previous_due(reg: str, vehicle_type: str, operating: bool, current: int) -> int | None:
    start = month_index(reg)
    if current - start <= 12:
        return None
    due = start
    while True:
        nxt = month_index(validity_after(reg, vehicle_type, operating, month_text(due)))
        if nxt >= current:
            return due if due > start else None
        due = nxt


def generate_into(registry: Registry, province: str, count: int, seed: int, as_of: str) -> int:
    """Fill an empty registry; all or nothing. Returns the number of vehicles."""
    existing = registry.count()
    if existing:
        raise InputError(
            f"{registry.path} already holds {existing} vehicles: generate into a new registry"
        )
    rows = generate(province, count, seed, as_of)
    with registry.transaction() as conn:
        conn.executemany(
            f"INSERT INTO vehicles ({', '.join(VEHICLE_COLUMNS)}) VALUES (?,?,?,?,?,?,?)", rows
        )
    return count
