"""``make bench``: the figures of the core issue, printed as one JSON object.

Targets (2-core dev machine) are in the README; nothing here asserts them, it
measures and reports. Scale with VICHECK_BENCH_VEHICLES (default 1,000,000).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path

from bench.data import big_snapshot, vehicles
from bench.world import run_cli
from cache.store import Store
from devkit.clock import T0, at
from devkit.keys import Pki
from devkit.server import FeedServer
from devkit.world import Feed
from feeds.writer import Vehicle, write_delta
from terminal.clock import Clock
from terminal.verdict import Checker

VEHICLES = int(os.environ.get("VICHECK_BENCH_VEHICLES", "1000000"))
DELTA_OPS = 10_000


def median_us(fn, repeat: int = 2000) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return round(statistics.median(samples) / 1000, 1)


def child_sync(data_dir: Path) -> tuple[float, float, dict]:
    """Sync in a fresh process; its wall time and peak RSS (MB)."""
    vicheck = Path(sys.executable).parent / "vicheck"
    script = (
        "import resource, subprocess, sys, json, time;"
        "t = time.perf_counter();"
        f"p = subprocess.run([{str(vicheck)!r}, '--data-dir', {str(data_dir)!r}, 'sync', '--json'],"
        " capture_output=True, text=True);"
        "dt = time.perf_counter() - t;"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(json.dumps({'s': dt, 'rss': rss, 'out': p.stdout, 'rc': p.returncode}))"
    )
    out = json.loads(
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
    )
    if out["rc"] != 0:
        raise SystemExit(f"sync failed: {out['out']}")
    return out["s"], out["rss"], json.loads(out["out"])


def process_time(args: list[str], env: dict[str, str], repeat: int = 15) -> float:
    """The median wall time of ``args`` as a whole process, after one warm-up run.

    Bytecode is written and used, as on an installed terminal: an environment with
    PYTHONDONTWRITEBYTECODE (some shells and CI set it) would have every run compile
    the project's sources again (~45 ms of ``vicheck verify``'s 0.12 s, measured),
    while the floor's site-packages have their bytecode from the install."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(args, env=env, capture_output=True, check=False)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=env, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples), 4)


def main() -> None:
    figures: dict[str, object] = {"vehicles": VEHICLES}
    pki = Pki()
    with tempfile.TemporaryDirectory(prefix="vicheck-bench-") as tmp:
        root = Path(tmp) / "server"
        feed_dir = root / "feeds" / "gx"
        feed_dir.mkdir(parents=True)
        (root / "trustlist.cose").write_bytes(pki.trust_list())
        feed = Feed(root, "gx", "full", ("桂",), pki.feed)
        start = time.perf_counter()
        feed.version = 1
        feed.snapshot = big_snapshot(feed.directory, "gx", VEHICLES)
        feed.total = VEHICLES
        feed.write()
        figures["publish_s"] = round(time.perf_counter() - start, 2)
        figures["snapshot_bytes_per_vehicle"] = round(feed.snapshot.size / VEHICLES, 2)
        data_dir = Path(tmp) / "terminal"
        server = FeedServer(root)
        try:
            init = run_cli(
                "init",
                "--root-key",
                pki.root.public.hex(),
                "--server",
                server.url,
                "--feed",
                "gx",
                data_dir=data_dir,
            )
            assert init.code == 0, init.err
            seconds, rss, _ = child_sync(data_dir)
            figures["sync_1m_s"] = round(seconds, 2)
            figures["sync_1m_rss_mb"] = round(rss, 1)
            figures["cache_bytes_per_vehicle"] = round(
                (data_dir / "vicheck.db").stat().st_size / VEHICLES, 1
            )

            # A 10,000-operation delta: a day's new registrations (plates not yet
            # in the registry) mixed with changes to existing vehicles.
            existing = {v.plate: v for v in islice(vehicles(VEHICLES), 0, VEHICLES, 200)}
            changed = [replace(v, status="G") for v in existing.values()][: DELTA_OPS // 2]
            new = [
                Vehicle(f"桂Z{n:05d}", "02", "2028-06", "A", "K33")
                for n in range(DELTA_OPS - len(changed))
            ]
            feed.version = 2
            feed.deltas = [write_delta(feed.directory, "gx", 1, 2, changed + new)]
            feed.total = VEHICLES + len(new)
            feed.write()
            seconds, rss, report = child_sync(data_dir)
            assert report["feeds"][0]["method"] == "delta", report
            figures["delta_10k_s"] = round(seconds, 3)

            store = Store.open(data_dir)
            checker = Checker(store, ["gx"], Clock(at=T0))
            text = pki.certificate("桂A00042", "02", "2027-06")
            assert checker.verify(text).verdict.name in ("VALID", "CHECK", "INVALID", "ALERT")
            figures["verify_us"] = median_us(lambda: checker.verify(text))
            figures["lookup_us"] = median_us(lambda: checker.lookup("桂A00042", "02"))
            figures["lookup_untyped_us"] = median_us(lambda: checker.lookup("桂A00042"))

            env = dict(os.environ, VICHECK_DATA_DIR=str(data_dir))
            vicheck = str(Path(sys.executable).parent / "vicheck")
            figures["cli_verify_s"] = process_time(
                [vicheck, "verify", "--json", "--at", at(T0), text], env
            )
            figures["cli_lookup_s"] = process_time(
                [vicheck, "lookup", "--json", "--at", at(T0), "桂A00042"], env
            )
            figures["python_floor_s"] = process_time(
                [sys.executable, "-c", "import nacl.signing, cbor2, sqlite3"], env
            )
            figures["cli_verify_vs_floor"] = round(
                figures["cli_verify_s"] / figures["python_floor_s"], 2
            )
            figures["cli_lookup_vs_floor"] = round(
                figures["cli_lookup_s"] / figures["python_floor_s"], 2
            )
        finally:
            server.close()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
