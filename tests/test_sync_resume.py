"""Shift-start sync over a weak mobile link (issue 15): resumable downloads,
retries with backoff, a deadline and a minimum rate, same-origin redirects.

Real HTTP on 127.0.0.1 through devkit's ``FeedServer``, whose faults cut, stall,
trickle, ignore Range or redirect; the server's own byte count (``sent``) says
what the link carried.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.data import vehicles
from cache.apply import PARTIAL_DIR
from cache.fetch import FetchPolicy
from cache.sync import DEADLINE_ENV, LOG_NAME, Stage, SyncEvent, SyncReport, sync
from feeds.writer import Vehicle
from tests.support import T0, World, served
from tests.support.sync import SNAPSHOT2, by_feed, flip_byte, publish_good_v2

FAST = FetchPolicy(backoff=(0.0,))
"""Retries without waiting: tests never sleep out a backoff."""
VICHECK = str(Path(sys.executable).parent / "vicheck")


def _sync(world: World, policy: FetchPolicy = FAST, **kw: Any) -> SyncReport:
    root = world.pki.root.public
    return sync(
        world.data_dir, world.server.url, root, ["gx", "hot"], lambda: T0, policy=policy, **kw
    )


def _gx(report: SyncReport) -> dict[str, Any]:
    return next(f.to_json() for f in report.feeds if f.feed == "gx")


def _publish_big(world: World, count: int = 20_000) -> tuple[str, int]:
    """Version 2 of gx as one snapshot of ``count`` vehicles; its name and size."""
    keep = [Vehicle("桂A12345", "02", "2027-06", "A", "K33")]
    base = [v for v in vehicles(count, seed=4) if v.plate != "桂A12345"] + keep
    feed = world.feeds["gx"]
    feed.publish_snapshot(base, [b"revoked-serial-1"])
    assert feed.snapshot is not None
    return feed.snapshot.path, feed.snapshot.size


def _partials(world: World) -> dict[str, int]:
    folder = world.data_dir / PARTIAL_DIR
    return {p.name: p.stat().st_size for p in folder.glob("*.part")} if folder.exists() else {}


def _last_log(world: World) -> dict[str, Any]:
    lines = (world.data_dir / LOG_NAME).read_text(encoding="utf-8").splitlines()
    entry: dict[str, Any] = json.loads(lines[-1])
    return entry


def _starts(world: World, name: str) -> list[int]:
    """Where each request of ``name`` asked to start (0 without a Range)."""
    out = []
    for path, wanted in world.server.ranges:
        if path.endswith("/" + name):
            out.append(0 if wanted is None else int(wanted.removeprefix("bytes=").rstrip("-")))
    return out


# --- resuming -----------------------------------------------------------------


def test_a_link_cut_every_n_bytes_completes_in_one_sync(world: World) -> None:
    name, size = _publish_big(world)
    cut = 8 * 1024
    assert size > 5 * cut, size
    world.server.behaviour["cut"] = {name: cut}
    report = _sync(world)
    assert report.ok, report.to_json()
    assert (_gx(report)["status"], _gx(report)["method"]) == ("updated", "snapshot")
    sent = world.server.sent[name]
    print(f"cut link: {sent} bytes sent for a {size}-byte file ({sent / size:.3f}x)")
    assert sent <= 1.1 * size
    starts = _starts(world, name)
    assert starts == list(range(0, size, cut)), starts  # each resume where the last stopped
    retries = _last_log(world)["retries"]
    assert len(retries) == len(starts) - 1
    assert all(name in r["url"] for r in retries)
    assert _partials(world) == {} and not (world.data_dir / PARTIAL_DIR).exists()
    assert world.lookup("桂A12345").code == 0


def test_a_killed_sync_is_continued_by_the_next(world: World) -> None:
    name, size = _publish_big(world, 40_000)
    world.server.behaviour.update(chunk=4096, delay_per_chunk=0.02)
    proc = subprocess.Popen(
        [VICHECK, "--data-dir", str(world.data_dir), "sync", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until = time.monotonic() + 60
        while sum(_partials(world).values()) < size // 3:
            assert proc.poll() is None and time.monotonic() < until, "no partial grew"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    until = time.monotonic() + 30
    while world.server.open_connections:  # the dead sync's handler has stopped writing
        assert time.monotonic() < until
        time.sleep(0.01)
    [(part, kept)] = _partials(world).items()
    assert 0 < kept < size
    assert (world.data_dir / PARTIAL_DIR / part).stat().st_mode & 0o777 == 0o600
    world.server.behaviour.clear()
    world.server.ranges.clear()
    world.server.sent.clear()
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["method"] == "snapshot"
    assert _starts(world, name) == [kept]
    assert world.server.sent[name] == size - kept
    assert not list(world.data_dir.glob(".sync-*"))


def _leave_partial(world: World, name: str, cut: int) -> None:
    """A sync that fails the file after ``cut`` bytes, keeping them."""
    world.server.behaviour["cut"] = {name: cut}
    report = _sync(world, FetchPolicy(attempts=1))
    assert _gx(report)["status"] == "failed"
    assert "ended after" in _gx(report)["error"] or "cannot fetch" in _gx(report)["error"]
    assert list(_partials(world).values()) == [cut]
    world.server.behaviour.clear()
    world.server.ranges.clear()
    world.server.sent.clear()


def test_a_server_ignoring_range_restarts_the_file_cleanly(world: World) -> None:
    name, size = _publish_big(world)
    _leave_partial(world, name, 50_000)
    world.server.behaviour["ignore_range"] = {name}
    report = _sync(world)
    assert report.ok, report.to_json()
    assert _starts(world, name) == [50_000]  # asked to resume, answered from zero
    assert world.server.sent[name] == size
    assert _partials(world) == {}


def test_a_stale_partial_is_dropped(world: World) -> None:
    name, _ = _publish_big(world)
    _leave_partial(world, name, 50_000)
    stranger = world.data_dir / PARTIAL_DIR / f"zz-{'ab' * 32}.part"  # a feed not subscribed
    stranger.write_bytes(b"x")
    publish_good_v2(world)  # version 3: another snapshot, another hash
    world.server.behaviour["fail"] = {f"snapshot-{world.feeds['gx'].version}.cbor.gz"}
    report = _sync(world, FetchPolicy(attempts=1))
    assert _gx(report)["status"] == "failed"
    assert _partials(world) == {}  # the old hash is named by no manifest; zz unsubscribed
    world.server.behaviour.clear()
    assert _sync(world).ok


def test_a_range_that_starts_elsewhere_is_refused_and_the_partial_dropped(world: World) -> None:
    name, _ = _publish_big(world)
    _leave_partial(world, name, 50_000)
    world.server.behaviour["range_shift"] = {name: 1}  # answers 206 from byte 50001
    report = _sync(world)
    assert _gx(report)["status"] == "failed"
    assert "not one from byte 50000" in _gx(report)["error"]
    assert _starts(world, name) == [50_000]  # refused, not retried
    assert _partials(world) == {}
    world.server.behaviour.clear()
    assert _sync(world).ok  # from zero


def test_a_partial_whose_bytes_differ_fails_the_hash_and_is_dropped(world: World) -> None:
    name, _ = _publish_big(world)
    _leave_partial(world, name, 50_000)
    part = next((world.data_dir / PARTIAL_DIR).glob("*.part"))
    flip_byte(part, 100)  # the sha256 over the whole file is the final guard
    report = _sync(world)
    assert _gx(report)["status"] == "failed"
    assert "SHA-256" in _gx(report)["error"]
    assert _starts(world, name) == [50_000]
    assert _partials(world) == {}
    assert _sync(world).ok  # from zero


# --- retries ------------------------------------------------------------------


def test_5xx_twice_then_success_is_retried_and_logged(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour["fail_first"] = {SNAPSHOT2: 2}
    report = _sync(world)
    assert report.ok, report.to_json()
    assert _gx(report)["status"] == "updated"
    entry = _last_log(world)
    assert [(r["attempt"], "HTTP 503" in r["error"]) for r in entry["retries"]] == [
        (1, True),
        (2, True),
    ]
    assert set(_gx(report)) == {"feed", "status", "from_version", "to_version", "method", "bytes"}
    assert "retries" not in report.to_json()


def test_5xx_beyond_the_attempts_fails_with_the_last_error(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour["fail"] = {SNAPSHOT2}
    report = _sync(world)
    assert "HTTP 503" in _gx(report)["error"]
    assert _starts(world, SNAPSHOT2) == [0, 0, 0, 0]
    assert len(_last_log(world)["retries"]) == 3


def test_a_hash_mismatch_is_never_retried(world: World) -> None:
    publish_good_v2(world)
    flip_byte(world.feeds["gx"].directory / SNAPSHOT2, 20)
    report = _sync(world)
    assert _gx(report)["status"] == "failed"
    assert "SHA-256" in _gx(report)["error"]
    assert len(_starts(world, SNAPSHOT2)) == 1
    assert _last_log(world)["retries"] == []
    assert _partials(world) == {}


@pytest.mark.parametrize(
    ("status", "header", "cap", "wait"),
    [
        (503, "1", 30.0, 1.0),  # what the server asked
        (429, "1", 30.0, 1.0),  # too many requests: a wait, not a refusal
        (503, "3600", 0.05, 0.05),  # capped
        (503, "Wed, 21 Oct 2015 07:28:00 GMT", 30.0, 0.0),  # a date: the backoff
        (429, None, 30.0, 0.0),  # none said: the backoff
    ],
)
def test_retry_after_sets_the_wait_before_a_retry(
    world: World, status: int, header: str | None, cap: float, wait: float
) -> None:
    publish_good_v2(world)
    world.server.behaviour.update(fail_first={SNAPSHOT2: 1}, fail_status=status)
    if header is not None:
        world.server.behaviour["retry_after"] = header
    report = _sync(world, FetchPolicy(backoff=(0.0,), retry_after_cap=cap))
    assert report.ok, report.to_json()
    [retry] = _last_log(world)["retries"]
    assert f"HTTP {status}" in retry["error"]
    assert retry["wait"] == wait
    assert _starts(world, SNAPSHOT2) == [0, 0]


def test_a_retry_after_past_the_deadline_fails_the_file_at_once(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour.update(fail={SNAPSHOT2}, retry_after="20")
    report = _sync(world, FetchPolicy(backoff=(0.0,)), deadline=10)
    error = _gx(report)["error"]
    assert "asks to retry after 20 s, past the sync deadline" in error, error
    assert _starts(world, SNAPSHOT2) == [0]  # neither slept out nor asked again
    assert _last_log(world)["retries"] == []
    assert report.feeds[1].status == "current"  # the next feed still syncs


# --- deadlines ----------------------------------------------------------------


def test_a_trickling_server_hits_the_deadline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_good_v2(world)
    world.server.behaviour["trickle"] = {SNAPSHOT2: 0.05}
    monkeypatch.setenv(DEADLINE_ENV, "1")
    began = time.monotonic()
    result = world.sync()
    took = time.monotonic() - began
    print(f"trickle: the sync ended {took:.2f} s after it began (deadline 1 s)")
    assert result.code == 6, result.out
    assert took < 3
    for feed in ("gx", "hot"):
        report = by_feed(result)[feed]
        assert report["status"] == "failed"
        assert "sync deadline passed after" in report["error"], report
    assert set(result.json) == {"trust_list", "feeds"}
    assert 0 < sum(_partials(world).values()) < 100  # kept for the next sync
    world.server.behaviour.clear()
    monkeypatch.delenv(DEADLINE_ENV)
    assert world.sync().code == 0


def test_a_stalled_download_is_retried_then_fails(world: World) -> None:
    publish_good_v2(world)
    world.server.behaviour["trickle"] = {SNAPSHOT2: 0.02}
    policy = FetchPolicy(attempts=2, backoff=(0.0,), min_rate=1024, stall_window=0.3)
    report = _sync(world, policy)
    assert _gx(report)["status"] == "failed"
    assert "stalled" in _gx(report)["error"]
    assert len(_starts(world, SNAPSHOT2)) == 2


def test_a_deadline_passed_before_a_feed_fails_it_without_fetching(world: World) -> None:
    world.server.requests.clear()
    report = _sync(world, deadline=1e-9)
    assert report.trust_list.status == "failed"
    assert [f.status for f in report.feeds] == ["failed", "failed"]
    assert all("sync deadline passed" in (f.error or "") for f in report.feeds)
    assert world.server.requests == []


def test_a_download_done_in_time_is_applied_and_no_feed_begins_after_the_deadline(
    world: World,
) -> None:
    publish_good_v2(world)
    deadline = 3.0
    began = time.monotonic()

    def slow_apply(event: SyncEvent) -> None:
        if event.stage == Stage.APPLY:  # the apply outlives the deadline
            time.sleep(max(began + deadline + 0.1 - time.monotonic(), 0))

    world.server.requests.clear()
    report = _sync(world, deadline=deadline, listener=slow_apply)
    assert _gx(report)["status"] == "updated"  # what arrived in time is applied
    [hot] = [f for f in report.feeds if f.feed == "hot"]
    assert hot.status == "failed" and "sync deadline passed" in (hot.error or "")
    assert not [path for path in world.server.requests if "/hot/" in path]


# --- redirects ----------------------------------------------------------------


def test_a_same_origin_redirect_is_followed(world: World) -> None:
    publish_good_v2(world)
    directory = world.feeds["gx"].directory
    (directory / "moved.cbor.gz").write_bytes((directory / SNAPSHOT2).read_bytes())
    world.server.behaviour["redirect"] = {SNAPSHOT2: "/feeds/gx/moved.cbor.gz"}
    report = _sync(world)
    assert report.ok, report.to_json()
    assert "/feeds/gx/moved.cbor.gz" in world.server.requests


@pytest.mark.parametrize("where", ["port", "host"])
def test_a_cross_origin_redirect_is_refused(world: World, where: str) -> None:
    publish_good_v2(world)
    with served(world.root) as other:
        port = other.url.rsplit(":", 1)[1]
        base = other.url if where == "port" else f"http://localhost:{port}"
        world.server.behaviour["redirect"] = {SNAPSHOT2: f"{base}/feeds/gx/{SNAPSHOT2}"}
        report = _sync(world)
        assert other.requests == []
    assert _gx(report)["status"] == "failed"
    assert "outside the configured server" in _gx(report)["error"]


@pytest.mark.parametrize(
    ("value", "backoff", "warned"),
    [("0", (0.0, 0.0, 0.0), False), ("0.25", (0.25, 0.5, 1.0), False), ("-1", None, True)],
)
def test_the_backoff_comes_from_the_environment_unless_a_policy_is_given(
    monkeypatch: pytest.MonkeyPatch, value: str, backoff: tuple[float, ...] | None, warned: bool
) -> None:
    from cache.fetch import FetchPolicy
    from cache.sync import BACKOFF_ENV, _policy

    monkeypatch.setenv(BACKOFF_ENV, value)
    warnings: list[str] = []
    chosen = _policy(None, None, warnings)
    assert chosen.backoff == (backoff or FetchPolicy().backoff)
    assert bool(warnings) is warned
    given = FetchPolicy(backoff=(9.0,))
    assert _policy(given, None, []).backoff == (9.0,)  # an explicit policy wins
