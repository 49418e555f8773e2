"""Progress by bytes (issue 15): the rate and time-left helper, the sync screen's
bytes line, and ``vicheck sync``'s line on a terminal (and none off one)."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from bench.data import vehicles
from cache.fetch import FetchPolicy
from cache.sync import Stage, SyncEvent, sync
from feeds.writer import Vehicle
from terminal.clock import Clock
from terminal.config import Config
from terminal.progress import FileProgress, Rate, TtyLine, format_bytes
from terminal.strings import Catalogue
from terminal.tui.app import make_app
from terminal.tui.messages import SyncProgress
from terminal.tui.sync import SyncScreen
from tests.support import T0, World

VICHECK = str(Path(sys.executable).parent / "vicheck")
EN, ZH = Catalogue("en"), Catalogue("zh_CN")


# --- the helper ----------------------------------------------------------------


def test_bytes_are_shown_as_people_read_them() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(410_000) == "410 kB"
    assert format_bytes(2_100_000) == "2.1 MB"
    assert format_bytes(5_849_999) == "5.8 MB"
    assert format_bytes(12_000_000_000) == "12 GB"


def test_a_steady_link_gives_its_rate_and_the_time_left() -> None:
    rate = Rate()
    rate.add(0, 100.0)
    assert rate.per_second() is None and rate.seconds_left(1000) is None  # one sample
    for second in range(1, 4):
        rate.add(second * 410_000, 100.0 + second)
    assert rate.per_second() == 410_000
    assert rate.seconds_left(5_000_000) == (5_000_000 - 1_230_000) / 410_000


def test_the_rate_is_over_the_last_seconds_not_since_the_start() -> None:
    rate = Rate(window=5.0)
    for second in range(11):  # 1 MB/s for 10 s
        rate.add(second * 1_000_000, float(second))
    for second in range(1, 11):  # then 10 kB/s for 10 s
        rate.add(10_000_000 + second * 10_000, 10.0 + second)
    assert rate.per_second() == 10_000


def test_a_count_going_back_starts_the_rate_afresh() -> None:
    rate = Rate()
    rate.add(0, 0.0)
    rate.add(900_000, 1.0)
    rate.add(1_000, 2.0)  # the server ignored Range: from zero again
    assert rate.per_second() is None
    rate.add(101_000, 3.0)
    assert rate.per_second() == 100_000


def test_a_stalled_link_has_no_time_left() -> None:
    rate = Rate()
    rate.add(500, 0.0)
    rate.add(500, 1.0)
    assert rate.per_second() == 0
    assert rate.seconds_left(1000) is None


def test_the_line_in_both_languages() -> None:
    file = FileProgress()
    file.add(1_280_000, 5_800_000, 0.0)
    assert file.text(EN) == "1.3 MB / 5.8 MB"  # no rate from one sample
    file.add(2_100_000, 5_800_000, 2.0)
    assert file.text(EN) == "2.1 MB / 5.8 MB, 410 kB/s, 9 s left"
    assert file.text(ZH) == "2.1 MB / 5.8 MB，410 kB/秒，剩余9秒"
    assert file.text(EN, finished=True) == "2.1 MB / 5.8 MB"
    file.add(5_800_000, 5_800_000, 3.0)
    assert file.text(EN) == "5.8 MB / 5.8 MB"  # whole: no "0 s left"
    file.add(0, 300, 4.0)  # the next file: its own rate
    assert file.text(EN) == "0 B / 300 B"


def test_the_tty_line_is_redrawn_in_place_and_ended() -> None:
    out = io.StringIO()
    now = [0.0]
    line = TtyLine(out, EN, lambda: now[0])
    line(SyncEvent("gx", Stage.MANIFEST))
    line.end()
    assert out.getvalue() == ""  # nothing drawn, nothing to end
    line(SyncEvent("gx", Stage.DOWNLOAD, 0, 5_800_000))
    now[0] = 0.05
    line(SyncEvent("gx", Stage.DOWNLOAD, 100_000, 5_800_000))  # too soon: not redrawn
    now[0] = 2.0
    line(SyncEvent("gx", Stage.DOWNLOAD, 820_000, 5_800_000))
    line(SyncEvent("gx", Stage.APPLY, 1, 4))
    line.end()
    assert out.getvalue() == (
        "\rgx 0 B / 5.8 MB\x1b[K\rgx 820 kB / 5.8 MB, 410 kB/s, 12 s left\x1b[K\n"
    )


# --- what the sync emits -----------------------------------------------------------


def _publish_big(world: World) -> tuple[str, int]:
    """Version 2 of gx as one snapshot big enough to be cut; its name and size."""
    keep = [Vehicle("桂A12345", "02", "2027-06", "A", "K33")]
    base = [v for v in vehicles(20_000, seed=4) if v.plate != "桂A12345"] + keep
    feed = world.feeds["gx"]
    feed.publish_snapshot(base, [b"revoked-serial-1"])
    assert feed.snapshot is not None
    return feed.snapshot.path, feed.snapshot.size


def test_a_resumed_file_starts_at_the_bytes_already_held(world: World) -> None:
    name, size = _publish_big(world)
    root, url = world.pki.root.public, world.server.url
    world.server.behaviour["cut"] = {name: 50_000}
    once = FetchPolicy(attempts=1, backoff=(0.0,))
    report = sync(world.data_dir, url, root, ["gx"], lambda: T0, policy=once)
    assert not report.ok  # the file failed after 50 000 bytes, kept for the next sync
    world.server.behaviour.clear()
    events: list[SyncEvent] = []
    report = sync(world.data_dir, url, root, ["gx"], lambda: T0, events.append)
    assert report.ok, report.to_json()
    downloads = [(e.done, e.total) for e in events if e.stage == Stage.DOWNLOAD]
    assert downloads[0] == (50_000, size)
    assert downloads[-1] == (size, size)


# --- the sync screen ---------------------------------------------------------------


async def test_the_sync_screen_shows_bytes_rate_and_time_left(world: World) -> None:
    config = Config.load(world.data_dir)
    app = make_app(
        config, world.data_dir, Clock(at=T0), catalogue=EN, shift_start=False, card_seconds=0
    )
    now = [10.0]
    async with app.run_test(size=(100, 30)) as pilot:
        screen = SyncScreen(
            EN, ["gx", "hot"], app.freshness, lambda: None, lambda _: None, monotonic=lambda: now[0]
        )
        await app.push_screen(screen)
        app.post_message(SyncProgress(SyncEvent("gx", Stage.DOWNLOAD, 1_280_000, 5_800_000)))
        await pilot.pause()
        line = screen.byte_lines["gx"]
        assert str(line.render()) == "1.3 MB / 5.8 MB"
        now[0] = 12.0
        app.post_message(SyncProgress(SyncEvent("gx", Stage.DOWNLOAD, 2_100_000, 5_800_000)))
        await pilot.pause()
        assert str(line.render()) == "2.1 MB / 5.8 MB, 410 kB/s, 9 s left"
        assert screen.bars["gx"].progress == 2_100_000
        assert screen.bars["gx"].total == 5_800_000
        assert str(screen.byte_lines["hot"].render()) == ""  # nothing downloaded there
        app.post_message(SyncProgress(SyncEvent("gx", Stage.DONE)))
        await pilot.pause()
        assert str(line.render()) == "2.1 MB / 5.8 MB"


# --- vicheck sync ------------------------------------------------------------------


def test_vicheck_sync_off_a_terminal_prints_no_progress(world: World) -> None:
    world.feeds["gx"].publish_delta([], total_change=0)
    result = world.cli("--lang", "en", "sync", data_dir=world.data_dir)
    assert result.code == 0
    assert result.err == ""
    assert "\r" not in result.out and "/ " not in result.out
    assert "Feed gx: updated 1 -> 2" in result.out


def test_vicheck_sync_on_a_terminal_draws_one_line_on_stderr(world: World) -> None:
    world.feeds["gx"].publish_delta([], total_change=0)
    primary, secondary = pty.openpty()
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    try:
        proc = subprocess.run(
            [VICHECK, "--data-dir", str(world.data_dir), "--lang", "en", "sync"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        out = _read_all(primary).decode("utf-8").replace("\r\n", "\n")
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 0, (out, err)
    assert err.startswith("\rgx ") and err.endswith("\x1b[K\n"), err
    last = err.rsplit("\r", 1)[-1].removesuffix("\x1b[K\n")
    assert re.fullmatch(r"gx (\d+ B) / \1", last), last  # the whole delta, nothing left
    assert "Feed gx: updated 1 -> 2" in out


def _read_all(fd: int) -> bytes:
    """What a pty's other side wrote, until it is closed (EIO on Linux)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
