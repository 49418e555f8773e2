"""Sign-in: officer number and PIN at the shift's start, and the PIN again when the
terminal has locked itself after minutes without input.

``SignInScreen`` is handed the one thing it needs, ``attempt(number, pin)``
(audit.officers.Officers.sign_in bound to the terminal's clock), and dismisses
itself with the officer number once a PIN fits; until then nothing closes it
(Escape included). The check runs on a worker thread: argon2 takes a noticeable
fraction of a second by design, and the screen must keep drawing meanwhile.

``IdleLock`` is the small controller that decides when to lock: the host calls
``touch`` on every input and ``due`` from a timer; ``install_idle_lock`` does both
for a Textual app. The shift (officer, history) is the host's and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from audit.officers import Attempt, is_officer_number
from terminal.strings import Catalogue

Try = Callable[[str, str], Attempt]
"""``attempt(number, pin)``: one sign-in attempt, counted by the persisted lock."""
DEFAULT_IDLE_MINUTES = 10.0


class SignInScreen(ModalScreen[str]):
    """The officer number and PIN; ``officer`` fixed (the idle lock) asks the PIN
    only. Dismissed with the number that signed in."""

    BINDINGS: ClassVar = [Binding("escape", "stay", show=False, priority=True)]
    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen #signin-body {
        width: 48; max-width: 100%; height: auto;
        padding: 1 2; border: thick $accent; background: $surface;
    }
    SignInScreen #signin-title { text-style: bold; margin-bottom: 1; }
    SignInScreen #signin-message { color: $error; margin-top: 1; }
    """

    class Tried(Message):
        def __init__(self, number: str, attempt: Attempt) -> None:
            super().__init__()
            self.number = number
            self.attempt = attempt

    def __init__(
        self,
        catalogue: Catalogue,
        attempt: Try,
        officer: str | None = None,
        idle_minutes: float | None = None,
    ) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.attempt = attempt
        self.officer = officer
        self.idle_minutes = idle_minutes

    def compose(self) -> ComposeResult:
        t = self.catalogue.text
        with Vertical(id="signin-body"):
            if self.officer is None:
                yield Static(t("ui.signin.title"), id="signin-title", markup=False)
                yield Input(placeholder=t("ui.signin.officer"), id="signin-officer", max_length=16)
            else:
                minutes = f"{self.idle_minutes or DEFAULT_IDLE_MINUTES:g}"
                yield Static(t("ui.lock.title"), id="signin-title", markup=False)
                prompt = t("ui.lock.prompt", minutes=minutes, officer=self.officer)
                yield Static(prompt, id="signin-prompt", markup=False)
            yield Input(
                placeholder=t("ui.signin.pin"), id="signin-pin", password=True, max_length=12
            )
            yield Static("", id="signin-message", markup=False)

    def on_mount(self) -> None:
        first = "#signin-officer" if self.officer is None else "#signin-pin"
        self.query_one(first, Input).focus()

    def action_stay(self) -> None:
        """Escape does not close sign-in: only a PIN that fits does."""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        number = self.officer or self.query_one("#signin-officer", Input).value.strip()
        pin = self.query_one("#signin-pin", Input).value
        if event.input.id == "signin-officer":
            self.query_one("#signin-pin", Input).focus()
            return
        if not is_officer_number(number):
            self.query_one("#signin-officer", Input).focus()
            return
        self.query_one("#signin-pin", Input).disabled = True
        self._try(number, pin)

    @work(thread=True, exclusive=True, group="signin", exit_on_error=False)
    def _try(self, number: str, pin: str) -> None:
        self.post_message(self.Tried(number, self.attempt(number, pin)))

    def on_sign_in_screen_tried(self, message: SignInScreen.Tried) -> None:
        if message.attempt.ok:
            self.dismiss(message.number)
            return
        t = self.catalogue.text
        pin = self.query_one("#signin-pin", Input)
        pin.value, pin.disabled = "", False
        pin.focus()
        text = (
            t("ui.signin.locked", seconds=message.attempt.locked_for)
            if message.attempt.locked_for
            else t("ui.signin.wrong", left=message.attempt.tries_left)
        )
        self.query_one("#signin-message", Static).update(text)


class IdleLock:
    """Locks after ``minutes`` without input. ``monotonic`` is the host's clock of
    elapsed time (swapped in tests); ``on_lock`` shows the sign-in screen."""

    def __init__(
        self,
        minutes: float,
        monotonic: Callable[[], float],
        on_lock: Callable[[], None],
    ) -> None:
        self.seconds = minutes * 60
        self.monotonic = monotonic
        self.on_lock = on_lock
        self.locked = False
        self._last = monotonic()

    def touch(self) -> None:
        """Input seen (a key, a click): the idle time starts again."""
        if not self.locked:
            self._last = self.monotonic()

    def due(self) -> bool:
        """Lock now if the terminal has been idle long enough; True when it did."""
        if self.locked or self.seconds <= 0 or self.monotonic() - self._last < self.seconds:
            return False
        self.locked = True
        self.on_lock()
        return True

    def unlocked(self) -> None:
        self.locked = False
        self._last = self.monotonic()


def install_idle_lock(
    app: App[object],
    catalogue: Catalogue,
    attempt: Try,
    officer: Callable[[], str],
    minutes: float = DEFAULT_IDLE_MINUTES,
    monotonic: Callable[[], float] | None = None,
    every: float = 5.0,
) -> IdleLock:
    """Give ``app`` an idle lock: every input resets it (the host's ``on_event``
    must call ``lock.touch()``, see ``touched``); a timer checks it ``every``
    seconds; once due, ``SignInScreen`` for ``officer()`` goes on top until the PIN
    fits. The host keeps its shift; while ``lock.locked`` it should refuse to
    navigate away (its own screens' actions), as ``SignInScreen`` refuses Escape."""
    import time

    def show() -> None:
        screen = SignInScreen(catalogue, attempt, officer() or None, minutes)
        app.push_screen(screen, lambda _number: lock.unlocked())

    lock = IdleLock(minutes, monotonic or time.monotonic, show)
    app.set_interval(every, lock.due)
    return lock


def touched(lock: IdleLock, event: events.Event) -> None:
    """For the host's ``on_event``: keys, clicks and mouse moves count as input."""
    if isinstance(event, (events.Key, events.MouseDown, events.MouseMove)):
        lock.touch()
