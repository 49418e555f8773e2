"""Base45 (RFC 9285), SPEC section 1: the QR text's alphabet."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import base45
from keys.base45 import Base45Error

RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("raw", "text"), RFC_EXAMPLES)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300))
def test_base45_round_trip(data: bytes) -> None:
    text = base45.encode(data)
    assert set(text) <= set(base45.ALPHABET)
    assert len(text) == 3 * (len(data) // 2) + 2 * (len(data) % 2)
    assert base45.decode(text) == data


def test_base45_group_boundaries() -> None:
    assert base45.decode("") == b""
    assert base45.decode("FGW") == b"\xff\xff"  # 15 + 16*45 + 32*2025 = 65535
    assert base45.decode("U5") == b"\xff"  # 30 + 5*45 = 255


@pytest.mark.parametrize(
    "text",
    [
        "bb8",  # lower case is not in the alphabet
        "BB8#",
        "BB8\n",
        "BBÄ",
        "BB８",  # full-width digit
        "A",  # dangling single character
        "BB8A",
        "%69 VD92EX0AB",  # 13 characters: one dangles
        ":::",  # 44 + 44*45 + 44*2025 = 91124 > 0xFFFF
        "GGW",  # 65536: one past the largest group
        "BB8:::",
        "V5",  # 31 + 5*45 = 256 > 0xFF
        "::",
    ],
)
def test_base45_rejects(text: str) -> None:
    with pytest.raises(Base45Error):
        base45.decode(text)
