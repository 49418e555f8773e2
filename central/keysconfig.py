"""Key pairs and the trust list, from a small keys configuration (TOML).

``keys.toml`` names the root key file and, for each key the trust list carries, its
public key, role, scope and validity window (and whether it is revoked)::

    root = "keys/root.key"        # paths are relative to this file
    expires_days = 30

    [[key]]
    name = "gx-cert"
    public = "keys/cert.pub"      # a file holding 64 hex digits, or the digits
    role = "cert"                 # cert | feed
    scope = ["桂"]                # plate prefixes (cert) or feed ids (feed), or "*"
    not_before = 2026-01-01       # a date (CST midnight) or epoch seconds
    not_after = 2031-01-01
    revoked = false

    [[key]]
    name = "gx-feed"
    public = "keys/feed.pub"
    role = "feed"
    scope = ["gx", "hot"]         # the feeds it signs
    covers = ["桂"]               # SPEC 1.1: plate prefixes its full feeds may cover

A feed key without ``covers`` signs hotlists only: given the registry's feeds,
``publish_trust_list`` refuses a feed key named for a full feed it does not cover.
Every mistake is refused with the key's name before anything is signed. Versions
only ever increase: the last one is kept beside the configuration and compared with
the trust list already published.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from base.private import private_dir, write_private
from central.errors import KeysConfigError
from feeds.model import is_feed_id
from keys.fields import CST, PROVINCES
from keys.keypair import KeyFileError, KeyPair, kid_of, parse_public_hex
from keys.trustlist import KeyEntry, TrustListError, build_trust_list, load_trust_list
from keys.wire import ROLE_CERT, ROLE_FEED, SCOPE_ALL

DAY = 86400
ROLES = ("root", ROLE_CERT, ROLE_FEED)
VERSION_FILE = "trustlist.version"
FUTURE_MARGIN = 300
"""How far past the real clock a signing time may be: terminals keep the largest
trust-list issued_at and manifest generated_at as a floor under their clock (SPEC
4.3), so one signed far in the future would stop every check until reset."""


def refuse_future(now: int, what: str) -> None:
    """Refuse to sign ``what`` dated more than ``FUTURE_MARGIN`` past the real clock
    (``--at`` in the past stays free: tests and back-dated re-signing use it)."""
    real = time.time()
    if now > real + FUTURE_MARGIN:
        ahead = dt.datetime.fromtimestamp(now, CST).isoformat()
        raise KeysConfigError(
            f"refusing to sign {what} dated {ahead}, {int(now - real)} s past this machine's"
            f" clock (at most {FUTURE_MARGIN} s): terminals would not take an earlier time"
            " until an administrator resets their clock floor"
        )


def keygen(directory: Path, name: str, *, force: bool = False) -> KeyPair:
    """Write ``NAME.key`` (private, mode 0600) and ``NAME.pub`` (public hex)."""
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    if private.exists() and not force:
        raise KeysConfigError(f"key {name!r} exists already ({private}); --force replaces it")
    pair = KeyPair.generate()
    private_dir(directory)  # keys/ and all in it are the owner's only, whatever the umask
    pair.save(private)
    write_private(public, (pair.public.hex() + "\n").encode())
    return pair


def load_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise KeysConfigError(f"cannot read keys configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise KeysConfigError(f"keys configuration {path} is not valid TOML: {exc}") from None


def entries_from_config(config: dict[str, Any], base: Path) -> list[KeyEntry]:
    """The trust list's key entries; ``KeysConfigError`` names the first bad key."""
    raw_keys = config.get("key", [])
    if not isinstance(raw_keys, list) or not raw_keys:
        raise KeysConfigError("the keys configuration names no [[key]]")
    entries: list[KeyEntry] = []
    seen: dict[bytes, str] = {}
    for n, raw in enumerate(raw_keys, 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f"key {name!r}" if isinstance(name, str) and name else f"key #{n}"
        if not isinstance(raw, dict) or not isinstance(name, str) or not name:
            raise KeysConfigError(f"{label}: every [[key]] needs a name")
        entry = _entry(raw, label, base)
        if entry.kid in seen:
            raise KeysConfigError(f"{label}: the same public key as key {seen[entry.kid]!r}")
        seen[entry.kid] = name
        entries.append(entry)
    return entries


def _entry(raw: dict[str, Any], label: str, base: Path) -> KeyEntry:
    role = raw.get("role")
    if role not in (ROLE_CERT, ROLE_FEED):
        raise KeysConfigError(f"{label}: role must be cert or feed, not {role!r}")
    scope = raw.get("scope")
    if not isinstance(scope, list) or not scope:
        raise KeysConfigError(f'{label}: a {role} key needs a scope (a list, ["*"] for all)')
    for item in scope:
        if not isinstance(item, str) or not item:
            raise KeysConfigError(f"{label}: scope entry {item!r} is not a non-empty string")
        if item == SCOPE_ALL:
            continue
        if role == ROLE_FEED and not is_feed_id(item):
            raise KeysConfigError(f"{label}: scope entry {item!r} is not a feed id")
        if role == ROLE_CERT and item[0] not in PROVINCES:
            raise KeysConfigError(f"{label}: scope entry {item!r} is not a plate prefix")
    public = _public(raw.get("public"), label, base)
    not_before = _time(raw.get("not_before"), label, "not_before")
    not_after = _time(raw.get("not_after"), label, "not_after")
    if not_after < not_before:
        raise KeysConfigError(f"{label}: not_after is before not_before")
    revoked = raw.get("revoked", False)
    if not isinstance(revoked, bool):
        raise KeysConfigError(f"{label}: revoked must be true or false")
    covers = _covers(raw, role, label)
    return KeyEntry(
        kid_of(public), public, role, tuple(scope), not_before, not_after, revoked, covers
    )


def _covers(raw: dict[str, Any], role: str, label: str) -> tuple[str, ...]:
    """A feed key's covers: plate prefixes (or "*"); none for a certificate key."""
    covers = raw.get("covers")
    if covers is None:
        return ()
    if role != ROLE_FEED:
        raise KeysConfigError(f"{label}: covers belongs to feed keys only")
    if not isinstance(covers, list):
        raise KeysConfigError(f'{label}: covers must be a list of plate prefixes, ["*"] for all')
    for item in covers:
        if not isinstance(item, str) or not (item == SCOPE_ALL or item[:1] in PROVINCES):
            raise KeysConfigError(f"{label}: covers entry {item!r} is not a plate prefix")
    return tuple(covers)


def check_feed_authority(
    entries: Sequence[KeyEntry], full_feeds: Mapping[str, Sequence[str]]
) -> None:
    """Refuse a feed key named for a full feed whose scope its covers do not allow:
    terminals would refuse every manifest it signs for that feed (SPEC 4.3 step 1)."""
    for entry in entries:
        if entry.role != ROLE_FEED or entry.revoked:
            continue
        for feed, scope in full_feeds.items():
            if entry.covers_feed(feed) and not entry.covers_scope(scope):
                raise KeysConfigError(
                    f"feed key {entry.kid.hex()} may sign full feed {feed} (scope {list(scope)})"
                    f" but its covers {list(entry.covers)} do not allow that scope: give it"
                    " covers, or narrow its scope to the feeds it signs"
                )


def _public(value: Any, label: str, base: Path) -> bytes:
    if not isinstance(value, str) or not value:
        raise KeysConfigError(f"{label}: public must name a .pub file or give 64 hex digits")
    text = value
    if not all(c in "0123456789abcdefABCDEF" for c in value) or len(value) != 64:
        try:
            text = (base / value).read_text()
        except OSError as exc:
            raise KeysConfigError(f"{label}: cannot read {value}: {exc.strerror}") from None
    try:
        return parse_public_hex(text)
    except KeyFileError as exc:
        raise KeysConfigError(f"{label}: {exc}") from None


def _time(value: Any, label: str, field: str) -> int:
    if isinstance(value, bool):
        raise KeysConfigError(f"{label}: {field} must be a date or epoch seconds")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, dt.datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=CST)).timestamp())
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=CST).timestamp())
    raise KeysConfigError(f"{label}: {field} must be a date or epoch seconds, not {value!r}")


