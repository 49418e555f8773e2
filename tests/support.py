"""Test support: deterministic keys, a feed world on disk, a real HTTP server.

Everything here is real: keys are Ed25519, feeds are written by the project's own
writer, and the server is ``http.server`` on 127.0.0.1 (optionally throttled, or
made to misbehave the way real servers do).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from feeds.format import FileEntry
from feeds.writer import (
    Vehicle,
    manifest_payload,
    write_delta,
    write_manifest,
    write_snapshot,
)
from keys.certificate import Certificate, issue_certificate
from keys.fields import CST
from keys.keypair import KeyPair
from keys.trustlist import KeyEntry, build_trust_list
from vicheck import cli

T0 = int(datetime(2026, 6, 1, 9, 0, tzinfo=CST).timestamp())
"""The tests' usual "now": 2026-06-01 09:00 CST."""
DAY = 86400
YEAR = 365 * DAY


def at(t: float) -> str:
    return datetime.fromtimestamp(t, CST).isoformat()


@dataclass
class Pki:
    """Deterministic keys: a root, certificate keys for 桂 and 粤, one feed key."""

    root: KeyPair = field(default_factory=lambda: KeyPair.from_seed(b"root"))
    gui: KeyPair = field(default_factory=lambda: KeyPair.from_seed(b"cert-gui"))
    yue: KeyPair = field(default_factory=lambda: KeyPair.from_seed(b"cert-yue"))
    feed: KeyPair = field(default_factory=lambda: KeyPair.from_seed(b"feed"))

    def entry(self, key: KeyPair, role: str, scope: Sequence[str], **kw: Any) -> KeyEntry:
        return KeyEntry(
            kid=key.kid,
            public=key.public,
            role=role,
            scope=tuple(scope),
            not_before=kw.get("not_before", T0 - 2 * YEAR),
            not_after=kw.get("not_after", T0 + 2 * YEAR),
            revoked=kw.get("revoked", False),
            # A feed key covers every plate unless a test says otherwise (SPEC 1.1).
            covers=tuple(kw.get("covers", ["*"] if role == "feed" else [])),
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
        self.version += 1
        self.snapshot = write_snapshot(self.directory, self.feed, self.version, vehicles, serials)
        self.deltas = []
        self.total = len(vehicles) + len(set(serials))
        return self.write(**manifest)

    def publish_delta(self, operations: Sequence[Any], total_change: int, **manifest: Any) -> bytes:
        self.version += 1
        self.deltas.append(
            write_delta(self.directory, self.feed, self.version - 1, self.version, operations)
        )
        self.total += total_change
        return self.write(**manifest)

    def payload(self, **override: Any) -> dict[int, Any]:
        assert self.snapshot is not None
        args = dict(
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
        return write_manifest(self.directory, self.payload(**override), key or self.key)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the world directory; a test may slow it down or make it lie."""

    disable_nagle_algorithm = True  # else a small body waits 40 ms for a delayed ACK

    def log_message(self, *args: Any) -> None:
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        delay = behaviour.get("delay_per_chunk", 0.0)
        extra = behaviour.get("append", {}).get(os.path.basename(self.path), b"")
        while chunk := source.read(behaviour.get("chunk", 64 * 1024)):
            outputfile.write(chunk)
            if delay:
                outputfile.flush()
                time.sleep(delay)
        if extra:
            outputfile.write(extra)

    def end_headers(self) -> None:
        encoding = self.server.behaviour.get("encoding")  # type: ignore[attr-defined]
        if encoding and self.path.endswith(".gz"):
            self.send_header("Content-Encoding", encoding)
        super().end_headers()

    def send_head(self) -> Any:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        name = os.path.basename(self.path)
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        if name in behaviour.get("fail", set()):
            self.send_error(503, "unavailable for this test")
            return None
        if name in behaviour.get("append", {}):
            # Lie about nothing in headers: send no Content-Length, then extra bytes.
            path = self.translate_path(self.path)
            try:
                handle = open(path, "rb")  # noqa: SIM115
            except OSError:
                self.send_error(404)
                return None
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.close_connection = True
            return handle
        return super().send_head()


class FeedServer:
    """A real HTTP server on 127.0.0.1 serving ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.behaviour = {}  # type: ignore[attr-defined]
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def behaviour(self) -> dict[str, Any]:
        return self.httpd.behaviour  # type: ignore[attr-defined]

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def codes(self) -> list[str]:
        return sorted(r["code"] for r in self.json["reasons"])


def run_cli(*args: str, data_dir: Path | None = None, stdin: bytes | None = None) -> CliResult:
    """Run ``vicheck`` in-process (the same ``main`` the console script calls)."""
    import sys

    argv = list(args)
    if data_dir is not None:
        argv = ["--data-dir", str(data_dir), *argv]
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        sys.stdin = old_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


class World:
    """A server directory with a trust list and feeds, served over HTTP, plus a
    terminal data dir initialised against it."""

    def __init__(self, tmp: Path) -> None:
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
        return run_cli(*args, data_dir=self.data_dir)

    def sync(self) -> CliResult:
        return run_cli("sync", "--json", data_dir=self.data_dir)

    def verify(self, text: str, t: float = T0) -> CliResult:
        return run_cli("verify", "--json", "--at", at(t), text, data_dir=self.data_dir)

    def lookup(self, plate: str, plate_type: str | None = None, t: float = T0) -> CliResult:
        args = ["lookup", "--json", "--at", at(t), plate]
        if plate_type:
            args += ["--type", plate_type]
        return run_cli(*args, data_dir=self.data_dir)

    def close(self) -> None:
        self.server.close()


def standard_world(tmp: Path) -> World:
    """桂 province feed ``gx`` and the nationwide hotlist ``hot``, synced."""
    world = World(tmp)
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
def synced_world(tmp: Path) -> Iterator[World]:
    """The standard world, initialised and synced once; closed on exit."""
    world = standard_world(tmp)
    try:
        assert world.init().code == 0
        assert world.sync().code == 0
        yield world
    finally:
        world.close()


def db_dump(data_dir: Path) -> dict[str, Any]:
    """Everything a check can see in the cache, for before/after comparisons."""
    import sqlite3

    from cache.schema import current_vehicles, serials_table

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


@contextlib.contextmanager
def served(root: Path) -> Iterator[FeedServer]:
    server = FeedServer(root)
    try:
        yield server
    finally:
        server.close()
