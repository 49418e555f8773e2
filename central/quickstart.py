"""``central init``: a working home in one step (keys and keys.toml), for the demo,
the bench and a first look; a real province writes its own keys.toml."""

from __future__ import annotations

from pathlib import Path

from central.errors import ConfigError
from central.keysconfig import keygen
from keys.fields import CST, PROVINCES

CONFIG = """\
# vicheck central keys configuration (see central/keysconfig.py)
root = "keys/root.key"
expires_days = 30

[[key]]
name = "{province}-cert"
public = "keys/cert.pub"
role = "cert"
scope = ["{province}"]
not_before = {not_before}
not_after = {not_after}

[[key]]
name = "feed"
public = "keys/feed.pub"
role = "feed"
scope = ["*"]
not_before = {not_before}
not_after = {not_after}
"""


def init_home(home: Path, province: str, now: int, years: int = 5) -> dict[str, str]:
    """Root, cert and feed keys plus a keys.toml whose windows span ``years`` around now.
    Returns the public keys (hex) by role."""
    from datetime import datetime

    if province not in PROVINCES or len(province) != 1:
        raise ConfigError(f"{province!r} is not one of the 31 province characters")
    if (home / "keys.toml").exists():
        raise ConfigError(f"{home / 'keys.toml'} exists already")
    pairs = {role: keygen(home / "keys", role) for role in ("root", "cert", "feed")}
    year = datetime.fromtimestamp(now, CST).year
    (home / "keys.toml").write_text(
        CONFIG.format(
            province=province,
            not_before=f"{year - years}-01-01",
            not_after=f"{year + years}-12-31",
        ),
        encoding="utf-8",
    )
    return {role: pair.public.hex() for role, pair in pairs.items()}