def publish_trust_list(
    config_path: Path, out: Path, now: int, full_feeds: Mapping[str, Sequence[str]] | None = None
) -> int:
    """Sign the trust list the configuration describes and write it atomically to
    ``out``; return its version, one more than any published before.

    ``full_feeds`` (feed id to scope, from the registry) are the full feeds already
    published: every feed key allowed for one must cover its scope.
    """
    refuse_future(now, "a trust list")
    config = load_config(config_path)
    base = config_path.parent
    entries = entries_from_config(config, base)
    check_feed_authority(entries, full_feeds or {})
    root_file = config.get("root")
    if not isinstance(root_file, str):
        raise KeysConfigError('the keys configuration must name its root key file: root = "..."')
    try:
        root = KeyPair.load(base / root_file)
    except KeyFileError as exc:
        raise KeysConfigError(f"root key: {exc}") from None
    days = config.get("expires_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise KeysConfigError("expires_days must be a whole number of days, at least 1")
    version = max(_held_version(base / VERSION_FILE), _published_version(out)) + 1
    data = build_trust_list(
        version=version,
        issued_at=now,
        expires_at=now + days * DAY,
        entries=entries,
        root=root.signing_key,
    )
    write_private(base / VERSION_FILE, f"{version}\n".encode())  # 0600, atomic
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, data)
    return version


def _held_version(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _published_version(path: Path) -> int:
    try:
        return load_trust_list(path.read_bytes()).version
    except (OSError, TrustListError):
        return 0


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
