"""Text from outside the terminal is shown as text, never run as Textual markup.

A feed server, a certificate issuer, a file name or the officer's own typing can
hold ``[/bold]`` (a markup error: the app died) or ``[@click=app.quit]x[/]`` (a
clickable action). Every such value must reach the screen literally, the app must
keep running and no action may run. And if the app does crash, ``vicheck`` exits 1.
"""

from __future__ import annotations

import ast
import contextlib
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import textual.constants
from textual.widgets import DataTable, Static
from textual.worker import WorkerFailed

from feeds.writer import Vehicle
from keys.certificate import Certificate, issue_certificate
from keys.fields import normalize_plate
from terminal.clock import Clock
from terminal.config import Config
from terminal.scan.sources import open_source
from terminal.strings import Catalogue
from terminal.tui.app import VicheckApp, make_app
from terminal.tui.bigtext import BigText
from terminal.tui.card import VerdictCard
from terminal.tui.scan import ScanScreen
from terminal.tui.sync import SyncScreen
from tests.support import T0, World, run_cli

HOSTILE = ["[/bold]", "[@click=app.quit]x[/]", "[red]", "[b]bold[/b] [link=http://x]y[/link]"]
TUI_DIR = Path(__file__).resolve().parents[1] / "terminal" / "tui"


class _Canned(socketserver.BaseRequestHandler):
    """Answers any request with the server's canned bytes, then hangs up."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(self.server.answer)  # type: ignore[attr-defined]


@contextlib.contextmanager
def canned_server(answer: bytes) -> Iterator[str]:
    """A real TCP server on 127.0.0.1 that speaks broken HTTP; yields its URL."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Canned)
    server.daemon_threads = True
    server.answer = answer  # type: ignore[attr-defined]
    with server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def _app(world: World, config: Config | None = None, **kw: object) -> VicheckApp:
    kw.setdefault("shift_start", False)
    kw.setdefault("card_seconds", 0)
    return make_app(  # type: ignore[arg-type]
        config or Config.load(world.data_dir),
        world.data_dir,
        Clock(at=T0),
        catalogue=Catalogue("en"),
        **kw,
    )


def _shown(app: VicheckApp, selector: str) -> str:
    """What a widget shows: a large text's string, or a line's words."""
    widget = app.screen.query_one(selector)
    return widget.text if isinstance(widget, BigText) else str(widget.render())


def _spy_actions(app: VicheckApp) -> list[str]:
    """Records any action markup would run (quit, bell) instead of running it."""
    ran: list[str] = []
    app.action_quit = lambda: ran.append("quit")  # type: ignore[method-assign]
    app.action_bell = lambda: ran.append("bell")  # type: ignore[method-assign]
    return ran


async def _click_text(app: VicheckApp, pilot: object, selector: str, text: str) -> None:
    """Click every cell where ``text`` is first shown in the widget: a link made of
    it would fire."""
    widget = app.screen.query_one(selector, Static)
    lines = str(widget.render()).splitlines()
    row = next(i for i, line in enumerate(lines) if text in line)
    column = lines[row].index(text)
    region = widget.content_region
    for dx in range(len(text)):
        await pilot.click(offset=(region.x + column + dx, region.y + row))  # type: ignore[attr-defined]


async def _toasts(app: VicheckApp, pilot: object) -> list[str]:
    """The notices on screen, once the app has mounted them (a few refreshes)."""
    for _ in range(100):
        if toasts := [str(toast.render()) for toast in app.screen.query("Toast")]:
            return toasts
        await pilot.pause()  # type: ignore[attr-defined]
    return []


def _still_running(app: VicheckApp, ran: list[str]) -> None:
    assert app.is_running and app.return_code is None
    assert ran == []


