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
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events, work
from textual.app import App, ComposeResult
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from cache.store import Store
from cache.sync import SyncEvent
from keys.fields import PROVINCES
from terminal.audit_record import Recorder
from terminal.clock import Clock
from terminal.config import Config
from terminal.freshness import DataAge, Freshness, data_age, freshness, status_lines
from terminal.strings import Catalogue
from terminal.tui.card import VerdictCard
from terminal.tui.history import HistoryEntry, HistoryScreen, ShiftSummary, shift_summary
from terminal.tui.lookup import LookupScreen
from terminal.tui.messages import Checked, ScannerState, SyncFinished, SyncProgress
from terminal.tui.platereading import PlateCamera, PlatesRead, car_plate, plates_of
from terminal.tui.scan import ScanScreen
from terminal.tui.scankeys import TYPED_SCAN_MIN, ScanKeys
from terminal.tui.signin import IdleLock, SignInScreen, install_idle_lock, touched
from terminal.tui.status import StatusScreen
from terminal.tui.sync import SyncScreen
from terminal.tui.themes import THEMES
from terminal.verdict import BadPlate, Checker, CheckResult

if TYPE_CHECKING:  # cv2 and numpy: imported only with a camera
    from audit.officers import Attempt
    from terminal.scan.codes import InView
    from terminal.scan.sources import FrameSource
    from terminal.tui.preview import CameraPreview

