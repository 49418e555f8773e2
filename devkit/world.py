"""A feed world: a served directory with a trust list and feeds, and a terminal data
dir initialised against it through the real command line."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cache.schema import current_vehicles, serials_table
from devkit.cli import CliResult, CliRunner
from devkit.clock import DAY, T0, at
from devkit.keys import Pki
from devkit.server import FeedServer
from feeds.format import FileEntry
from feeds.writer import Vehicle, manifest_payload, write_delta, write_manifest, write_snapshot
from keys.keypair import KeyPair


@dataclass
class Feed:
    """One feed's publication history in a served directory."""

    root: Path
    feed: str
    kind: str
    scope: tuple[str, ...]
    key: KeyPair
    version: int = 0
    snapshot: FileEntry | None = None
    deltas: list[FileEntry] = field(default_factory=list)
    total: int = 0

    @property
    def directory(self) -> Path:
        path = self.root / "feeds" / self.feed
        path.mkdir(parents=True, exist_ok=True)
        return path

    def publish_snapshot(
        self, vehicles: Sequence[Vehicle], serials: Sequence[bytes] = (), **manifest: Any
    ) -> bytes:
        """The next version as a snapshot (no deltas); returns the signed manifest."""
        self.version += 1
        self.snapshot = write_snapshot(self.directory, self.feed, self.version, vehicles, serials)
        self.deltas = []
        self.total = len(vehicles) + len(set(serials))
        return self.write(**manifest)

    def publish_delta(self, operations: Sequence[Any], total_change: int, **manifest: Any) -> bytes:
        """The next version as one more delta; returns the signed manifest."""
        self.version += 1
        self.deltas.append(
            write_delta(self.directory, self.feed, self.version - 1, self.version, operations)
        )
        self.total += total_change
        return self.write(**manifest)

    def payload(self, **override: Any) -> dict[int, Any]:
        """The manifest payload of the current version, with fields overridden."""
        assert self.snapshot is not None
        args: dict[str, Any] = dict(
            feed=self.feed,
            version=self.version,
            generated_at=T0 - 3600,
            expires_at=T0 + 2 * DAY,
            kind=self.kind,
            scope=self.scope,
            snapshot=self.snapshot,
            deltas=self.deltas,
            total=self.total,
        )
        args.update(override)
        return manifest_payload(**args)

    def write(self, key: KeyPair | None = None, **override: Any) -> bytes:
        """Sign and write the manifest (with the feed key unless ``key``)."""
        return write_manifest(self.directory, self.payload(**override), key or self.key)


class World:
    """A server directory with a trust list and feeds, served over HTTP, plus a
    terminal data dir initialised against it with ``cli`` (the vicheck command)."""

    def __init__(self, tmp: Path, cli: CliRunner) -> None:
        self.cli = cli
        self.pki = Pki()
        self.root = tmp / "server"
        self.root.mkdir()
        self.data_dir = tmp / "terminal"
        self.server = FeedServer(self.root)
        self.feeds: dict[str, Feed] = {}

    def publish_trust_list(self, **kw: Any) -> bytes:
        data = self.pki.trust_list(**kw)
        (self.root / "trustlist.cose").write_bytes(data)
        return data

    def feed(self, name: str, kind: str = "full", scope: Sequence[str] = ("桂",)) -> Feed:
        feed = Feed(self.root, name, kind, tuple(scope), self.pki.feed)
        self.feeds[name] = feed
        return feed

    def init(self, feeds: Sequence[str] | None = None) -> CliResult:
        args = ["init", "--root-key", self.pki.root.public.hex(), "--server", self.server.url]
        for name in feeds if feeds is not None else list(self.feeds):
            args += ["--feed", name]
        return self.cli(*args, data_dir=self.data_dir)

    def sync(self) -> CliResult:
        return self.cli("sync", "--json", data_dir=self.data_dir)

    def verify(self, text: str, t: float = T0) -> CliResult:
        return self.cli("verify", "--json", "--at", at(t), text, data_dir=self.data_dir)

    def lookup(self, plate: str, plate_type: str | None = None, t: float = T0) -> CliResult:
        args = ["lookup", "--json", "--at", at(t), plate]
        if plate_type:
            args += ["--type", plate_type]
        return self.cli(*args, data_dir=self.data_dir)

    def close(self) -> None:
        self.server.close()


def standard_world(world: World) -> World:
    """Publishes into ``world`` the 桂 province feed ``gx`` and the nationwide
    hotlist ``hot`` (not yet synced); returns it."""
    world.publish_trust_list()
    world.feed("gx").publish_snapshot(
        [
            Vehicle("桂A12345", "02", "2027-06", "A", "K33"),
            Vehicle("桂A00001", "02", "2027-06", "C", "K33"),
            Vehicle("桂B88888", "02", "2026-03", "A", "K33"),
            Vehicle("桂A54321", "02", None, "GI", "K33"),
        ],
        [b"revoked-serial-1"],
    )
    world.feed("hot", "hotlist", ["*"]).publish_snapshot(
        [Vehicle("粤B99999", "02", "2027-06", "C", "K33"), Vehicle("桂A00001", "02", None, "C")]
    )
    return world


@contextlib.contextmanager
def synced_world(world: World) -> Iterator[World]:
    """``world`` made standard, initialised and synced once; closed on exit."""
    try:
        standard_world(world)
        assert world.init().code == 0
        assert world.sync().code == 0
        yield world
    finally:
        world.close()


def db_dump(data_dir: Path) -> dict[str, Any]:
    """Everything a check can see in the cache, for before/after comparisons."""
    conn = sqlite3.connect(Path(data_dir) / "vicheck.db")
    try:
        feeds = conn.execute("SELECT * FROM feeds ORDER BY feed").fetchall()
        out: dict[str, Any] = {
            "feeds": [f[:1] + f[2:8] for f in feeds],  # all but slot number and synced_at
            "trust": conn.execute("SELECT version, cose FROM trust_list").fetchall(),
            "floor": conn.execute("SELECT clock_floor FROM terminal").fetchall(),
        }
        for f in feeds:
            out[f"v:{f[0]}"] = conn.execute(
                f"SELECT * FROM ({current_vehicles(f[1], '1')}) ORDER BY plate, plate_type"
            ).fetchall()
            out[f"s:{f[0]}"] = conn.execute(
                f"SELECT * FROM {serials_table(f[1])} ORDER BY serial"
            ).fetchall()
        return out
    finally:
        conn.close()
