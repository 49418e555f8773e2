"""Ed25519 key pairs: generate, save, load, and the kid that names them.

Private keys live in files of mode 0600 holding the 32-byte seed as hex, so an
operator can inspect and back them up with ordinary tools.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from keys.cose import kid_of
from keys.wire import PUBLIC_KEY_SIZE

__all__ = ["KeyFileError", "KeyPair", "kid_of", "parse_public_hex"]


class KeyFileError(ValueError):
    """A key file or key text cannot be read as an Ed25519 key."""


def parse_public_hex(text: str) -> bytes:
    """A 32-byte public key given as 64 hex digits (the ``--root-key`` form)."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyFileError("a public key is 64 hexadecimal digits") from None
    if len(raw) != PUBLIC_KEY_SIZE:
        raise KeyFileError(f"a public key is {PUBLIC_KEY_SIZE} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True)
class KeyPair:
    signing_key: SigningKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """Deterministic keys for tests, vectors and demo data."""
        return cls(SigningKey(hashlib.sha256(seed).digest()))

    @property
    def public(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def kid(self) -> bytes:
        return kid_of(self.public)

    def save(self, path: Path) -> None:
        """Write the private seed with mode 0600, never readable by others even briefly."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(bytes(self.signing_key).hex() + "\n")
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path) -> KeyPair:
        try:
            text = Path(path).read_text().strip()
            seed = bytes.fromhex(text)
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc}") from None
        if len(seed) != 32:
            raise KeyFileError(f"key file {path} does not hold a 32-byte seed")
        return cls(SigningKey(seed))
