"""A data dir's configuration: the pinned root key, the server, the feeds.

Kept as JSON beside the cache so that an operator can read it; written atomically
(temporary file, fsync, rename) so a power cut never leaves half a file. Paths are
plain strings here: this module is on the check path, and pathlib costs ~4 ms to
import.

The data dir is its owner's only (0700, files 0600, ``base.private``): loading the
configuration, which every command does first, also brings an older install's
world-readable files down to those modes.
"""

from __future__ import annotations

import json
import os
import sys
from typing import NamedTuple

from base.private import private_dir, repair_tree, write_private

CONFIG_NAME = "config.json"
ENV_DATA_DIR = "VICHECK_DATA_DIR"
DATA_DIR_NAMES = (
    CONFIG_NAME,
    CONFIG_NAME + ".tmp",
    "vicheck.db",  # cache.store.DB_NAME and its SQLite sidecars
    "vicheck.db-wal",
    "vicheck.db-shm",
    "vicheck.db-journal",
    "sync.lock",  # cache.apply.CacheWriter.locked
    "logs",  # cache.sync.LOG_NAME's folder
    "audit.sqlite",  # audit.store.AUDIT_DB and its SQLite sidecars
    "audit.sqlite-wal",
    "audit.sqlite-shm",
    "audit.sqlite-journal",
    "device.key",  # audit.device.DEVICE_KEY_NAME
)
DATA_DIR_PREFIXES = (".sync-",)  # cache.apply.DOWNLOAD_PREFIX
"""What vicheck keeps in a data dir (tests/test_file_modes.py checks these names
against the modules that create them): the entries ``Config.load`` repairs. Named
here rather than imported, because those modules cost a check far more to import."""


class NotInitialised(RuntimeError):
    """The data dir has no configuration: ``vicheck init`` was never run there."""


class ConfigError(RuntimeError):
    """The configuration file exists but cannot be used."""


def default_data_dir() -> str:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return env
    home = os.path.join(os.path.expanduser("~"), ".local", "share")
    base = os.environ.get("XDG_DATA_HOME") or home
    return os.path.join(base, "vicheck")


class Config(NamedTuple):
    root_key: bytes
    server: str
    feeds: tuple[str, ...]
    home_province: str | None = None

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str]) -> Config:
        path = os.path.join(data_dir, CONFIG_NAME)
        try:
            with open(path, encoding="utf-8") as handle:
                raw = json.load(handle)
        except FileNotFoundError:
            raise NotInitialised(f"{data_dir} is not initialised: run vicheck init") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        _repair_modes(data_dir)
        try:
            return cls(
                root_key=bytes.fromhex(raw["root_key"]),
                server=str(raw["server"]),
                feeds=tuple(str(f) for f in raw["feeds"]),
                home_province=raw.get("home_province"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path} is damaged: {exc}") from None

    def save(self, data_dir: str | os.PathLike[str]) -> None:
        """Write the configuration atomically through ``config.json.tmp``, which
        ``write_private`` creates new (a link planted there is refused, not
        followed)."""
        private_dir(data_dir, named=True)
        body = {
            "root_key": self.root_key.hex(),
            "server": self.server,
            "feeds": list(self.feeds),
            "home_province": self.home_province,
        }
        text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        write_private(os.path.join(data_dir, CONFIG_NAME), text.encode("utf-8"), ".tmp")


def _repair_modes(data_dir: str | os.PathLike[str]) -> None:
    """Make an older install's data dir private. Never fails a command: a check
    must still run in a data dir this user may read but not change.

    What cannot be made private is said on stderr, one line per command (this
    runs once, as the command loads its configuration): stdout may be JSON read
    by a program, and the sync log is no place for it, since a data dir this user
    cannot change is one whose log it usually cannot write either."""
    try:
        kept = repair_tree(data_dir, DATA_DIR_NAMES, DATA_DIR_PREFIXES)
    except OSError as exc:
        print(f"vicheck: warning: cannot check the modes in {data_dir}: {exc}", file=sys.stderr)
        return
    if kept:
        more = f" (and {len(kept) - 1} more)" if len(kept) > 1 else ""
        print(
            f"vicheck: warning: cannot make {kept[0]}{more} private (mode 0700/0600):"
            " it belongs to another user or is read-only; its owner should fix it",
            file=sys.stderr,
        )
