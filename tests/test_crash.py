"""SIGKILL in the middle of a sync leaves the previous cache whole and usable.

The sync runs as a real ``vicheck sync`` process against a real HTTP server;
the test kills it with SIGKILL at the moment under test (mid-download, mid-apply),
then checks that the cache is exactly what it was, that checks answer from it,
and that the next sync completes and cleans up after the dead one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.data import vehicles
from feeds.writer import Vehicle, write_snapshot
from tests.support import T0, World, db_dump

pytestmark = pytest.mark.slow

VICHECK = str(Path(sys.executable).parent / "vicheck")


def _start_sync(world: World) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [VICHECK, "--data-dir", str(world.data_dir), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"sync ended (exit {proc.returncode}) before {what}: {out!r} {err!r}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _tables(data_dir: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{data_dir / 'vicheck.db'}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def _write_locked(data_dir: Path) -> bool:
    """True while another connection holds the cache's write transaction."""
    conn = sqlite3.connect(data_dir / "vicheck.db", timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def _assert_old_cache_answers(world: World, before: dict) -> None:
    assert db_dump(world.data_dir) == before
    assert world.verify(world.pki.certificate("桂A12345")).json["verdict"] == "VALID"
    stolen = world.lookup("桂A00001")
    assert stolen.json["verdict"] == "ALERT" and "STATUS_C" in stolen.codes


def _assert_next_sync_completes(world: World, method: str) -> None:
    result = world.sync()
    assert result.code == 0, result.out
    gx = next(f for f in result.json["feeds"] if f["feed"] == "gx")
    assert (gx["status"], gx["method"], gx["to_version"]) == ("updated", method, 2)
    slots = {t for t in _tables(world.data_dir) if t[0] in "vos" and t[1:].isdigit()}
    assert len(slots) == 6, slots  # vehicles, overlay and serials per feed, no orphans
    assert not list(world.data_dir.glob(".sync-*")), "the dead sync's downloads remain"


def _publish_big_snapshot(world: World, count: int) -> None:
    feed = world.feeds["gx"]
    feed.version = 2
    keep = {"桂A00001", "桂A12345"}
    base = [v for v in vehicles(count, seed=3) if v.plate not in keep]
    base.append(Vehicle("桂A00001", "02", "2027-06", "C", "K33"))
    base.append(Vehicle("桂A12345", "02", "2027-06", "A", "K33"))
    feed.snapshot = write_snapshot(feed.directory, "gx", 2, base, [b"revoked-serial-1"])
    feed.deltas = []
    feed.total = len(base) + 1
    feed.write()


def test_kill_during_throttled_download(world: World) -> None:
    _publish_big_snapshot(world, 40_000)
    before = db_dump(world.data_dir)
    world.server.behaviour.update(chunk=4096, delay_per_chunk=0.02)
    proc = _start_sync(world)
    _wait_for(
        lambda: any(p.stat().st_size > 0 for p in world.data_dir.glob(".sync-gx-*/*")),
        proc,
        "the snapshot download to start",
    )
    # Checks keep answering from the old cache while the download runs.
    _assert_old_cache_answers(world, before)
    _kill(proc)
    _assert_old_cache_answers(world, before)
    world.server.behaviour.clear()
    _assert_next_sync_completes(world, "snapshot")


def test_kill_while_applying_a_snapshot(world: World) -> None:
    _publish_big_snapshot(world, 400_000)
    before = db_dump(world.data_dir)
    tables_before = _tables(world.data_dir)
    proc = _start_sync(world)
    # The new slot's tables appear once loading has begun; kill while rows stream in.
    _wait_for(lambda: len(_tables(world.data_dir)) > len(tables_before), proc, "the apply")
    time.sleep(0.3)
    assert proc.poll() is None, "the apply finished before the kill; make the snapshot larger"
    _kill(proc)
    _assert_old_cache_answers(world, before)
    _assert_next_sync_completes(world, "snapshot")


def test_kill_while_applying_deltas(world: World) -> None:
    feed = world.feeds["gx"]
    ops = [Vehicle(f"桂C{n:05d}", "02", "2027-06", "A", "K33") for n in range(60_000)]
    feed.publish_delta(ops, total_change=len(ops))
    before = db_dump(world.data_dir)
    proc = _start_sync(world)
    _wait_for(lambda: any("delta-1-2" in r for r in world.server.requests), proc, "the delta")
    _wait_for(lambda: _write_locked(world.data_dir), proc, "the delta transaction")
    _kill(proc)
    _assert_old_cache_answers(world, before)
    result = world.sync()
    assert result.code == 0, result.out
    gx = next(f for f in result.json["feeds"] if f["feed"] == "gx")
    assert (gx["method"], gx["to_version"]) == ("delta", 2)
    assert world.lookup("桂C59999", "02", t=T0).json["verdict"] == "VALID"
