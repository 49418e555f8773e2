"""Deterministic keys: the same seeds give the same keys on every run.

The tests' certificates and trust lists stay byte-identical across runs (snapshots,
vectors), and the demo's certificates stay valid across restarts. Each caller picks
its own seeds, so a demo code never verifies against a test world or the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from central.quickstart import ConfigKey, keys_toml
from devkit.clock import DAY, T0, YEAR
from keys.certificate import Certificate, issue_certificate
from keys.keypair import KeyPair
from keys.trustlist import KeyEntry, build_trust_list


@dataclass(frozen=True)
class Seeds:
    """One seed per key of a ``Pki``."""

    root: bytes
    gui: bytes
    yue: bytes
    feed: bytes
    forger: bytes


TEST_SEEDS = Seeds(b"root", b"cert-gui", b"cert-yue", b"feed", b"forger")
"""The tests' and the bench's keys (the shared vectors do not use them)."""


class Pki:
    """A root, certificate keys for 桂 and 粤, one feed key, and a forger no trust list
    names, all from ``seeds``."""

    def __init__(self, seeds: Seeds = TEST_SEEDS) -> None:
        self.root = KeyPair.from_seed(seeds.root)
        self.gui = KeyPair.from_seed(seeds.gui)
        self.yue = KeyPair.from_seed(seeds.yue)
        self.feed = KeyPair.from_seed(seeds.feed)
        self.forger = KeyPair.from_seed(seeds.forger)

    def entry(
        self,
        key: KeyPair,
        role: str,
        scope: Sequence[str],
        *,
        not_before: int = T0 - 2 * YEAR,
        not_after: int = T0 + 2 * YEAR,
        revoked: bool = False,
        covers: Sequence[str] | None = None,
    ) -> KeyEntry:
        """A trust-list entry for ``key``; a feed key covers every plate unless told
        otherwise (SPEC 1.1)."""
        if covers is None:
            covers = ["*"] if role == "feed" else []
        return KeyEntry(
            kid=key.kid,
            public=key.public,
            role=role,
            scope=tuple(scope),
            not_before=not_before,
            not_after=not_after,
            revoked=revoked,
            covers=tuple(covers),
        )

    def default_entries(self) -> list[KeyEntry]:
        return [
            self.entry(self.gui, "cert", ["桂"]),
            self.entry(self.yue, "cert", ["粤"]),
            self.entry(self.feed, "feed", ["*"]),
        ]

    def trust_list(
        self,
        version: int = 1,
        entries: Sequence[KeyEntry] | None = None,
        issued_at: int = T0 - DAY,
        expires_at: int = T0 + 30 * DAY,
    ) -> bytes:
        """A trust list signed by the root: the default entries unless ``entries``."""
        return build_trust_list(
            version=version,
            issued_at=issued_at,
            expires_at=expires_at,
            entries=self.default_entries() if entries is None else entries,
            root=self.root.signing_key,
        )

    def certificate(
        self,
        plate: str = "桂A12345",
        plate_type: str = "02",
        valid_through: str = "2027-06",
        *,
        key: KeyPair | None = None,
        issued_at: int = T0 - 30 * DAY,
        serial: bytes = b"serial-0001",
        vehicle_type: str | None = "K33",
    ) -> str:
        """The QR text of a certificate signed by ``key`` (the 桂 key unless told)."""
        cert = Certificate(
            issuer="桂A车管所",
            issued_at=issued_at,
            serial=serial,
            plate=plate,
            plate_type=plate_type,
            valid_through=valid_through,
            vehicle_type=vehicle_type,
            basis=3,
        )
        return issue_certificate(cert, (key or self.gui).signing_key)

    def write_central_home(self, home: Path, now: int) -> Path:
        """The key files and keys.toml of a central home whose keys are valid five
        years either side of ``now``; returns the keys.toml path."""
        (home / "keys").mkdir(parents=True)
        for name, pair in (
            ("root", self.root),
            ("gui", self.gui),
            ("yue", self.yue),
            ("feed", self.feed),
        ):
            pair.save(home / "keys" / f"{name}.key")
            (home / "keys" / f"{name}.pub").write_text(pair.public.hex() + "\n")
        keys = [
            ConfigKey("桂-cert", "keys/gui.pub", "cert", ("桂",)),
            ConfigKey("粤-cert", "keys/yue.pub", "cert", ("粤",)),
            ConfigKey("feed", "keys/feed.pub", "feed", ("*",), ("桂",)),
        ]
        config = home / "keys.toml"
        text = keys_toml("keys/root.key", keys, str(now - 5 * YEAR), str(now + 5 * YEAR))
        config.write_text(text, encoding="utf-8")
        return config
