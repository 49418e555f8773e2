"""Officers and sign-in (issue 13): PINs kept only as argon2id hashes, five wrong
PINs lock sign-in for a growing, persisted delay, and the terminal locks itself
after minutes without input, keeping the shift. The screens are driven by the
pilot on a minimal host app; the PINs are checked by the real hasher."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.events import Event
from textual.pilot import Pilot
from textual.widgets import Input, Static

from audit.officers import FIRST_LOCK, MAX_FAILURES, Attempt, OfficerError, Officers
from audit.store import AUDIT_DB
from terminal.strings import Catalogue
from terminal.tui.signin import IdleLock, SignInScreen, install_idle_lock, touched
from tests.support import T0, World, run_cli

EN = Catalogue("en")
PIN = "482913"


class Wall:
    """The terminal's wall clock for the persisted lock, moved by the test."""

    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def officers(tmp_path: Path) -> Officers:
    found = Officers.open(tmp_path)
    found.add("010203", PIN, T0)
    return found


# --- the officer list ------------------------------------------------------------------


def test_officer_commands_keep_only_an_argon2id_hash(world: World) -> None:
    added = run_cli("officer", "add", "010203", "--pin-stdin", data_dir=world.data_dir,
                    stdin=f"{PIN}\n".encode())  # fmt: skip
    assert added.code == 0, added.err
    again = run_cli("officer", "add", "010203", "--pin-stdin", data_dir=world.data_dir,
                    stdin=b"1111\n")  # fmt: skip
    assert again.code == 2 and "exists" in again.err
    short = run_cli("officer", "add", "7", "--pin-stdin", data_dir=world.data_dir, stdin=b"12\n")
    assert short.code == 2 and "PIN" in short.err
    listed = run_cli("officer", "list", "--json", data_dir=world.data_dir).json
    assert [o["officer"] for o in listed["officers"]] == ["010203"]
    raw = (world.data_dir / AUDIT_DB).read_bytes()
    for suffix in ("-wal",):
        wal = world.data_dir / (AUDIT_DB + suffix)
        raw += wal.read_bytes() if wal.exists() else b""
    assert PIN.encode() not in raw and b"$argon2id$" in raw
    assert run_cli("officer", "remove", "010203", data_dir=world.data_dir).code == 0
    assert run_cli("officer", "remove", "010203", data_dir=world.data_dir).code == 2
    assert "no officers" in run_cli("officer", "list", "--lang", "en", data_dir=world.data_dir).out


def test_a_pin_is_never_asked_without_a_terminal(world: World) -> None:
    asked = run_cli("officer", "add", "010203", data_dir=world.data_dir, stdin=b"1234\n")
    assert asked.code == 2 and "--pin-stdin" in asked.err


def test_officer_numbers_are_checked(officers: Officers) -> None:
    for bad in ("", "has space", "x" * 17, "警号"):
        with pytest.raises(OfficerError):
            officers.add(bad, PIN, T0)


# --- the lock ----------------------------------------------------------------------------


def test_five_wrong_pins_lock_for_a_growing_delay_that_outlives_a_restart(
    tmp_path: Path, officers: Officers
) -> None:
    now = T0
    for left in range(MAX_FAILURES - 1, 0, -1):
        assert officers.sign_in("010203", "000000", now) == Attempt(False, left)
    assert officers.sign_in("999999", PIN, now) == Attempt(False, 0, FIRST_LOCK)  # unknown: counts
    assert officers.sign_in("010203", PIN, now + 1) == Attempt(False, 0, FIRST_LOCK - 1)
    officers.close()
    reopened = Officers.open(tmp_path)  # the terminal restarted: still locked
    assert reopened.locked_for(now + 10) == FIRST_LOCK - 10
    now += FIRST_LOCK
    for _ in range(MAX_FAILURES):
        last = reopened.sign_in("010203", "000000", now)
    assert last == Attempt(False, 0, 2 * FIRST_LOCK)  # the second lock is twice as long
    now += 2 * FIRST_LOCK
    assert reopened.sign_in("010203", PIN, now).ok
    assert reopened.sign_in("010203", "000000", now) == Attempt(False, MAX_FAILURES - 1)


