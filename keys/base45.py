"""Base45 (RFC 9285), the text form that fits QR alphanumeric mode."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


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
    group are errors, as RFC 9285 section 4.2 requires."""
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise Base45Error(f"character {exc.args[0]!r} is not Base45") from None
    if len(values) % 3 == 1:
        raise Base45Error("Base45 text has a dangling character")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 2025
            if n > 0xFFFF:
                raise Base45Error("Base45 group out of range")
            out += n.to_bytes(2, "big")
        else:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise Base45Error("Base45 group out of range")
            out.append(n)
    return bytes(out)
