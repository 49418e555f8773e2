"""The central side's figures (issue 5), printed as one JSON object.

Generate a province registry, publish it, sync a terminal from it, publish a day
of changes as one delta, sync that, then more days until a sync merges the delta
overlay (the slow sync of every ten days or so), then a fleet of terminals at once against
``vicheck central serve`` on loopback. Scale with VICHECK_BENCH_VEHICLES (default
10,000,000) and VICHECK_BENCH_FLEET (default 200).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import child_sync
from bench.world import run_cli
from cache.schema import overlay_table
from cache.store import DB_NAME
from central import cli
from central.serve import free_port
from feeds.format import Manifest, parse_manifest
from keys.cose import parse_sign1
from keys.wire import SIGNED_LIST_LIMIT

VEHICLES = int(os.environ.get("VICHECK_BENCH_VEHICLES", "10000000"))
FLEET = int(os.environ.get("VICHECK_BENCH_FLEET", "200"))
DAY_CHANGES = 30_000
MAX_DAYS = 14
VICHECK = str(Path(sys.executable).parent / "vicheck")


def central(home: Path, *args: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # one JSON object on stdout: ours
        code = cli.main(["--home", str(home), *args])
    if code != 0:
        raise SystemExit(f"central {' '.join(args)} failed with {code}")


def manifest(home: Path, feed: str) -> Manifest:
    data = (home / "public" / "feeds" / feed / "manifest.cose").read_bytes()
    return parse_manifest(parse_sign1(data, SIGNED_LIST_LIMIT).payload)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return round(time.perf_counter() - start, 2)


def day_of_changes(
    registry: Path, count: int, day: int = 0, total: int = VEHICLES
) -> dict[str, int]:
    """A day at a provincial registry of about ``total`` vehicles, about ``count`` of
    them changed: inspections passed (two thirds), statuses set and cleared, new
    registrations, deregistrations. Each ``day`` picks other vehicles."""
    conn = sqlite3.connect(registry, isolation_level=None)
    stride = max(total // count, 1)
    rows = conn.execute("SELECT plate, plate_type, status, valid_through FROM vehicles")
    picked = list(itertools.islice(rows, day % stride, stride * count, stride))
    inspected = picked[: count * 2 // 3]
    flagged = picked[len(inspected) : len(inspected) + count // 6]
    removed = picked[len(inspected) + len(flagged) : len(inspected) + len(flagged) + count // 20]
    new = count - len(inspected) - len(flagged) - len(removed)
    conn.execute("BEGIN")
    conn.executemany(
        "UPDATE vehicles SET valid_through = printf('%04d-%s', substr(valid_through, 1, 4) + 1,"
        " substr(valid_through, 6, 2)) WHERE plate = ? AND plate_type = ?",
        [(p, t) for p, t, _, _ in inspected],
    )
    conn.executemany(
        "UPDATE vehicles SET status = ? WHERE plate = ? AND plate_type = ?",
        [("G" if s == "A" else "A", p, t) for p, t, s, _ in flagged],
    )
    conn.executemany(
        "DELETE FROM vehicles WHERE plate = ? AND plate_type = ?",
        [(p, t) for p, t, _, _ in removed],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO vehicles VALUES (?, '52', 'K33', 0, '2026-06', '2028-06', 'A')",
        # Large new-energy plates (SPEC 5: P L 5 digits, a letter): a day's own letter,
        # so no two days collide, and room for 100,000 a day.
        [(f"桂{'RS'[day // 10 % 2]}{n:05d}{'ABCDEFGHJK'[day % 10]}",) for n in range(new)],
    )
    conn.execute("COMMIT")
    conn.close()
    return {
        "inspected": len(inspected),
        "status_changed": len(flagged),
        "removed": len(removed),
        "registered": new,
    }


def overlay_rows(data_dir: Path, feed: str) -> int:
    conn = sqlite3.connect(data_dir / DB_NAME)
    try:
        (slot,) = conn.execute("SELECT slot FROM feeds WHERE feed = ?", (feed,)).fetchone()
        return conn.execute(f"SELECT count(*) FROM {overlay_table(slot)}").fetchone()[0]
    finally:
        conn.close()


def days_until_merge(home: Path, data_dir: Path, first: float) -> dict[str, object]:
    """More days of changes, each published and synced, until a sync merges the
    delta overlay into the base (``cache.apply.merge_limit``): the one slow sync.
    ``first`` is the first day's sync time; every day without a merge is a sample."""
    plain = [first]
    out: dict[str, object] = {"merge_after_days": None}
    for day in range(1, MAX_DAYS + 1):
        before = overlay_rows(data_dir, "gx")
        day_of_changes(home / "registry.db", DAY_CHANGES, day)
        central(home, "publish")
        seconds, _, report = child_sync(data_dir)
        assert report["feeds"][0]["method"] == "delta", report
        if overlay_rows(data_dir, "gx") < before:
            out = {
                "merge_after_days": day + 1,
                "merged_overlay_rows": before,
                "merge_sync_s": round(seconds, 2),
            }
            break
        plain.append(seconds)
    return {
        "day_delta_sync_s_days": len(plain),
        "day_delta_sync_s_median": round(statistics.median(plain), 3),
        "day_delta_sync_s_max": round(max(plain), 3),
        **out,
    }


