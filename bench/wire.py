"""What a shift-start sync costs on the wire (issue 15), printed as one JSON object.

A generated province registry is published by the real central side and served by
devkit's ``FeedServer`` (central's server, which counts the body bytes it sends and
can cut or pace a link). A terminal then makes, each as a whole ``vicheck sync``
process: the first sync, a day's delta, a week's catch-up; a fresh terminal makes its
first sync over a link cut every 1 MiB, and one over a link cut at half the
snapshot; and first sync and day's delta over a link paced to 1 Mbit/s. Beside each
figure: the information the data carries (a lower bound on any encoding of it) and
where the rest goes (manifest, HTTP headers, gzip framing, record encoding).

Scale with VICHECK_BENCH_VEHICLES (default 1,000,000); a day changes 0.3 % of the
registry (30,000 at 10M, as ``bench.central``).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.central import central, day_of_changes, manifest
from bench.world import run_cli
from devkit.server import FeedServer

VEHICLES = int(os.environ.get("VICHECK_BENCH_VEHICLES", "1000000"))
DAY_CHANGES = max(VEHICLES * 3 // 1000, 100)
MIB = 1 << 20
MBIT_CHUNK = 16 * 1024
MBIT_DELAY = MBIT_CHUNK * 8 / 1_000_000  # seconds per chunk at 1 Mbit/s
REQUEST_HEADERS = 120
"""Bytes of one GET as httpx sends it (request line, Host, Accept, Range...)."""


def terminal(tmp: Path, name: str, home: Path, url: str) -> Path:
    data_dir = tmp / name
    root = (home / "keys" / "root.pub").read_text().strip()
    init = ["init", "--root-key", root, "--server", url, "--feed", "gx", "--feed", "hot"]
    assert run_cli(*init, data_dir=data_dir).code == 0
    return data_dir


def sync(server: FeedServer, data_dir: Path) -> dict[str, Any]:
    """One ``vicheck sync`` process: its time, the body bytes the server sent, the
    requests it answered, the feeds' methods."""
    import subprocess
    import sys

    server.sent.clear()
    server.requests.clear()
    vicheck = str(Path(sys.executable).parent / "vicheck")
    start = time.perf_counter()
    proc = subprocess.run(
        [vicheck, "--data-dir", str(data_dir), "sync", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    report = json.loads(proc.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"sync failed: {proc.stdout}")
    body = sum(server.sent.values())
    requests = len(server.requests)
    return {
        "s": round(seconds, 2),
        "body_bytes": body,
        "requests": requests,
        "headers_bytes_est": requests * (REQUEST_HEADERS + response_headers(server)),
        "methods": [f["method"] for f in report["feeds"]],
        "reported_bytes": sum(f["bytes"] for f in report["feeds"]),
    }


def response_headers(server: FeedServer) -> int:
    """The size of one response's status line and headers, as this server sends them."""
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"HEAD /trustlist.cose HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data and (more := conn.recv(4096)):
            data += more
    return data.index(b"\r\n\r\n") + 4


XZ_SAMPLE = 32 * MIB
"""xz -9e runs at about 1 MB/s: past this much CBOR (a 10M snapshot is ~290 MB) the
bound is measured on its first ``XZ_SAMPLE`` bytes and scaled."""


def file_anatomy(path: Path) -> dict[str, int]:
    """A feed file: its gzip size, the CBOR inside, and a bound on its information
    (the same bytes compressed as hard as xz can; scaled from a sample when large)."""
    import lzma

    raw = gzip.decompress(path.read_bytes())
    sample = raw[:XZ_SAMPLE]
    packed = len(lzma.compress(sample, preset=9 | lzma.PRESET_EXTREME))
    return {
        "gzip_bytes": path.stat().st_size,
        "cbor_bytes": len(raw),
        "xz9_bytes": round(packed * len(raw) / max(len(sample), 1)),
    }


def changes_entropy_bytes(vehicles: int, changed: int) -> int:
    """A lower bound on naming which ``changed`` of ``vehicles`` records changed:
    log2 C(vehicles, changed) bits (what changed in each is extra)."""
    bits = (
        math.lgamma(vehicles + 1) - math.lgamma(changed + 1) - math.lgamma(vehicles - changed + 1)
    ) / math.log(2)
    return math.ceil(bits / 8)


def newest_delta(home: Path) -> Path:
    entry = manifest(home, "gx").deltas[-1]
    return home / "public" / "feeds" / "gx" / entry.path


def main() -> None:
    figures: dict[str, object] = {"vehicles": VEHICLES, "day_changes": DAY_CHANGES}
    with tempfile.TemporaryDirectory(prefix="vicheck-wire-bench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        registry = home / "registry.db"
        central(home, "init", "--province", "桂")
        central(home, "trustlist")
        central(home, "registry", "generate", "--province", "桂", "--vehicles", str(VEHICLES))
        central(home, "publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot")
        public = home / "public"
        snapshot = next((public / "feeds" / "gx").glob("snapshot-*"))
        # The server counts bytes by file name, and the hotlist's first snapshot has the
        # same name: the cut links' ratios are over both.
        snapshot_size = sum(p.stat().st_size for p in public.glob(f"feeds/*/{snapshot.name}"))
        with FeedServer(public) as server:
            url = server.url
            manifest_bytes = (public / "feeds" / "gx" / "manifest.cose").stat().st_size
            figures["manifest_bytes"] = manifest_bytes
            figures["snapshot"] = {**file_anatomy(snapshot), "records": VEHICLES}
            data_dir = terminal(tmp, "t1", home, url)
            first = sync(server, data_dir)
            figures["first_sync"] = {
                **first,
                "bytes_per_vehicle": round(first["body_bytes"] / VEHICLES, 2),
            }

            day_of_changes(registry, DAY_CHANGES, day=0, total=VEHICLES)
            central(home, "publish")
            delta = newest_delta(home)
            day = sync(server, data_dir)
            figures["day_delta"] = {
                **day,
                "file": file_anatomy(delta),
                "changes_identity_bound_bytes": changes_entropy_bytes(VEHICLES, DAY_CHANGES),
            }

            for n in range(1, 8):
                day_of_changes(registry, DAY_CHANGES, day=n, total=VEHICLES)
                central(home, "publish")
            week = sync(server, data_dir)
            figures["week_catch_up"] = {
                **week,
                "changes_identity_bound_bytes": changes_entropy_bytes(VEHICLES, 7 * DAY_CHANGES),
            }

            server.behaviour["cut"] = {snapshot.name: MIB}
            cut = sync(server, terminal(tmp, "t2", home, url))
            figures["first_sync_cut_every_mib"] = {
                **cut,
                "snapshot_sent_vs_file": round(server.sent[snapshot.name] / snapshot_size, 3),
            }
            server.behaviour["cut"] = {snapshot.name: snapshot_size // 2}
            half = sync(server, terminal(tmp, "t3", home, url))
            figures["first_sync_cut_at_half"] = {
                **half,
                "snapshot_sent_vs_file": round(server.sent[snapshot.name] / snapshot_size, 3),
            }
            server.behaviour.clear()

            server.behaviour.update(chunk=MBIT_CHUNK, delay_per_chunk=MBIT_DELAY)
            paced_dir = terminal(tmp, "t4", home, url)
            figures["first_sync_1mbit"] = sync(server, paced_dir)
            day_of_changes(registry, DAY_CHANGES, day=9, total=VEHICLES)
            central(home, "publish")
            figures["day_delta_1mbit"] = sync(server, paced_dir)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
