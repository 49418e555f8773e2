"""The officer's terminal, driven by Textual's pilot (and once through tmux)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.widgets import DataTable, ProgressBar, Static

from terminal.clock import Clock
from terminal.config import Config
from terminal.plates.crosscheck import cross_check
from terminal.plates.reader import PlateCandidate
from terminal.strings import Catalogue
from terminal.synthetic.camera import VirtualCamera
from terminal.tui.app import VicheckApp, make_app
from terminal.tui.bigtext import BigText
from terminal.tui.card import VerdictCard
from terminal.tui.lookup import LookupScreen
from terminal.tui.platereading import car_plate
from terminal.tui.scan import ScanScreen
from tests.support import DAY, T0, World


def _app(world: World, lang: str = "en", at: float = T0, **kw: object) -> VicheckApp:
    config = Config.load(world.data_dir)
    kw.setdefault("shift_start", False)
    kw.setdefault("card_seconds", 0)
    return make_app(config, world.data_dir, Clock(at=at), catalogue=Catalogue(lang), **kw)  # type: ignore[arg-type]


def _text(app: VicheckApp, selector: str) -> str:
    """What a widget shows: a large text's string, or a line's words."""
    widget = app.screen.query_one(selector)
    return widget.text if isinstance(widget, BigText) else str(widget.render())


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))  # type: ignore[attr-defined]


async def _settle(app: VicheckApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_scan_engine_keystrokes_give_a_verdict_card(world: World) -> None:
    app = _app(world)
    # The app's key clock held still: a scan engine's keys, however slowly the
    # pilot delivers them on a loaded machine.
    app.monotonic = lambda: 0.0
    async with app.run_test(size=(40, 20)) as pilot:
        await _type(pilot, world.pki.certificate())
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, VerdictCard)
        assert _text(app, "#verdict-word") == "VALID"
        assert _text(app, "#plate") == "桂A12345"
        assert app.screen.query_one("#plate", BigText).is_large  # the whole plate, at 40x20
        assert app.screen.query_one("#verdict-word", BigText).is_large
        assert "2027-06" in _text(app, "#details")
        await pilot.press("x")  # a stray key is not a dismissal
        assert isinstance(app.screen, VerdictCard)
        app.monotonic = lambda: 1.0  # a person's pause, then Space
        await pilot.press("space")
        assert isinstance(app.screen, ScanScreen)
        assert [e.result.verdict.name for e in app.history] == ["VALID"]


async def test_camera_worker_scans_and_alerts(world: World) -> None:
    stolen = world.pki.certificate("桂A00001", serial=b"serial-0009")
    camera = VirtualCamera([stolen], fps=50, hold=0.2, gap=0.2, loop=False)
    # No plate read on the card: this camera shows codes only (tests/test_tui_plates.py).
    app = _app(world, lang="zh_CN", frame_source=lambda: camera, plate_on_card=False)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 20
        while not isinstance(app.screen, VerdictCard) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert isinstance(app.screen, VerdictCard)
        await pilot.pause()  # let the card compose
        assert _text(app, "#verdict-word") == "告警"
        assert _text(app, "#verdict-en") == "ALERT"
        assert "被盗抢" in _text(app, "#reasons")
        await _settle(app, pilot)
        assert app.camera_name == "virtual camera"
        # The camera's frames reached the scan screen's preview, to aim with.
        assert app.preview is not None and app.preview.frames_shown > 0


async def test_plate_lookup_by_keys_only(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2")
        assert isinstance(app.screen, LookupScreen)
        await pilot.press("1")  # the home province (桂, from the gx feed) comes first
        await _type(pilot, "a00001")
        assert "桂A00001" in _text(app, "#plate-hint")
        await pilot.press("enter")  # one Enter: the plate type is optional
        await _settle(app, pilot)
        assert isinstance(app.screen, VerdictCard)
        assert _text(app, "#verdict-word") == "ALERT"
        await pilot.press("escape")
        await pilot.press("f3")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1


async def test_the_optional_plate_type_is_a_tab_away(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2", "1")
        await _type(pilot, "a12345")
        await pilot.press("tab")
        await _type(pilot, "52")  # a type 桂A12345 does not have: no record
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, VerdictCard)
        assert app.history[-1].result.plate_type == "52"
        assert app.history[-1].result.vehicles == ()


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
        assert _text(app, "#verdict-word") == "CHECK"


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
@pytest.mark.parametrize(
    "screen", ["scan", "home", "card", "plate-card", "mismatch", "lookup", "history", "status"]
)
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
        if screen in ("card", "history", "home"):
            app.officer = "A1234"
            app.check_code(stolen)
            await app.workers.wait_for_complete()
            await pilot.pause()  # type: ignore[attr-defined]
        keys = {"lookup": ["f2", "1", "a", "1", "2"], "history": ["escape", "f3"]}
        keys["status"] = ["f9"]
        keys["home"] = ["escape"]
        keys["plate-card"] = ["f2", "1", *"a12345", "enter"]
        for key in keys.get(screen, []):
            await pilot.press(key)  # type: ignore[attr-defined]
        if screen == "mismatch":  # as a plate read of another car leaves the card
            app.check_code(world.pki.certificate())
            await app.workers.wait_for_complete()
            await pilot.pause()  # type: ignore[attr-defined]
            card = app.screen
            assert isinstance(card, VerdictCard)
            read = [PlateCandidate("粤A89311", 0.97, (0, 0, 10, 3))]
            card.show_car(car_plate("桂A12345", read), cross_check(card.result, read))
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]

    assert snap_compare(app, terminal_size=size, run_before=prepare)


async def test_too_small_screen_says_so(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(30, 12)) as pilot:
        await pilot.pause()
        assert "too small" in _text(app, "#too-small")
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        assert isinstance(app.screen, ScanScreen)
