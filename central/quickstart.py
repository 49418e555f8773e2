"""``central init``: a working home in one step (keys and keys.toml), for the demo,
the bench and a first look; a real province writes its own keys.toml."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from base.private import write_private
from central.errors import KeysConfigError
from central.keysconfig import keygen
from keys.fields import CST, PROVINCES

HEADER = """\
# vicheck central keys configuration (see central/keysconfig.py)
root = "{root}"
expires_days = 30
"""
KEY = """
[[key]]
name = "{name}"
public = "{public}"
role = "{role}"
scope = [{scope}]{covers}
not_before = {not_before}
not_after = {not_after}
"""


class ConfigKey(NamedTuple):
    """One ``[[key]]`` of keys.toml: the key file's path is relative to keys.toml."""

    name: str
    public: str
    role: str
    scope: tuple[str, ...]
    covers: tuple[str, ...] = ()


def keys_toml(root: str, keys: Sequence[ConfigKey], not_before: str, not_after: str) -> str:
    """A keys.toml naming ``root`` and ``keys``, all valid over one window (TOML
    dates or epoch seconds, written as given)."""
    blocks = [
        KEY.format(
            name=key.name,
            public=key.public,
            role=key.role,
            scope=_strings(key.scope),
            covers=f"\ncovers = [{_strings(key.covers)}]" if key.covers else "",
            not_before=not_before,
            not_after=not_after,
        )
        for key in keys
    ]
    return HEADER.format(root=root) + "".join(blocks)


def _strings(items: Sequence[str]) -> str:
    return ", ".join(f'"{s}"' for s in items)


def init_home(home: Path, province: str, now: int, years: int = 5) -> dict[str, str]:
    """Root, cert and feed keys plus a keys.toml whose windows span ``years`` around now.
    Returns the public keys (hex) by role."""
    from datetime import datetime

    if province not in PROVINCES or len(province) != 1:
        raise KeysConfigError(f"{province!r} is not one of the 31 province characters")
    if (home / "keys.toml").exists():
        raise KeysConfigError(f"{home / 'keys.toml'} exists already")
    pairs = {role: keygen(home / "keys", role) for role in ("root", "cert", "feed")}
    year = datetime.fromtimestamp(now, CST).year
    keys = [
        ConfigKey(f"{province}-cert", "keys/cert.pub", "cert", (province,)),
        ConfigKey("feed", "keys/feed.pub", "feed", ("*",), (province,)),
    ]
    text = keys_toml("keys/root.key", keys, f"{year - years}-01-01", f"{year + years}-12-31")
    write_private(home / "keys.toml", text.encode("utf-8"))
    return {role: pair.public.hex() for role, pair in pairs.items()}
