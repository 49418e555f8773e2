"""The Textual app and its factory.

``make_app`` builds the app from its settings, clock, frame source and data dir
(posting's ``make_posting`` pattern), so tests and the demo inject their own and
nothing lives at module level. Blocking work runs in thread workers that only post
messages: the camera loop (long-lived, stop event, releases the device), checks,
and the sync (exclusive, ``exit_on_error=False``); one ``Worker.StateChanged``
handler turns a worker's failure into an on-screen notice.

Nothing in the UI is parsed as Textual markup (``markup=False``, ``Text`` cells):
server errors, file names and certificate fields are shown exactly as they are, so
``[/bold]`` cannot crash the app and ``[@click=app.quit]`` cannot run an action.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cache.store import Store
from cache.sync import SyncEvent
from keys.fields import PROVINCES
from terminal.clock import Clock
from terminal.config import Config
from terminal.freshness import DataAge, Freshness, data_age, freshness, status_lines
from terminal.scan.sources import FrameSource
from terminal.strings import Catalogue
from terminal.tui.card import VerdictCard
from terminal.tui.history import HistoryEntry, HistoryScreen
from terminal.tui.lookup import LookupScreen
from terminal.tui.messages import Checked, ScannerState, SyncFinished, SyncProgress
from terminal.tui.scan import ScanScreen
from terminal.tui.status import StatusScreen
from terminal.tui.sync import SyncScreen
from terminal.tui.themes import THEMES
from terminal.verdict import BadPlate, Checker, CheckResult

FrameSourceFactory = Callable[[], FrameSource]
MIN_SIZE = (40, 20)


class TooSmall(ModalScreen[None]):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(self.message, id="too-small", markup=False)


class VicheckApp(App[None]):
    CSS_PATH = "vicheck.tcss"
    ENABLE_COMMAND_PALETTE = False
    # Not annotated ClassVar: App declares them ``ClassVar[...] | None``, which mypy
    # reads as instance variables a ClassVar may not override.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (26, "-tall")]  # noqa: RUF012

    def __init__(
        self,
        config: Config,
        data_dir: Path,
        clock: Clock,
        catalogue: Catalogue,
        frame_source: FrameSourceFactory | None,
        shift_start: bool = True,
        card_seconds: float = 6.0,
        theme_name: str = "vicheck-dark",
    ) -> None:
        super().__init__()
        self.theme_name = theme_name
        self.config = config
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.catalogue = catalogue
        self.frame_source = frame_source
        self.shift_start = shift_start
        self.card_seconds = card_seconds
        self.store = Store.open(self.data_dir)
        self.checker = Checker(self.store, config.feeds, clock)
        self.history: list[HistoryEntry] = []
        self.officer = ""
        self.camera_name = "-"
        self.scanner_state = "ui.scan.no_camera" if frame_source is None else "ui.scan.idle"
        self.monotonic: Callable[[], float] = time.monotonic
        self._camera_stop = threading.Event()
        self.title = catalogue.text("ui.title")

    # --- strings and bindings ------------------------------------------------

    def t(self, key: str, **fields: object) -> str:
        return self.catalogue.text(key, **fields)

    @property
    def home_province(self) -> str | None:
        """Configured, or the first province a subscribed full feed covers."""
        if self.config.home_province:
            return self.config.home_province
        for state in self.store.view().feed_states(self.config.feeds):
            if state.is_full and state.scope and state.scope[0][:1] in PROVINCES:
                return state.scope[0][:1]
        return None

    def get_default_screen(self) -> ScanScreen:
        return ScanScreen(
            self.catalogue, self.data_age, self.monotonic, self.check_code, self.scanner_state
        )

    def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = self.theme_name
        t = self.t
        self.bind("f1", "show_scan", description=t("ui.key.scan"))
        self.bind("f2", "show_lookup", description=t("ui.key.lookup"))
        self.bind("f3", "show_history", description=t("ui.key.history"))
        self.bind("f5", "sync", description=t("ui.key.sync"))
        self.bind("f9", "show_status", description=t("ui.key.status"))
        # Not "back": App.action_back is Textual's own (an async action of its own).
        self.bind("escape", "close_screen", description=t("ui.key.back"))
        self.bind("ctrl+q", "quit", description=t("ui.key.quit"))
        if self.frame_source is not None:
            self.run_camera()
        if self.shift_start:
            self.push_screen(self._sync_screen(shift_start=True))

    # --- navigation -------------------------------------------------------------

    def _switch_to(self, factory: Callable[[], Screen[Any]] | None) -> None:
        """Back to the scan screen, then (unless ``factory`` is None) onto a new screen."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ScanScreen):
            self.pop_screen()
        if factory is not None:
            self.push_screen(factory())

    def action_show_scan(self) -> None:
        self._switch_to(None)

    def action_show_lookup(self) -> None:
        self._switch_to(lambda: LookupScreen(self.catalogue, self.home_province, self.check_plate))

    def action_show_history(self) -> None:
        self._switch_to(
            lambda: HistoryScreen(
                self.catalogue, self.history, lambda result: self.show_card(result, timeout=0)
            )
        )

    def action_show_status(self) -> None:
        self._switch_to(lambda: StatusScreen(self.catalogue, self.status_lines()))

    def action_sync(self) -> None:
        self._switch_to(self._sync_screen)

    def _sync_screen(self, shift_start: bool = False) -> SyncScreen:
        return SyncScreen(
            self.catalogue,
            self.config.feeds,
            self.freshness,
            self.start_sync,
            self._set_officer,
            shift_start,
        )

    def _set_officer(self, officer: str) -> None:
        self.officer = officer

    def action_close_screen(self) -> None:
        """Escape: close the screen on top, never the scan screen under them all."""
        if len(self.screen_stack) > 1:
            self.pop_screen()

    # --- checks ---------------------------------------------------------------------

    def check_code(self, text: str) -> None:
        self._check(lambda: self.checker.verify(text.strip()), "code")

    def check_plate(self, plate: str, plate_type: str | None) -> None:
        self._check(lambda: self.checker.lookup(plate, plate_type), "plate")

    @work(thread=True, group="check", exit_on_error=False)
    def _check(self, run: Callable[[], CheckResult], how: str) -> None:
        try:
            result = run()
        except BadPlate:
            return
        self.post_message(Checked(result, how, result.checked_at))

    def on_checked(self, message: Checked) -> None:
        self.history.append(HistoryEntry(message.at, message.how, message.result))
        self.show_card(message.result, self.card_seconds)

    def show_card(self, result: CheckResult, timeout: float) -> None:
        if isinstance(self.screen, VerdictCard):
            self.pop_screen()
        self.push_screen(VerdictCard(result, self.catalogue, timeout))

    # --- camera ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="camera", exit_on_error=False)
    def run_camera(self) -> None:
        """The long-lived camera loop: frames in, messages out, device released on exit."""
        from terminal.scan.pipeline import ScanPipeline
        from terminal.scan.scanner import live_sightings

        assert self.frame_source is not None
        source = self.frame_source()
        self.camera_name = source.name
        # Whatever the source, the camera is live: each code once per showing.
        running = itertools.takewhile(lambda _: not self._camera_stop.is_set(), source.frames())
        try:
            for seen in live_sightings(running, self.checker, ScanPipeline(), time.monotonic):
                if seen.frame.image is None:
                    continue
                state = "ui.scan.idle" if seen.decoded is None else "ui.scan.reading"
                self.post_message(ScannerState(state))
                if seen.result is not None:
                    self.post_message(Checked(seen.result, "code", seen.result.checked_at))
        finally:
            source.close()

    def on_scanner_state(self, message: ScannerState) -> None:
        self.scanner_state = message.state
        for screen in self.screen_stack:
            if isinstance(screen, ScanScreen):
                screen.scanner_state = message.state

    # --- sync -----------------------------------------------------------------------

    def start_sync(self) -> None:
        self._sync()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync(self) -> None:
        from cache.sync import sync

        report = sync(
            self.data_dir,
            self.config.server,
            self.config.root_key,
            self.config.feeds,
            time.time,
            listener=self._post_progress,
        )
        self.post_message(SyncFinished(report))

    def _post_progress(self, event: SyncEvent) -> None:
        """The sync's listener, on the worker's thread: a message, never a widget."""
        self.post_message(SyncProgress(event))

    def on_sync_progress(self, message: SyncProgress) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, SyncScreen):
                screen.show_progress(message.event)

    def on_sync_finished(self, message: SyncFinished) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, SyncScreen):
                screen.show_report(message.report)
        for screen in self.screen_stack:
            if isinstance(screen, ScanScreen):
                screen.refresh_age()

    # --- state shown everywhere ---------------------------------------------------

    def freshness(self) -> Freshness:
        """The cache's freshness now, for the subscribed feeds."""
        return freshness(self.store.view(), self.config.feeds, self.clock)

    def data_age(self) -> DataAge:
        """The status line: how old the data is, and whether anything is stale."""
        return data_age(self.freshness(), self.catalogue)

    def status_lines(self) -> list[str]:
        """What the status screen shows, as of now."""
        state = self.freshness()
        behind = self.clock.behind(state.clock_floor)
        return status_lines(state, self.catalogue, self.config.server, behind, self.camera_name)

    def on_resize(self, event: Resize) -> None:
        """Below 40x20 nothing can be read reliably: say so instead of a broken layout."""
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        showing = isinstance(self.screen, TooSmall)
        if small and not showing:
            self.push_screen(TooSmall(self.t("ui.too_small")))
        elif showing and not small:
            self.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure becomes a notice on screen, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{type(error).__name__}: {error}", severity="error", timeout=10, markup=False
            )
            if event.worker.group == "camera":
                self.scanner_state = "ui.scan.no_camera"

    def on_unmount(self) -> None:
        self._camera_stop.set()


def make_app(
    config: Config,
    data_dir: Path,
    clock: Clock | None = None,
    frame_source: FrameSourceFactory | None = None,
    catalogue: Catalogue | None = None,
    shift_start: bool = True,
    card_seconds: float = 6.0,
    theme_name: str = "vicheck-dark",
) -> VicheckApp:
    """Build the terminal app; every dependency is injected, none is global."""
    return VicheckApp(
        config,
        data_dir,
        clock or Clock(),
        catalogue or Catalogue(),
        frame_source,
        shift_start,
        card_seconds,
        theme_name,
    )
