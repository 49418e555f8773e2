"""What is printed for people (terminal/render.py): outside text never drives the
officer's terminal."""

from __future__ import annotations

import pytest

from keys.certificate import Certificate, issue_certificate
from terminal.render import printable
from tests.support import DAY, T0, World, at, run_cli

ESCAPES = "\x1b[1A\x1b[2K\r有效 VALID\x9b2J\x07"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("桂A车管所", "桂A车管所"),
        ("a\x1bb", "a\\x1bb"),
        ("line\nbreak\ttab", "line\\x0abreak\\x09tab"),
        ("c1 \x9b csi", "c1 \\x9b csi"),
        ("del\x7f", "del\\x7f"),
    ],
)
def test_printable_escapes_every_control(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_issuer_with_terminal_escapes_is_printed_inert(world: World) -> None:
    """The review's attack: a 粤 key signs a 桂 plate (INVALID, KEY_SCOPE, but the
    certificate is shown) whose issuer moves the cursor up, erases the verdict line
    and prints a fake VALID over it."""
    cert = Certificate(ESCAPES, T0 - 30 * DAY, b"serial-esc-01", "桂A12345", "02", "2027-06")
    text = issue_certificate(cert, world.pki.yue.signing_key)
    result = run_cli("verify", "--lang", "en", "--at", at(T0), text, data_dir=world.data_dir)
    assert result.code == 4, result.out
    assert "\x1b" not in result.out and "\x9b" not in result.out and "\x07" not in result.out
    assert "\\x1b[1A\\x1b[2K\\x0d有效 VALID\\x9b2J\\x07" in result.out
    as_json = run_cli("verify", "--json", "--at", at(T0), text, data_dir=world.data_dir)
    assert as_json.json["certificate"]["issuer"] == ESCAPES  # the data itself is untouched