def small_fetch_ms(url: str, repeat: int = 20) -> float:
    """Median time to GET a small file on one kept-alive connection (what a sync pays
    per manifest; Nagle's algorithm once made it 40 ms)."""
    import httpx

    samples = []
    with httpx.Client() as client:
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 2)


def fleet(tmp: Path, url: str, root: str, size: int) -> dict[str, object]:
    """``size`` terminals sync the trust list and the hotlist at once, in processes."""
    dirs = []
    for n in range(size):
        data_dir = tmp / f"fleet-{n}"
        args = ["init", "--root-key", root, "--server", url, "--feed", "hot"]
        assert run_cli(*args, data_dir=data_dir).code == 0
        dirs.append(data_dir)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [VICHECK, "--data-dir", str(d), "sync", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for d in dirs
    ]
    outs = [(p.communicate()[0], p.returncode) for p in procs]
    seconds = time.perf_counter() - start
    ok = sum(rc == 0 for _, rc in outs)
    served = sum(f["bytes"] for out, rc in outs if rc == 0 for f in json.loads(out)["feeds"])
    return {
        "fleet_terminals": size,
        "fleet_ok": ok,
        "fleet_total_s": round(seconds, 2),
        "fleet_syncs_per_s": round(size / seconds, 1),
        "fleet_served_mb": round(served / 1e6, 2),
        "fleet_throughput_mb_s": round(served / 1e6 / seconds, 2),
    }


def main() -> None:
    figures: dict[str, object] = {"vehicles": VEHICLES}
    with tempfile.TemporaryDirectory(prefix="vicheck-central-bench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        central(home, "init", "--province", "桂")
        central(home, "trustlist")
        gen = ["registry", "generate", "--province", "桂", "--vehicles", str(VEHICLES)]
        figures["generate_s"] = timed(central, home, *gen, "--seed", "2026")
        publish = ["publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot"]
        figures["publish_first_s"] = timed(central, home, *publish)
        feed_dir = home / "public" / "feeds"
        snapshot = next((feed_dir / "gx").glob("snapshot-*"))
        figures["snapshot_bytes_per_vehicle"] = round(snapshot.stat().st_size / VEHICLES, 2)
        figures["hotlist_records"] = manifest(home, "hot").total
        port = free_port()
        server = subprocess.Popen(
            [VICHECK, "central", "--home", str(home), "serve", "--port", str(port)],
            stderr=subprocess.PIPE,
        )
        try:
            server.stderr.readline()  # type: ignore[union-attr]  # "serving ..." once bound
            url = f"http://127.0.0.1:{port}"
            root = (home / "keys" / "root.pub").read_text().strip()
            data_dir = tmp / "terminal"
            init = ["init", "--root-key", root, "--server", url, "--feed", "gx", "--feed", "hot"]
            assert run_cli(*init, data_dir=data_dir).code == 0
            seconds, rss, report = child_sync(data_dir)
            assert [f["method"] for f in report["feeds"]] == ["snapshot", "snapshot"], report
            figures["first_sync_s"] = round(seconds, 2)
            figures["first_sync_rss_mb"] = round(rss, 1)
            figures["cache_bytes_per_vehicle"] = round(
                (data_dir / "vicheck.db").stat().st_size / VEHICLES, 1
            )
            figures["day_changes"] = day_of_changes(home / "registry.db", DAY_CHANGES)
            figures["publish_day_delta_s"] = timed(central, home, "publish")
            figures["day_delta_records"] = manifest(home, "gx").deltas[-1].records
            figures["day_delta_bytes"] = manifest(home, "gx").deltas[-1].size
            seconds, rss, report = child_sync(data_dir)
            assert report["feeds"][0]["method"] == "delta", report
            figures["day_delta_sync_s"] = round(seconds, 3)
            figures.update(days_until_merge(home, data_dir, seconds))
            figures["manifest_fetch_ms"] = small_fetch_ms(f"{url}/feeds/gx/manifest.cose")
            figures.update(fleet(tmp, url, root, FLEET))
        finally:
            server.terminate()
            server.wait()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
