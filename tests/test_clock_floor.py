"""SPEC 4.3's clock floor after a far-future signed time: the administrator's reset
(``vicheck init --reset-clock-floor``), and the central side refusing to sign such
a time in the first place.

These checks run on the real clock (no ``--at``: the floor only applies to it), so
every time here is relative to ``time.time()``, never to the tests' fixed T0.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from pathlib import Path

import pytest

from central import cli as central_cli
from feeds.writer import Vehicle
from keys.fields import month_of
from terminal.render import iso
from tests.support import DAY, T0, YEAR, World, at, run_cli

FUTURE = 10 * YEAR


def _floor(world: World) -> int:
    conn = sqlite3.connect(world.data_dir / "vicheck.db")
    try:
        return conn.execute("SELECT clock_floor FROM terminal").fetchone()[0]
    finally:
        conn.close()


def _log(world: World) -> list[dict]:
    text = (world.data_dir / "logs" / "sync.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


class RealTimeWorld:
    """A world whose keys, feed and certificate are good as of the real clock."""

    def __init__(self, tmp: Path) -> None:
        self.now = int(time.time())
        self.world = World(tmp)
        pki = self.world.pki
        span = {"not_before": self.now - 2 * YEAR, "not_after": self.now + 20 * YEAR}
        self.entries = [
            pki.entry(pki.gui, "cert", ["桂"], **span),
            pki.entry(pki.feed, "feed", ["*"], **span),
        ]
        self.month = month_of(self.now + YEAR)
        self.world.feed("gx").publish_snapshot(
            [Vehicle("桂A12345", "02", self.month, "A", "K33")],
            generated_at=self.now - 3600,
            expires_at=self.now + 2 * DAY,
        )

    def publish_trust_list(self, version: int, issued_at: int) -> None:
        self.world.publish_trust_list(
            version=version,
            entries=self.entries,
            issued_at=issued_at,
            expires_at=issued_at + 30 * DAY,
        )

    def verify(self) -> int:
        text = self.world.pki.certificate(valid_through=self.month, issued_at=self.now - DAY)
        return run_cli("verify", "--json", text, data_dir=self.world.data_dir).code


@pytest.fixture
def poisoned(tmp_path: Path):
    """A trust list signed ten years ahead, then a correct one, both applied."""
    rt = RealTimeWorld(tmp_path)
    try:
        rt.publish_trust_list(1, rt.now + FUTURE)
        assert rt.world.init().code == 0
        assert rt.world.sync().code == 0
        rt.publish_trust_list(2, rt.now - 60)
        assert rt.world.sync().json["trust_list"]["status"] == "updated"
        yield rt
    finally:
        rt.world.close()


def test_reset_brings_the_floor_back_to_what_is_held(poisoned: RealTimeWorld) -> None:
    world = poisoned.world
    assert _floor(world) == poisoned.now + FUTURE
    assert poisoned.verify() == 4  # the floor in 2036: everything expired
    assert world.sync().code == 0 and _floor(world) == poisoned.now + FUTURE  # no way back

    result = run_cli("init", "--reset-clock-floor", "--json", data_dir=world.data_dir)
    assert result.code == 0, result.out + result.err
    held = poisoned.now - 60  # the trust list held (the feed's generated_at is older)
    old, new = iso(poisoned.now + FUTURE), iso(held)
    assert result.json == {"clock_floor": {"old": old, "new": new, "clock_behind": False}}
    assert _floor(world) == held
    assert _log(world)[-1] == {
        "at": _log(world)[-1]["at"],
        "event": "clock_floor_reset",
        "old_floor": poisoned.now + FUTURE,
        "new_floor": held,
        "held": held,
    }
    assert abs(_log(world)[-1]["at"] - time.time()) < 600
    assert poisoned.verify() == 0
    assert world.sync().code == 0 and _floor(world) == held  # nothing new: it stays


def test_reset_prints_old_and_new_floor(poisoned: RealTimeWorld) -> None:
    result = run_cli(
        "--lang", "en", "init", "--reset-clock-floor", data_dir=poisoned.world.data_dir
    )
    assert result.code == 0
    old, new = iso(poisoned.now + FUTURE), iso(poisoned.now - 60)
    assert result.out.strip() == f"Clock floor: {old} -> {new}"


def test_reset_keeps_the_floor_at_what_is_held_even_when_it_is_ahead(tmp_path: Path) -> None:
    """Only the far-future trust list is held: SPEC 4.3 forbids a "now" earlier than
    it, so the floor stays there (no capping at the device clock, which is the very
    clock the floor distrusts) and the command warns that the clock is behind. The
    way out is newer correct signed data, then the reset."""
    rt = RealTimeWorld(tmp_path)
    try:
        rt.publish_trust_list(1, rt.now + FUTURE)
        assert rt.world.init().code == 0 and rt.world.sync().code == 0
        result = run_cli("init", "--reset-clock-floor", "--json", data_dir=rt.world.data_dir)
        assert result.code == 0
        assert _floor(rt.world) == rt.now + FUTURE
        assert result.json["clock_floor"]["clock_behind"] is True
        assert _log(rt.world)[-1]["held"] == rt.now + FUTURE
    finally:
        rt.world.close()


def test_reset_on_a_dead_battery_clock_keeps_the_floor_at_the_data_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synced with the clock right; then the RTC battery dies and the device clock
    reads years back. The reset must not bring the floor down to that clock (an
    expired certificate would read VALID): it stays at the newest signed time held,
    and both outputs tell the administrator to fix the clock."""
    rt = RealTimeWorld(tmp_path)
    try:
        rt.publish_trust_list(1, rt.now - 60)
        assert rt.world.init().code == 0 and rt.world.sync().code == 0
        held = rt.now - 60
        assert _floor(rt.world) == held
        dead = rt.now - 5 * YEAR
        monkeypatch.setattr(time, "time", lambda: float(dead))
        as_json = run_cli("init", "--reset-clock-floor", "--json", data_dir=rt.world.data_dir)
        as_text = run_cli("--lang", "en", "init", "--reset-clock-floor", data_dir=rt.world.data_dir)
        monkeypatch.undo()
        assert (as_json.code, as_text.code) == (0, 0)
        assert _floor(rt.world) == held
        assert as_json.json == {
            "clock_floor": {"old": iso(held), "new": iso(held), "clock_behind": True}
        }
        assert as_text.out.splitlines() == [
            f"Clock floor: {iso(held)} -> {iso(held)}",
            "Warning: the device clock is behind the clock floor; using the floor",
        ]
        assert _log(rt.world)[-1]["event"] == "clock_floor_reset"
        assert _log(rt.world)[-1]["new_floor"] == held
    finally:
        rt.world.close()


