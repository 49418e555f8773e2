"""Cancelling a sync (issue 15): the officer quits the terminal in the middle of a
shift-start sync over a link that trickles or has gone silent.

``sync(..., cancel=event)`` set from another thread ends the sync soon after:
between chunks, in the middle of a read a silent server would hold for its whole
time-out, and during an apply, which rolls back. Each unfinished step fails as
cancelled and what was downloaded stays for the next sync. Then the real
``vicheck`` terminal in tmux, quit with Ctrl+Q during such a sync.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cache.fetch import CANCELLED, FetchPolicy
from cache.store import Store
from cache.sync import LOG_NAME, Stage, SyncEvent, SyncReport, sync
from terminal.config import Config
from tests.support import T0, World
from tests.support.sync import SNAPSHOT2, publish_good_v2
from tests.test_sync_resume import _last_log, _partials, _publish_big, _starts

FAST = FetchPolicy(backoff=(0.0,))
SILENCE = 30.0
"""How long the server stays silent: the read time-out, so only a cancel that wakes
the read ends the sync before it."""
BOUND = 10.0
"""A generous bound on a cancelled sync's end, well under ``SILENCE``."""


def _sync(world: World, cancel: threading.Event, listener: object = None) -> SyncReport:
    extra = {} if listener is None else {"listener": listener}
    return sync(
        world.data_dir,
        world.server.url,
        world.pki.root.public,
        ["gx", "hot"],
        lambda: T0,
        policy=FAST,
        cancel=cancel,
        **extra,  # type: ignore[arg-type]
    )


def _assert_cancelled(report: SyncReport) -> None:
    """Each feed failed as cancelled: the one under way and the one never begun."""
    assert [(f.feed, f.status, f.error) for f in report.feeds] == [
        ("gx", "failed", CANCELLED),
        ("hot", "failed", CANCELLED),
    ]


def _gx_version(world: World) -> int:
    store = Store.open(world.data_dir)
    try:
        [state] = store.feed_states(["gx"])
        return state.version
    finally:
        store.close()


def _wait_for(condition: object, what: str) -> None:
    until = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < until, what
        time.sleep(0.01)


@pytest.mark.parametrize("fault", ["trickle", "hang"])
def test_a_cancel_wakes_a_read_held_by_a_silent_server(world: World, fault: str) -> None:
    """``trickle``: one byte of the body, then silence; ``hang``: no answer at all."""
    publish_good_v2(world)
    world.server.behaviour[fault] = {SNAPSHOT2: SILENCE}  # type: ignore[literal-required]
    cancel = threading.Event()
    reports: list[SyncReport] = []
    got: list[int] = []

    def listener(event: SyncEvent) -> None:
        if event.stage == Stage.DOWNLOAD:
            got.append(event.done)

    worker = threading.Thread(target=lambda: reports.append(_sync(world, cancel, listener)))
    worker.start()
    try:
        if fault == "trickle":  # the byte written (buffered: the file shows it once closed)
            _wait_for(lambda: got and got[-1] == 1, "the first byte never came")
        else:
            _wait_for(lambda: world.server.requests[-1].endswith(SNAPSHOT2), "never asked")
        cancel.set()
        worker.join(BOUND)
        assert not worker.is_alive(), "the cancelled sync is still blocked in a read"
    finally:
        cancel.set()
        worker.join()
    [report] = reports
    assert report.trust_list.status == "current"
    _assert_cancelled(report)
    assert _last_log(world)["feeds"][0]["error"] == CANCELLED
    assert sum(_partials(world).values()) == (1 if fault == "trickle" else 0)
    world.server.behaviour.clear()
    assert world.sync().code == 0
    assert _gx_version(world) == 2


def test_a_cancel_between_chunks_keeps_the_partial_for_the_next_sync(world: World) -> None:
    name, size = _publish_big(world)
    world.server.behaviour.update(chunk=4096, delay_per_chunk=0.001)
    cancel = threading.Event()

    def listener(event: SyncEvent) -> None:
        if event.stage == Stage.DOWNLOAD and event.done >= 3 * 4096:
            cancel.set()  # the officer quits as the download goes on

    _assert_cancelled(_sync(world, cancel, listener))
    [kept] = _partials(world).values()
    assert 3 * 4096 <= kept < size
    world.server.behaviour.clear()
    world.server.ranges.clear()
    assert world.sync().code == 0
    assert _starts(world, name) == [kept]


