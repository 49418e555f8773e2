"""Base45 (RFC 9285), the text form that fits QR alphanumeric mode."""

from __future__ import annotations

import struct

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = b"\xff"
# Byte translation table: an ASCII character to its Base45 value, 0xFF if not Base45.
_TABLE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else 0xFF for b in range(256))


class Base45Error(ValueError):
    """The text is not valid Base45."""


def encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out.append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        c, d = divmod(data[-1], 45)
        out.append(ALPHABET[d] + ALPHABET[c])
    return "".join(out)


def decode(text: str) -> bytes:
    """Decode strictly: unknown characters, a dangling character or an overflowing
    group are errors, as RFC 9285 section 4.2 requires.

    On the check path for every scan, so it works on whole strings (translate,
    slicing, struct) rather than character by character.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise Base45Error("Base45 text holds a non-ASCII character") from None
    values = raw.translate(_TABLE)
    if _INVALID in values:
        bad = text[values.index(_INVALID)]
        raise Base45Error(f"character {bad!r} is not Base45")
    full, rest = divmod(len(values), 3)
    if rest == 1:
        raise Base45Error("Base45 text has a dangling character")
    end = full * 3
    groups = [
        c + d * 45 + e * 2025
        for c, d, e in zip(values[0:end:3], values[1:end:3], values[2:end:3], strict=True)
    ]
    if groups and max(groups) > 0xFFFF:
        raise Base45Error("Base45 group out of range")
    out = struct.pack(f">{full}H", *groups)
    if rest == 2:
        n = values[end] + values[end + 1] * 45
        if n > 0xFF:
            raise Base45Error("Base45 group out of range")
        out += bytes((n,))
    return out
