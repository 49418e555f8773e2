"""Key pairs: key files saved private and read back, kids, damaged files."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from keys.cose import parse_sign1
from keys.keypair import KeyFileError, KeyPair, kid_of
from tests.support.certificates import (
    GUI,
    PAYLOAD,
    PKI,
    signed_cose,
)


def test_keypair_save_load_round_trip(tmp_path: Path) -> None:
    pair = KeyPair.from_seed(b"keypair test")
    path = tmp_path / "nested" / "dir" / "cert.key"
    pair.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = KeyPair.load(path)
    assert loaded.kid == pair.kid
    assert loaded.public == pair.public
    # A loaded key signs what the original's public key verifies.
    parsed = parse_sign1(signed_cose(PAYLOAD, loaded), 1024)
    assert parsed.kid == pair.kid and parsed.verify(pair.public)


def test_keypair_save_tightens_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.key"
    path.write_text("old contents that are much longer than a seed\n" * 3)
    os.chmod(path, 0o644)
    pair = KeyPair.generate()
    pair.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyPair.load(path).kid == pair.kid


def test_kid_is_sha256_prefix() -> None:
    for pair in (PKI.root, GUI, PKI.yue, PKI.feed, KeyPair.generate()):
        assert len(pair.public) == 32
        assert pair.kid == kid_of(pair.public) == hashlib.sha256(pair.public).digest()[:8]
    assert len({PKI.root.kid, GUI.kid, PKI.yue.kid, PKI.feed.kid}) == 4


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not hex at all\n", id="not-hex"),
        pytest.param(b"00" * 31 + b"\n", id="31-bytes"),
        pytest.param(b"00" * 33 + b"\n", id="33-bytes"),
        pytest.param(b"0" * 63, id="odd-digits"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    ],
)
def test_corrupt_key_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        KeyPair.load(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        KeyPair.load(tmp_path / "absent.key")
    with pytest.raises(KeyFileError):
        KeyPair.load(tmp_path)  # a directory