FrameSourceFactory = Callable[[], "FrameSource"]
MIN_SIZE = (40, 20)
PLATE_RETRY_SECONDS = 1.0
"""A card's own plate read that saw nothing clear tries again after this long: the
officer is still turning the camera to the car, and both cores are shared."""
PLATE_TRIES = 5
"""A card stops looking by itself after this many reads (each ~40 % of a core for a
fraction of a second, bench/tui.py); F4 still asks for one."""


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
        plate_on_card: bool = True,
    ) -> None:
        super().__init__()
        self.plate_on_card = plate_on_card
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
        # Looked up at each key, so a test or the bench may swap ``monotonic``.
        self.scan_keys = ScanKeys(lambda: self.monotonic())
        self._typed_before: list[tuple[Input, str, int]] = []
        self.idle_lock: IdleLock | None = None
        self.recorder = Recorder(self.data_dir, catalogue, self._record_failed)
        self._camera_stop = threading.Event()
        self._sync_cancel = threading.Event()  # set on quit: a sync under way ends in time
        self.preview = self._make_preview() if frame_source is not None else None
        self.plate_camera = PlateCamera(config.home_province)
        self.title = catalogue.text("ui.title")
        # Registered before the stylesheet is read: it uses the themes' own variables.
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = theme_name

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
            self.catalogue,
            self.data_age,
            self.clock.now,
            self.scanner_state,
            self.shift,
            self.preview,
        )

    def _make_preview(self) -> CameraPreview:
        """The camera's picture for the scan screen; imported only with a camera (it
        brings cv2 and numpy, which a start without one need not wait for)."""
        from terminal.tui.preview import CameraPreview

        return CameraPreview(self.t("ui.scan.idle"), id="camera-preview")

    @property
    def shift(self) -> ShiftSummary:
        return shift_summary(self.history, self.officer)

    def _show_shift(self) -> None:
        shift = self.shift
        for screen in self.screen_stack:
            if isinstance(screen, ScanScreen):
                screen.shift = shift

    def on_mount(self) -> None:
        t = self.t
        self.bind("f1", "show_scan", description=t("ui.key.scan"))
        self.bind("f2", "show_lookup", description=t("ui.key.lookup"))
        self.bind("f3", "show_history", description=t("ui.key.history"))
        self.bind("f4", "read_plate", description=t("ui.key.read_plate"))
        self.bind("f5", "sync", description=t("ui.key.sync"))
        self.bind("f9", "show_status", description=t("ui.key.status"))
        # Not "back": App.action_back is Textual's own (an async action of its own).
        # Esc and Ctrl+Q are not in the footer: at 40 columns it holds five keys, and
        # the card's own line says Esc.
        self.bind("escape", "close_screen", description=t("ui.key.back"), show=False)
        self.bind("ctrl+q", "quit", description=t("ui.key.quit"), show=False)
        if self.frame_source is not None:
            self.run_camera()
        signing_in = self._officers_registered()
        if self.shift_start:
            # With sign-in, the officer number comes from it and the sync runs meanwhile.
            self.push_screen(self._sync_screen(shift_start=not signing_in))
        if signing_in:
            self._start_sign_in()

    # --- sign-in and the idle lock (terminal/tui/signin.py) ----------------------------

    def _officers_registered(self) -> bool:
        """Sign-in is asked for once an officer is registered on this terminal
        (``vicheck officer add``); before, the shift start asks the number only."""
        from audit.store import db_path

        if not Path(db_path(self.data_dir)).exists():
            return False
        from audit.officers import Officers
        from audit.store import AuditLogError

        try:
            with Officers.open(self.data_dir) as officers:
                return bool(officers.all())
        except (AuditLogError, sqlite3.Error) as exc:
            # A log this vicheck cannot read cannot check a PIN either: say so, and
            # let the officer work (the checks are answered all the same).
            self.notify(f"{type(exc).__name__}: {exc}", severity="error", markup=False)
            return False

    def _start_sign_in(self) -> None:
        self.push_screen(SignInScreen(self.catalogue, self._attempt), self._signed_in)
        # install_idle_lock takes App[object]; App is invariant in its result type.
        self.idle_lock = install_idle_lock(
            cast("App[object]", self),
            self.catalogue,
            self._attempt,
            lambda: self.officer,
            monotonic=lambda: self.monotonic(),
        )

    def _attempt(self, number: str, pin: str) -> Attempt:
        """One sign-in attempt; run on the sign-in screen's worker thread, so the
        officers' database is opened there."""
        from audit.officers import Officers

        with Officers.open(self.data_dir) as officers:
            return officers.sign_in(number, pin, self.clock.now())

    def _signed_in(self, number: str | None) -> None:
        if number:
            self._set_officer(number)

    # --- navigation -------------------------------------------------------------

    @property
    def held(self) -> bool:
        """A modal screen is on top (sign-in, the idle lock, "too small"): it owns the
        keys; no card covers it and no function key leaves it."""
        return isinstance(self.screen, ModalScreen)

    def _switch_to(self, factory: Callable[[], Screen[Any]] | None) -> None:
        """Back to the scan screen, then (unless ``factory`` is None) onto a new screen."""
        if self.held:
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ScanScreen):
            self.pop_screen()
        if factory is not None:
            self.push_screen(factory())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer holds five keys at 40 columns: not the key of the screen already
        shown (a card's F1 is the card's own, unlisted: Esc says it), and F4 only where
        a plate read lands (the scan screen, the lookup, a card). A key hidden here does
        nothing on that screen, which is all it would have done there anyway."""
        screen = self.screen
        here = {
            "show_scan": ScanScreen,
            "show_lookup": LookupScreen,
            "show_history": HistoryScreen,
            "show_status": StatusScreen,
        }.get(action)
        if here is not None and isinstance(screen, here):
            return False
        if action == "read_plate":
            return isinstance(screen, (ScanScreen, LookupScreen, VerdictCard))
        return True

    def action_show_scan(self) -> None:
        self._switch_to(None)

    def action_show_lookup(self) -> None:
        self._switch_to(lambda: LookupScreen(self.catalogue, self.home_province, self.check_plate))

    def action_show_history(self) -> None:
        self._switch_to(
            lambda: HistoryScreen(
                self.catalogue,
                self.history,
                self._show_entry,
            )
        )

    def _show_entry(self, entry: HistoryEntry) -> None:
        """A check from the history, on its card until dismissed."""
        self.show_card(entry.result, entry.how, timeout=0)

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
        self._show_shift()

    def action_close_screen(self) -> None:
        """Escape: close the screen on top, never the scan screen under them all."""
        if len(self.screen_stack) > 1:
            self.pop_screen()

    # --- checks ---------------------------------------------------------------------

    def check_code(self, text: str) -> None:
        """A scan engine's code (the app's scan recogniser sends them here)."""
        self._check(lambda: self.checker.verify(text.strip()), "code", "wedge")

    def check_plate(self, plate: str, plate_type: str | None) -> None:
        self._check(lambda: self.checker.lookup(plate, plate_type), "plate", "lookup")

    @work(thread=True, group="check", exit_on_error=False)
    def _check(self, run: Callable[[], CheckResult], how: str, recorded_as: str) -> None:
        try:
            result = run()
        except BadPlate:
            return
        similar = self._similar(result) if how == "plate" else ()
        self._answer(result, how, recorded_as, similar=similar)

    def _similar(self, result: CheckResult) -> tuple[str, ...]:
        """On the check's thread, for a lookup with no record: the cached plates one
        commonly confused character away (issue 16), so a misread is one key away."""
        if result.vehicles or not result.plate:
            return ()
        from terminal.plates.confusion import similar_plates

        return tuple(similar_plates(self.store, self.config.feeds, result.plate))

    def _answer(
        self,
        result: CheckResult,
        how: str,
        recorded_as: str,
        notices: tuple[str, ...] = (),
        similar: tuple[str, ...] = (),
    ) -> None:
        """On a worker's thread: the check goes into the audit log (committed before
        it is shown, docs/audit.md; a failure to record is said, never changes the
        answer), then to the screen."""
        self.recorder.record(result, recorded_as, self.checker, self.officer or None)
        self.post_message(Checked(result, how, result.checked_at, notices, similar, recorded_as))

    def _record_failed(self, text: str) -> None:
        """The recorder's warning, from a worker's thread: a notice on screen."""
        self.call_from_thread(self.notify, text, severity="error", timeout=10, markup=False)

    def on_checked(self, message: Checked) -> None:
        self.history.append(HistoryEntry(message.at, message.how, message.result))
        self._show_shift()
        for screen in self.screen_stack:  # seen when the card goes
            if isinstance(screen, LookupScreen) and message.how == "plate":
                screen.offer_similar(list(message.similar))
        if message.source == "camera" and isinstance(self.screen, LookupScreen):
            # The officer is typing a plate: a card would take the keys and the next
            # Enter would only close it. Said, kept in the history (F3 shows it).
            self.notify(self._camera_notice(message.result), timeout=6, markup=False)
            return
        if not self.held:
            card = self.show_card(message.result, message.how, self.card_seconds, message.notices)
            if self.plate_on_card and self.frame_source is not None and message.how == "code":
                self._read_plate_for(card, quiet=True)

    def _camera_notice(self, result: CheckResult) -> str:
        from terminal.render import verdict_words

        words = verdict_words(result.verdict, self.catalogue)
        return self.t("ui.scan.seen_while_typing", verdict=words, plate=result.plate or "-")

    def show_card(
        self, result: CheckResult, how: str, timeout: float, notices: tuple[str, ...] = ()
    ) -> VerdictCard:
        """The card on top; a card already there is replaced, never stacked."""
        if isinstance(self.screen, VerdictCard):
            self.pop_screen()
        card = VerdictCard(
            result,
            how,
            self.catalogue,
            self.data_age(),
            timeout,
            notices,
            can_read_plate=self.frame_source is not None,
        )
        self.push_screen(card)
        return card

    # --- the car's plate, from the camera (terminal/tui/platereading.py) ---------------

    def action_read_plate(self) -> None:
        """F4: the car's plate from the camera's newest frame: onto the card of a
        certificate (compared with its plate), else into the plate lookup."""
        if self.frame_source is None:
            self.notify(self.t("ui.plate.no_camera"), severity="warning", markup=False)
            return
        screen = self.screen
        if isinstance(screen, VerdictCard) and screen.result.certificate is not None:
            self._read_plate_for(screen, quiet=False)
            return
        if not isinstance(screen, LookupScreen):
            self.action_show_lookup()
        self._read_plate_for(None, quiet=False)

    def _read_plate_for(self, card: VerdictCard | None, quiet: bool) -> None:
        """Start a read of the newest frame, unless one is in flight (at most one)."""
        frame = self.plate_camera.latest()
        if frame is None:
            if not quiet:
                self.notify(self.t("ui.plate.no_frame"), severity="warning", markup=False)
            return
        if not self.plate_camera.begin():
            return
        if not quiet:
            self.notify(self.t("ui.plate.reading"), timeout=2, markup=False)
        self._read_plates(frame, card, quiet)

    @work(thread=True, group="plates", exit_on_error=False)
    def _read_plates(self, frame: Any, card: VerdictCard | None, quiet: bool) -> None:
        try:
            candidates = self.plate_camera.read(frame)
        # The reader is OpenCV and an OCR engine on whatever the camera gives: a
        # failure is "no plate read" (said in words when the officer asked, logged
        # as the worker's error otherwise), never a raw library message on a card.
        except Exception as exc:
            if not quiet:
                message = self.t("ui.plate.failed", detail=type(exc).__name__)
                self.call_from_thread(self.notify, message, severity="warning", markup=False)
            return
        finally:
            self.plate_camera.end()
        self.post_message(PlatesRead(candidates, card, quiet))

    def on_plates_read(self, message: PlatesRead) -> None:
        if message.for_card is not None:
            self._compare_on_card(message)
            return
        plates = plates_of(message.candidates)
        if not plates:
            self.notify(self.t("ui.plate.none"), severity="warning", markup=False)
        for screen in self.screen_stack:
            if isinstance(screen, LookupScreen) and plates:
                screen.offer_read(plates)

    def _compare_on_card(self, message: PlatesRead) -> None:
        """The card turns CHECK (PLATE_MISMATCH, both plates large) when the car
        clearly shows another plate, or says the plates match. A card the officer did
        not ask for keeps looking, a read at a time, until the camera sees clearly."""
        from terminal.plates.crosscheck import cross_check

        card = message.for_card
        if not isinstance(card, VerdictCard) or not card.is_current:
            return
        cert = card.result.certificate
        assert cert is not None  # only a certificate's card asks
        car = car_plate(cert.plate, message.candidates)
        if message.quiet and car.matches is None:
            card.plate_tries += 1
            if card.plate_tries < PLATE_TRIES:
                self.set_timer(PLATE_RETRY_SECONDS, lambda: self._read_plate_for(card, quiet=True))
            if car.plate is None:
                return
        before = card.result
        card.show_car(car, cross_check(before, message.candidates))
        if card.result is not before:  # the verdict changed: the log says so too
            self._record_car_check(card.result._replace(checked_at=self.clock.now()))
        self.history[:] = [  # in place: the history screen holds this list
            e._replace(result=card.result) if e.result is before else e for e in self.history
        ]
        self._show_shift()

    @work(thread=True, group="audit", exit_on_error=False)
    def _record_car_check(self, result: CheckResult) -> None:
        """The card's new answer after the car's plate was read, appended to the audit
        log off the UI thread (a committed SQLite write)."""
        self.recorder.record(result, "car", self.checker, self.officer or None)

    # --- scan-engine keystrokes, on every screen --------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Every key is looked at before a screen sees it (issue 10: a scan that hit
        a card lost its first character and came out INVALID)."""
        if self.idle_lock is not None:
            touched(self.idle_lock, event)
        if isinstance(event, events.Key) and not event.is_forwarded and self._scan_key(event):
            return
        await super().on_event(event)

    def _scan_key(self, event: events.Key) -> bool:
        """Feed one key to the scan recogniser; True when it is used up here.

        On the scan screen and a card nothing else takes characters, so they are kept
        here; on the scan screen any burst ended by Enter is a check, elsewhere only a
        long one (a person pressing a few keys and Enter on a card dismisses it, and
        gets no INVALID for it). A Space or Enter that is not part of a burst is left
        to the card. Where a person types, characters go on to the field as usual, and
        after a scan the fields get back what they held before it began."""
        if self.held:
            return False
        keys = self.scan_keys
        scanning = isinstance(self.screen, ScanScreen)
        home = scanning or isinstance(self.screen, VerdictCard)
        if event.key == "enter":
            text = keys.enter()
            if text is None or (not scanning and len(text) < TYPED_SCAN_MIN):
                return False
            if not home:
                before = self._typed_before
                self._after_keys_handled(lambda: self._restore_typed(before))
            self._typed_before = []
            self.check_code(text)
            return True
        if not (event.is_printable and event.character):
            return False
        if event.key == "space" and not keys.in_burst():
            return False  # a person's Space: the card's to take
        if keys.character(event.character) and not home:
            self._typed_before = [
                (field, field.value, field.cursor_position) for field in self.screen.query(Input)
            ]
        return home

    def _after_keys_handled(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every key already handed on has been handled: keys go
        to the focused widget and bubble up to the screen, each node in turn, so a
        callback queued along the same path runs after them."""
        focused = self.focused
        path = [*focused.ancestors_with_self] if focused is not None else [self.screen]
        nodes = [node for node in path if isinstance(node, Widget)]

        def step(index: int) -> None:
            if index == len(nodes):
                callback()
            else:
                nodes[index].call_later(step, index + 1)

        step(0)

    @staticmethod
    def _restore_typed(before: list[tuple[Input, str, int]]) -> None:
        """Take a scan's characters back out of the fields they landed in."""
        for field, value, cursor in before:
            field.value = value
            field.cursor_position = cursor

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
                if self.preview is not None:  # the frame already read, never a second
                    outline = seen.decoded.outline if seen.decoded is not None else None
                    self.preview.show(seen.frame.image, outline)
                self.plate_camera.keep(seen.frame.image)  # and the plate reader's
                state = "ui.scan.idle" if seen.decoded is None else "ui.scan.reading"
                self.post_message(ScannerState(state))
                if seen.result is not None:
                    self._answer(seen.result, "code", "camera", self._notices(seen.in_view))
        finally:
            source.close()

    def _notices(self, in_view: InView | None) -> tuple[str, ...]:
        """What the frame showed besides the verdict (issue 11), in words."""
        from terminal.scan.codes import notices

        return tuple(notices(in_view, self.catalogue)) if in_view is not None else ()

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
            cancel=self._sync_cancel,
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
        self._sync_cancel.set()
        self.recorder.close()


def make_app(
    config: Config,
    data_dir: Path,
    clock: Clock | None = None,
    frame_source: FrameSourceFactory | None = None,
    catalogue: Catalogue | None = None,
    shift_start: bool = True,
    card_seconds: float = 6.0,
    theme_name: str = "vicheck-dark",
    plate_on_card: bool = True,
) -> VicheckApp:
    """Build the terminal app; every dependency is injected, none is global.
    ``plate_on_card``: with a camera, a certificate's card reads the car's plate by
    itself (F4 asks for a read either way)."""
    return VicheckApp(
        config,
        data_dir,
        clock or Clock(),
        catalogue or Catalogue(),
        frame_source,
        shift_start,
        card_seconds,
        theme_name,
        plate_on_card,
    )
