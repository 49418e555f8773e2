"""The officer's terminal, driven by Textual's pilot (and once through tmux)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, ProgressBar, Static

from terminal.clock import Clock
from terminal.config import Config
from terminal.strings import Catalogue
from terminal.synthetic.camera import VirtualCamera
from terminal.tui.app import VicheckApp, make_app
from terminal.tui.card import VerdictCard
from terminal.tui.lookup import LookupScreen
from terminal.tui.scan import ScanScreen
from tests.support import DAY, T0, World


def _app(world: World, lang: str = "en", at: float = T0, **kw: object) -> VicheckApp:
    config = Config.load(world.data_dir)
    kw.setdefault("shift_start", False)
    kw.setdefault("card_seconds", 0)
    return make_app(config, world.data_dir, Clock(at=at), catalogue=Catalogue(lang), **kw)  # type: ignore[arg-type]


def _text(app: VicheckApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))  # type: ignore[attr-defined]


async def _settle(app: VicheckApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_scan_engine_keystrokes_give_a_verdict_card(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await _type(pilot, world.pki.certificate())
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, VerdictCard)
        assert _text(app, "#verdict-word") == "VALID  VALID"
        assert _text(app, "#plate") == "桂 A 1 2 3 4 5"
        assert "2027-06" in _text(app, "#validity")
        await pilot.press("x")  # any key returns to scanning
        assert isinstance(app.screen, ScanScreen)
        assert [e.result.verdict.name for e in app.history] == ["VALID"]


async def test_camera_worker_scans_and_alerts(world: World) -> None:
    stolen = world.pki.certificate("桂A00001", serial=b"serial-0009")
    camera = VirtualCamera([stolen], fps=50, hold=0.2, gap=0.2, loop=False)
    app = _app(world, lang="zh_CN", frame_source=lambda: camera)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 20
        while not isinstance(app.screen, VerdictCard) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert isinstance(app.screen, VerdictCard)
        await pilot.pause()  # let the card compose
        assert _text(app, "#verdict-word") == "告警  ALERT"
        assert "被盗抢" in _text(app, "#reasons")
        await _settle(app, pilot)
        assert app.camera_name == "virtual camera"


async def test_plate_lookup_by_keys_only(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2")
        assert isinstance(app.screen, LookupScreen)
        await pilot.press("1")  # the home province (桂, from the gx feed) comes first
        await _type(pilot, "a00001")
        assert "桂A00001" in _text(app, "#plate-hint")
        await pilot.press("enter")  # to the plate type
        await pilot.press("enter")  # no type: look it up
        await _settle(app, pilot)
        assert isinstance(app.screen, VerdictCard)
        assert _text(app, "#verdict-word") == "ALERT  ALERT"
        await pilot.press("escape")
        await pilot.press("f3")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1


async def test_lookup_rejects_an_invalid_plate(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2")
        await _type(pilot, "桂I0")
        assert "Not a valid plate" in _text(app, "#plate-hint")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, LookupScreen)
        assert app.history == []


async def test_stale_cache_turns_status_amber_and_valid_into_check(world: World) -> None:
    app = _app(world, at=T0 + 10 * DAY)
    async with app.run_test(size=(40, 20)) as pilot:
        age = app.screen.query_one("#data-age", Static)
        assert age.has_class("stale")
        app.check_code(world.pki.certificate())  # the keystroke path is tested above
        await _settle(app, pilot)
        assert _text(app, "#verdict-word") == "CHECK  CHECK"


async def test_shift_start_syncs_with_progress(world: World) -> None:
    feed = world.feeds["gx"]
    feed.publish_delta([], total_change=0)
    app = _app(world, shift_start=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await _type(pilot, "A1234")
        await pilot.press("enter")
        await _settle(app, pilot)
        await pilot.pause(0.2)
        assert app.officer == "A1234"
        summary = _text(app, "#sync-summary")
        assert "Sync complete" in summary and "gx: updated v2" in summary
        bars = app.screen.query(ProgressBar)
        assert all(bar.percentage == 1 for bar in bars)
        await pilot.press("escape")
        assert isinstance(app.screen, ScanScreen)


async def test_status_screen(world: World) -> None:
    app = _app(world, lang="zh_CN")
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f9")
        text = _text(app, "#status-lines")
        assert "数据源 gx：版本 1" in text and "信任列表：版本 1" in text


SNAP_SIZES = [(40, 20), (100, 30)]


@pytest.mark.parametrize("size", SNAP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", ["scan", "card", "lookup", "history", "status"])
def test_snapshots(
    world: World, snap_compare: Callable[..., bool], size: tuple[int, int], lang: str, screen: str
) -> None:
    # A fixed server URL: the snapshot must not depend on the test server's port.
    config = Config.load(world.data_dir)._replace(server="http://127.0.0.1:8045")
    app = make_app(
        config,
        world.data_dir,
        Clock(at=T0),
        catalogue=Catalogue(lang),
        shift_start=False,
        card_seconds=0,
    )
    stolen = world.pki.certificate("桂A00001")

    async def prepare(pilot: object) -> None:
        if screen in ("card", "history"):
            app.check_code(stolen)
            await app.workers.wait_for_complete()
            await pilot.pause()  # type: ignore[attr-defined]
        keys = {"lookup": ["f2", "1", "a", "1", "2"], "history": ["escape", "f3"]}
        keys["status"] = ["f9"]
        for key in keys.get(screen, []):
            await pilot.press(key)  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]

    assert snap_compare(app, terminal_size=size, run_before=prepare)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_end_to_end_in_tmux(world: World, tmp_path: Path) -> None:
    """The real command in a real terminal: tmux on its own socket, 40x20."""
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    vicheck = str(Path(sys.executable).parent / "vicheck")
    # COLUMNS/LINES from the test runner would override the real terminal size.
    command = (
        f"env -u COLUMNS -u LINES VICHECK_DATA_DIR={world.data_dir}"
        f" {vicheck} --lang en --no-shift-start"
    )
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "e2e", "-x", "40", "-y", "20", command], check=True
    )
    try:

        def screen() -> str:
            shown = subprocess.run([*tmux, "capture-pane", "-p", "-t", "e2e"], capture_output=True)
            return shown.stdout.decode("utf-8", "replace")

        def wait_for(text: str) -> str:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if text in (shown := screen()):
                    return shown
                time.sleep(0.1)
            raise AssertionError(f"{text!r} never appeared:\n{screen()}")

        def keys(*names: str) -> None:
            subprocess.run([*tmux, "send-keys", "-t", "e2e", *names], check=True)

        wait_for("No camera")
        keys("F2")
        wait_for("Province")
        keys("1", "A12345", "Enter")
        wait_for("桂A12345  Valid plate")
        time.sleep(0.3)
        keys("Enter")
        shown = wait_for("Compare the plate")
        # The real clock is months past the world's feeds: a valid vehicle, stale cache.
        assert "CHECK" in shown and "桂 A 1 2 3 4 5" in shown
        keys("C-q")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


async def test_too_small_screen_says_so(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(30, 12)) as pilot:
        await pilot.pause()
        assert "too small" in _text(app, "#too-small")
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        assert isinstance(app.screen, ScanScreen)