def test_a_clock_set_back_does_not_stretch_the_lock(officers: Officers) -> None:
    for _ in range(MAX_FAILURES):
        officers.sign_in("010203", "000000", T0)
    assert officers.locked_for(T0 - 86_400) == FIRST_LOCK
    assert officers.locked_for(T0 - 86_400 + FIRST_LOCK) == 0


# --- the screens ---------------------------------------------------------------------------


class Host(App[None]):
    """What the terminal's app is to these screens: a shift's officer, a clock."""

    def __init__(self, officers: Officers, wall: Wall) -> None:
        super().__init__()
        self.officers = officers
        self.wall = wall
        self.officer = ""
        self.elapsed = 0.0
        self.lock: IdleLock | None = None
        self.signed_in: list[str | None] = []

    def attempt(self, number: str, pin: str) -> Attempt:
        return self.officers.sign_in(number, pin, self.wall())

    def compose(self) -> ComposeResult:
        yield Static("the scan screen", id="home")

    async def on_event(self, event: Event) -> None:
        if self.lock is not None:
            touched(self.lock, event)
        await super().on_event(event)

    def start_shift(self) -> None:
        def signed(number: str | None) -> None:
            self.signed_in.append(number)
            self.officer = number or ""

        self.push_screen(SignInScreen(EN, self.attempt), signed)


async def _enter(pilot: Pilot[None], app: Host, *fields: str) -> None:
    """Type the officer number and PIN (or, on the idle lock, the PIN alone), each
    followed by Enter, and wait for the PIN's check."""
    boxes = ("#signin-officer", "#signin-pin")[-len(fields) :]
    for text, box in zip(fields, boxes, strict=True):
        app.screen.query_one(box, Input).value = text
        await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


def _message(app: Host) -> str:
    return str(app.screen.query_one("#signin-message", Static).render())


async def test_shift_sign_in_takes_the_officer_and_the_right_pin(officers: Officers) -> None:
    app = Host(officers, Wall())
    async with app.run_test() as pilot:
        app.start_shift()
        await pilot.pause()
        await _enter(pilot, app, "010203", "000000")
        assert isinstance(app.screen, SignInScreen)
        assert "4 tries" in _message(app)
        await pilot.press("escape")
        assert isinstance(app.screen, SignInScreen)  # nothing but the PIN closes it
        await _enter(pilot, app, "010203", PIN)
        assert not isinstance(app.screen, SignInScreen)
        assert app.signed_in == ["010203"] and app.officer == "010203"


async def test_the_screen_says_when_sign_in_is_locked(officers: Officers) -> None:
    wall = Wall()
    app = Host(officers, wall)
    async with app.run_test() as pilot:
        app.start_shift()
        await pilot.pause()
        for _ in range(MAX_FAILURES):
            await _enter(pilot, app, "010203", "000000")
        assert f"try again in {FIRST_LOCK} s" in _message(app)
        await _enter(pilot, app, "010203", PIN)  # the right PIN, but locked
        assert isinstance(app.screen, SignInScreen) and "try again in" in _message(app)
        wall.now += FIRST_LOCK
        await _enter(pilot, app, "010203", PIN)
        assert app.signed_in == ["010203"]


async def test_idle_lock_asks_the_pin_again_and_keeps_the_shift(officers: Officers) -> None:
    app = Host(officers, Wall())
    async with app.run_test() as pilot:
        app.officer = "010203"
        app.lock = install_idle_lock(
            app, EN, app.attempt, lambda: app.officer, minutes=10,
            monotonic=lambda: app.elapsed, every=3600,
        )  # fmt: skip
        app.elapsed = 9 * 60
        assert not app.lock.due()
        await pilot.press("x")  # input: the idle time starts again
        app.elapsed = 18 * 60
        assert not app.lock.due()
        app.elapsed = 19 * 60 + 1
        assert app.lock.due() and app.lock.locked
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)
        prompt = str(app.screen.query_one("#signin-prompt", Static).render())
        assert "010203" in prompt and "10 min" in prompt
        assert not app.screen.query("#signin-officer")  # the shift's officer is kept
        await _enter(pilot, app, "000000")
        assert app.lock.locked and isinstance(app.screen, SignInScreen)
        await _enter(pilot, app, PIN)
        assert not app.lock.locked and not isinstance(app.screen, SignInScreen)
        assert app.officer == "010203"
        assert not app.lock.due()  # unlocking starts the idle time again
