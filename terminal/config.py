"""A data dir's configuration: the pinned root key, the server, the feeds.

Kept as JSON beside the cache so that an operator can read it; written atomically
(temporary file, fsync, rename) so a power cut never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "config.json"
ENV_DATA_DIR = "VICHECK_DATA_DIR"


class NotInitialised(RuntimeError):
    """The data dir has no configuration: ``vicheck init`` was never run there."""


class ConfigError(RuntimeError):
    """The configuration file exists but cannot be used."""


def default_data_dir() -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    home = os.path.join(os.path.expanduser("~"), ".local", "share")
    base = os.environ.get("XDG_DATA_HOME") or home
    return Path(base) / "vicheck"


@dataclass(frozen=True)
class Config:
    root_key: bytes
    server: str
    feeds: tuple[str, ...]
    home_province: str | None = None

    @classmethod
    def load(cls, data_dir: Path) -> Config:
        path = Path(data_dir) / CONFIG_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotInitialised(f"{data_dir} is not initialised: run vicheck init") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        try:
            return cls(
                root_key=bytes.fromhex(raw["root_key"]),
                server=str(raw["server"]),
                feeds=tuple(str(f) for f in raw["feeds"]),
                home_province=raw.get("home_province"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path} is damaged: {exc}") from None

    def save(self, data_dir: Path) -> None:
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / CONFIG_NAME
        tmp = path.with_suffix(".tmp")
        body = {
            "root_key": self.root_key.hex(),
            "server": self.server,
            "feeds": list(self.feeds),
            "home_province": self.home_province,
        }
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(body, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