def test_reset_never_raises_the_floor(tmp_path: Path) -> None:
    rt = RealTimeWorld(tmp_path)
    try:
        assert rt.world.init().code == 0  # nothing synced: floor 0, nothing held
        result = run_cli("init", "--reset-clock-floor", "--json", data_dir=rt.world.data_dir)
        assert result.code == 0
        assert result.json["clock_floor"] == {"old": iso(0), "new": iso(0), "clock_behind": False}
        assert _floor(rt.world) == 0
    finally:
        rt.world.close()


def test_reset_needs_an_initialised_data_dir(tmp_path: Path) -> None:
    result = run_cli("init", "--reset-clock-floor", "--json", data_dir=tmp_path / "none")
    assert (result.code, result.json["error"]["code"]) == (2, "NOT_INITIALISED")
    assert not (tmp_path / "none").exists()


def test_reset_waits_for_no_sync_and_interleaves_with_none(poisoned: RealTimeWorld) -> None:
    """A sync holding the data dir's lock: the reset is refused, the floor untouched."""
    world = poisoned.world
    with open(world.data_dir / "sync.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli("init", "--reset-clock-floor", "--json", data_dir=world.data_dir)
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
    assert "another sync" in result.json["error"]["message"]
    assert _floor(world) == poisoned.now + FUTURE


def test_reset_takes_no_other_init_argument(poisoned: RealTimeWorld) -> None:
    world = poisoned.world
    args = ["init", "--reset-clock-floor", "--json", "--server", world.server.url]
    result = run_cli(*args, data_dir=world.data_dir)
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
    assert _floor(world) == poisoned.now + FUTURE  # refused: nothing done


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["--server", "http://127.0.0.1:1", "--feed", "gx"], "--root-key"),
        (["--root-key", "00" * 32, "--feed", "gx"], "--server"),
        (["--root-key", "00" * 32, "--server", "http://127.0.0.1:1"], "--feed"),
        ([], "--root-key, --server, --feed"),
    ],
)
def test_plain_init_still_needs_all_its_arguments(
    tmp_path: Path, args: list[str], missing: str
) -> None:
    result = run_cli("init", "--json", *args, data_dir=tmp_path / "t")
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
    assert result.json["error"]["message"].endswith(f"required: {missing}")
    assert not (tmp_path / "t").exists()


# --- the central side refuses to sign a time ahead of its clock ---------------------


def _central(home: Path, t: float, *args: str) -> int:
    return central_cli.main(["--home", str(home), "--at", at(t), *args])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert _central(home, T0, "init", "--province", "桂") == 0
    assert _central(home, T0, "trustlist") == 0
    generate = ["registry", "generate", "--province", "桂", "--vehicles", "50", "--seed", "1"]
    assert _central(home, T0, *generate, "--as-of", "2026-06") == 0
    return home


def test_central_refuses_a_trust_list_dated_ahead_of_its_clock(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published = home / "public" / "trustlist.cose"
    held = published.read_bytes()
    capsys.readouterr()
    assert _central(home, time.time() + FUTURE, "trustlist") == 2
    assert "past this machine's clock" in capsys.readouterr().err
    assert _central(home, time.time() + 3600, "trustlist") == 2
    assert published.read_bytes() == held
    assert _central(home, time.time() + 120, "trustlist") == 0  # within the margin
    assert published.read_bytes() != held


def test_central_refuses_manifests_dated_ahead_of_its_clock(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish = ["publish", "--feed", "gx", "--scope", "桂"]
    capsys.readouterr()
    assert _central(home, time.time() + 3600, *publish) == 2
    assert "past this machine's clock" in capsys.readouterr().err
    assert not (home / "public" / "feeds" / "gx" / "manifest.cose").exists()
    assert _central(home, T0 + DAY, *publish) == 0  # the past stays free
    assert _central(home, time.time() + 120, *publish) == 0
