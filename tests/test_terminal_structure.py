"""One copy of each piece of the terminal's logic (issue 12): the validity shown,
the sync report's words, the ``--at`` time and usage errors of both commands, the
per-frame scanning both the command and the camera worker use, and screens that
are handed their data instead of reaching into the app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from base.cli import BadTime, Parser, UsageError, parse_iso_time
from cache.store import Store
from central import cli as central_cli
from terminal.clock import Clock
from terminal.config import Config
from terminal.render import result_text, sync_report_lines
from terminal.scan.pipeline import ScanPipeline
from terminal.scan.scanner import live_sightings
from terminal.scan.sources import Frame
from terminal.strings import Catalogue
from terminal.synthetic.scenes import FRAME_VGA, make_frame
from terminal.tui.app import VicheckApp, make_app
from terminal.tui.scan import ScanScreen
from terminal.verdict import Checker
from tests.support import T0, World, at, run_cli

EN = Catalogue("en")
TUI_DIR = Path(__file__).resolve().parents[1] / "terminal" / "tui"


def _checker(world: World) -> Checker:
    return Checker(Store.open(world.data_dir), Config.load(world.data_dir).feeds, Clock(at=T0))


# --- the validity shown: the verdict engine's one value ---------------------------


def test_a_vehicle_known_only_from_a_hotlist_shows_no_validity(world: World) -> None:
    """粤B99999 is only in the hotlist (valid_through 2027-06 there): SPEC 1.1, a
    hotlist record never gives validity, so none is shown."""
    result = _checker(world).lookup("粤B99999")
    assert result.vehicles and result.valid_through is None
    assert EN.text("label.valid_through") not in result_text(result, EN)
    shown = run_cli("lookup", "--lang", "en", "--at", at(T0), "粤B99999", data_dir=world.data_dir)
    assert "2027-06" not in shown.out


def test_a_lookup_shows_the_covering_feeds_validity(world: World) -> None:
    result = _checker(world).lookup("桂B88888")
    assert result.valid_through == "2026-03"
    assert f"{EN.text('label.valid_through')}: 2026-03" in result_text(result, EN)


def test_a_certificate_shows_its_effective_validity(world: World) -> None:
    """Step 8: the feed's later month extends the certificate's (2025-01 here)."""
    text = world.pki.certificate("桂A12345", valid_through="2025-01")
    result = _checker(world).verify(text)
    assert result.valid_through == "2027-06"


# --- the sync report: one wording, two lengths ------------------------------------


def test_sync_report_lines_of_the_command_and_the_screen(world: World) -> None:
    from cache.sync import sync

    config = Config.load(world.data_dir)
    report = sync(world.data_dir, config.server, config.root_key, config.feeds, lambda: T0)
    detailed = sync_report_lines(report, EN, detailed=True)
    short = sync_report_lines(report, EN, detailed=False)
    assert detailed[0] == short[0] and short[0].startswith(EN.text("label.trust_list"))
    assert len(detailed) == len(short) == 1 + len(config.feeds)
    assert short[1] == f"gx: {EN.text('sync.' + report.feeds[0].status)} v1"
    assert detailed[1].startswith(f"{EN.text('label.feed')} gx: ") and " B)" in detailed[1]
    printed = run_cli("sync", "--lang", "en", data_dir=world.data_dir)
    assert printed.out.splitlines()[1].startswith(f"{EN.text('label.feed')} gx: ")


# --- the command lines' shared plumbing -------------------------------------------


def test_parse_iso_time_needs_an_offset() -> None:
    assert parse_iso_time(" 2025-01-01T08:00:00+08:00 ") == 1735689600
    assert parse_iso_time("2025-01-01T00:00:00Z") == 1735689600
    with pytest.raises(BadTime, match="no UTC offset"):
        parse_iso_time("2025-01-01T00:00:00")
    with pytest.raises(BadTime, match="not an ISO 8601 time"):
        parse_iso_time("yesterday")


def test_parser_raises_usage_error_instead_of_exiting() -> None:
    parser = Parser(prog="x")
    parser.add_argument("--n", type=int)
    with pytest.raises(UsageError) as caught:
        parser.parse_args(["--n", "two"])
    assert caught.value.prog == "x" and "invalid int value" in caught.value.message


@pytest.mark.parametrize("bad", ["yesterday", "2025-01-01T00:00:00"])
def test_both_commands_refuse_a_bad_at(
    world: World, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = run_cli("lookup", "--json", "--at", bad, "桂A12345", data_dir=world.data_dir)
    assert terminal.code == 2 and terminal.json["error"]["code"] == "BAD_INPUT"
    assert central_cli.main(["--home", str(world.data_dir), "--at", bad, "revoke", "00"]) == 2
    assert "--at" in capsys.readouterr().err


def test_central_reports_a_usage_error_as_an_input_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert central_cli.main(["no-such-command"]) == 2
    assert capsys.readouterr().err.startswith("error: vicheck central: ")


# --- one scanning loop --------------------------------------------------------------


def test_live_sightings_one_per_frame_each_code_checked_once(world: World) -> None:
    code = make_frame("phone", world.pki.certificate(), 1, FRAME_VGA)
    frames = [Frame(code, "0"), Frame(None, "1"), Frame(code, "2"), Frame(code, "3")]
    seen = list(live_sightings(frames, _checker(world), ScanPipeline(), lambda: 0.0))
    assert [s.frame.label for s in seen] == ["0", "1", "2", "3"]
    checked = [s.result.verdict.name for s in seen if s.result is not None]
    assert checked == ["VALID"]
    assert seen[1].decoded is None


# --- screens handed their data ------------------------------------------------------


def test_no_type_ignore_in_the_tui() -> None:
    ignores = [
        f"{path.name}:{n}"
        for path in sorted(TUI_DIR.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"#\s*type:\s*ignore", line)
    ]
    assert ignores == []


def test_textual_action_back_is_not_overridden() -> None:
    assert VicheckApp.action_back is App.action_back


def _app(world: World) -> VicheckApp:
    config = Config.load(world.data_dir)
    return make_app(
        config, world.data_dir, Clock(at=T0), catalogue=EN, shift_start=False, card_seconds=0
    )


async def test_scanner_state_reaches_the_scan_screen(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(60, 20)) as pilot:
        screen = app.screen
        assert isinstance(screen, ScanScreen)
        label = screen.query_one("#scanner-state", Static)
        assert str(label.render()) == EN.text("ui.scan.no_camera")
        screen.scanner_state = "ui.scan.reading"
        await pilot.pause()
        assert str(label.render()) == EN.text("ui.scan.reading")


async def test_escape_closes_the_screen_on_top_only(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("f9")
        assert not isinstance(app.screen, ScanScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ScanScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ScanScreen) and app.is_running