async def _shift_start_sync(app: VicheckApp, pilot: object) -> str:
    await pilot.press("1", "enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, SyncScreen)
    return _shown(app, "#sync-summary")


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(
    "template",
    [b"HTTP/1.1 200 OK\r\n%s\r\n\r\n", b"HTTP/1.1 2x0 %s\r\n\r\n"],
    ids=["header-line", "status-line"],
)
async def test_server_error_text_is_shown_literally(
    world: World, hostile: str, template: bytes
) -> None:
    """The reported bug: a header line ``[/bold]`` killed the shift-start screen."""
    with canned_server(template % hostile.encode()) as url:
        config = Config.load(world.data_dir)._replace(server=url)
        app = _app(world, config, shift_start=True)
        async with app.run_test(size=(160, 40)) as pilot:
            ran = _spy_actions(app)
            summary = await _shift_start_sync(app, pilot)
            assert hostile in summary
            assert "trust list" in summary.lower()
            await _click_text(app, pilot, "#sync-summary", hostile)
            _still_running(app, ran)


async def test_manifest_feed_id_is_shown_literally(world: World) -> None:
    """A signed manifest naming another feed: its id comes back in the error."""
    hostile = "[@click=app.quit]x[/]"
    world.feeds["gx"].publish_delta([], total_change=0)
    world.feeds["gx"].write(feed=hostile)
    app = _app(world, shift_start=True)
    async with app.run_test(size=(160, 40)) as pilot:
        ran = _spy_actions(app)
        summary = await _shift_start_sync(app, pilot)
        assert f"manifest is for feed {hostile!r}" in summary
        await _click_text(app, pilot, "#sync-summary", hostile)
        _still_running(app, ran)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_camera_error_notice_is_shown_literally(
    world: World, tmp_path: Path, hostile: str
) -> None:
    """A camera that cannot be opened: its file name comes back in the notice."""
    missing = str(tmp_path / f"cam{hostile}")
    app = _app(world, frame_source=lambda: open_source(missing))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        ran = _spy_actions(app)
        # The camera worker fails (that is the case under test) and its error becomes
        # the notice; waiting on a worker that failed raises WorkerFailed, or not, by
        # whether it failed before the wait began.
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
        toasts = await _toasts(app, pilot)
        assert any(f"no such source: {missing}" in toast for toast in toasts), toasts
        _still_running(app, ran)


async def test_camera_name_on_the_status_screen_is_literal(world: World, tmp_path: Path) -> None:
    """A directory of pictures used as the camera: its path is on the status screen."""
    folder = tmp_path / "[@click=app.quit]x[" / "] [" / "bold]"  # .../x[/] [/bold]
    folder.mkdir(parents=True)
    app = _app(world, frame_source=lambda: open_source(str(folder)))
    async with app.run_test(size=(200, 40)) as pilot:
        ran = _spy_actions(app)
        await app.workers.wait_for_complete()
        await pilot.press("f9")
        await pilot.pause()
        assert f"{folder}" in _shown(app, "#status-lines")
        await _click_text(app, pilot, "#status-lines", "x[/] [/bold]")
        _still_running(app, ran)


async def test_server_url_on_the_status_screen_is_literal(world: World) -> None:
    hostile = "http://[::1]:9/[@click=app.quit]x[/][/bold]"
    config = Config.load(world.data_dir)._replace(server=hostile)
    app = _app(world, config)
    async with app.run_test(size=(160, 40)) as pilot:
        ran = _spy_actions(app)
        await pilot.press("f9")
        await pilot.pause()
        assert hostile in _shown(app, "#status-lines")
        _still_running(app, ran)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_typed_plate_hint_is_literal(world: World, hostile: str) -> None:
    """What the officer types is echoed, normalised, in the hint: as text."""
    app = _app(world)
    async with app.run_test(size=(100, 30)) as pilot:
        ran = _spy_actions(app)
        await pilot.press("f2", "1")
        app.screen.query_one("#plate").insert_text_at_cursor(hostile)  # type: ignore[attr-defined]
        await pilot.pause()
        assert _shown(app, "#plate-hint").startswith(f"桂{normalize_plate(hostile)}  Not a")
        _still_running(app, ran)


async def test_hostile_certificate_and_feed_fields(world: World) -> None:
    """Issuer and vehicle types are free text in a signed certificate and a feed:
    a scan of such a certificate, its card and the history all keep working."""
    hostile = "[@click=app.quit]x[/] [/bold]"
    world.feeds["gx"].publish_snapshot([Vehicle("桂A12345", "02", "2027-06", "A", hostile)])
    assert world.sync().code == 0
    cert = Certificate(
        issuer=hostile,
        issued_at=T0 - 86400,
        serial=b"serial-hostile",
        plate="桂A12345",
        plate_type="02",
        valid_through="2027-06",
        vehicle_type=hostile,
        basis=3,
    )
    text = issue_certificate(cert, world.pki.gui.signing_key)
    app = _app(world)
    async with app.run_test(size=(100, 30)) as pilot:
        ran = _spy_actions(app)
        app.check_code(text)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictCard)
        assert app.history[-1].result.certificate.issuer == hostile  # type: ignore[union-attr]
        assert _shown(app, "#verdict-word") == "VALID"
        await pilot.press("escape", "f3")
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 1
        _still_running(app, ran)


def test_every_tui_widget_is_built_without_markup() -> None:
    """A guard for new code: every Static/Label/notify in the UI turns markup off,
    so a value added later cannot reintroduce the bug."""
    missing = []
    for path in sorted(TUI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("Static", "Label", "notify"):
                continue
            flags = {k.arg: k.value for k in node.keywords}
            off = flags.get("markup")
            if not (isinstance(off, ast.Constant) and off.value is False):
                missing.append(f"{path.name}:{node.lineno} {name}")
    assert missing == []


# --- a crash must not exit 0 --------------------------------------------------------

HEADLESS = "textual.drivers.headless_driver:HeadlessDriver"


def _boom(self: ScanScreen) -> None:
    raise RuntimeError("the scan screen broke")


def test_vicheck_exits_1_when_the_app_crashes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC 7: 1 for anything unexpected. Textual sets ``return_code`` to 1 on an
    unhandled exception; ``vicheck`` must pass it on instead of exiting 0."""
    monkeypatch.setattr(textual.constants, "DRIVER", HEADLESS)
    monkeypatch.setattr(ScanScreen, "on_mount", _boom)
    result = run_cli("--no-shift-start", data_dir=world.data_dir)
    assert result.code == 1


def test_vicheck_exits_0_when_the_officer_quits(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(textual.constants, "DRIVER", HEADLESS)
    monkeypatch.setattr(ScanScreen, "on_mount", lambda self: self.app.exit())
    result = run_cli("--no-shift-start", data_dir=world.data_dir)
    assert result.code == 0