def test_a_cancel_during_an_apply_rolls_it_back_and_keeps_the_file(world: World) -> None:
    name, size = _publish_big(world)
    cancel = threading.Event()

    def listener(event: SyncEvent) -> None:
        if event.stage == Stage.APPLY:
            cancel.set()

    _assert_cancelled(_sync(world, cancel, listener))
    assert _gx_version(world) == 1  # the new slot was dropped, the old one serves
    assert list(_partials(world).values()) == [size]  # whole: nothing to download again
    world.server.ranges.clear()
    result = world.sync()
    assert result.code == 0, result.out
    assert _starts(world, name) == []  # no request for it at all: its hash decided
    assert _gx_version(world) == 2
    assert world.lookup("桂A12345").code == 0


# --- the real terminal ------------------------------------------------------------


TMUX = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@TMUX
def test_quitting_the_terminal_during_a_sync_cancels_it_and_leaves_the_cache_whole(
    world: World, tmp_path: Path
) -> None:
    name, _ = _publish_big(world)
    world.server.behaviour["trickle"] = {name: SILENCE}  # a byte, then silence
    began = lambda: world.server.sent.get(name, 0) >= 1  # noqa: E731
    took = _quit_during_sync(world, tmp_path, began)
    print(f"quit during a sync: the process ended {took:.2f} s after Ctrl+Q (cancelled)")
    # The sync was cancelled, not cut off: its report reached the log.
    assert _last_log(world)["feeds"][0]["error"] == CANCELLED
    world.server.behaviour.clear()
    _assert_whole(world)


@TMUX
def test_a_sync_that_a_cancel_cannot_wake_is_cut_off_and_the_cache_stays_whole(
    world: World, tmp_path: Path
) -> None:
    """A connection that never opens (a server whose accept queue is full) has no
    socket yet to shut down: the terminal's backstop ends the process instead."""
    config = Config.load(world.data_dir)
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())  # the queue is full: the next connect hangs
        stuck = config._replace(server=f"http://127.0.0.1:{listener.getsockname()[1]}")
        stuck.save(world.data_dir)
        logged = len(_log_lines(world))
        took = _quit_during_sync(world, tmp_path, lambda: True)
    print(f"quit during a stuck sync: the process ended {took:.2f} s after Ctrl+Q (cut off)")
    assert len(_log_lines(world)) == logged  # no report: the sync never finished
    config.save(world.data_dir)
    _assert_whole(world)


def _quit_during_sync(world: World, tmp_path: Path, began: Callable[[], bool]) -> float:
    """Start the real terminal in tmux, F5 to sync, Ctrl+Q once ``began``; the seconds
    from Ctrl+Q until the process had ended (at most 3, generous: the bound is 2)."""
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    vicheck = str(Path(sys.executable).parent / "vicheck")
    pid_file = tmp_path / "pid"
    command = (
        f"echo $$ > {pid_file}; exec env -u COLUMNS -u LINES VICHECK_DATA_DIR={world.data_dir}"
        f" {vicheck} --lang en --no-shift-start"
    )
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "quit", "-x", "80", "-y", "24", command], check=True
    )
    try:

        def screen() -> str:
            shown = subprocess.run([*tmux, "capture-pane", "-p", "-t", "quit"], capture_output=True)
            return shown.stdout.decode("utf-8", "replace")

        _wait_for(lambda: "No camera" in screen(), f"the terminal never came up:\n{screen()}")
        pid = int(pid_file.read_text())
        subprocess.run([*tmux, "send-keys", "-t", "quit", "F5"], check=True)
        _wait_for(lambda: "Syncing" in screen(), f"no sync began:\n{screen()}")
        _wait_for(began, "the sync never reached the server")
        time.sleep(0.2)  # the sync now waits on the server
        quit_at = time.monotonic()
        subprocess.run([*tmux, "send-keys", "-t", "quit", "C-q"], check=True)
        until = quit_at + 3.0
        while _alive(pid):
            assert time.monotonic() < until, f"still running 3 s after Ctrl+Q:\n{screen()}"
            time.sleep(0.01)
        return time.monotonic() - quit_at
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def _assert_whole(world: World) -> None:
    """The cache after the terminal ended: a sync works, and so do the checks."""
    result = world.sync()
    assert result.code == 0, result.out
    assert world.lookup("桂A12345").code == 0
    assert world.verify(world.pki.certificate("桂A12345")).code == 0


def _log_lines(world: World) -> list[str]:
    return (world.data_dir / LOG_NAME).read_text(encoding="utf-8").splitlines()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for tmux to reap it has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
