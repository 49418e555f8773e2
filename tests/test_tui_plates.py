"""The terminal reads the car's plate (issue 16), offers the plates one misread away,
names both certificates when two are in view (issue 11), and fits its footer.

The camera here is a ``FrameSource`` that shows one picture over and over, as a
camera held still would: a real car photo from ../shared/plates-dev (read where it
is, never copied), so the real plate reader runs, or two real certificates' codes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

from audit.store import AuditLog
from bench.plates import DEV
from terminal.clock import Clock
from terminal.config import Config
from terminal.scan.sources import Frame, read_image
from terminal.strings import Catalogue
from terminal.synthetic.scenes import FRAME_VGA, make_frame
from terminal.tui.app import VicheckApp, make_app
from terminal.tui.bigtext import BigText
from terminal.tui.card import VerdictCard
from terminal.tui.lookup import LookupScreen
from tests.support import T0, World

CAR = DEV / "images" / "easypr_159.jpg"  # 粤A89311
CAR_PLATE = "粤A89311"
needs_photos = pytest.mark.skipif(
    not (DEV / "truth.tsv").exists(), reason=f"the plates-dev photos are not at {DEV}"
)


class StillCamera:
    """A live source showing one picture, a few frames a second, until closed."""

    live = True

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.name = "still camera"
        self.closed = False

    def frames(self) -> Iterator[Frame]:
        count = 0
        while not self.closed:
            yield Frame(self.image, str(count))
            count += 1
            time.sleep(0.05)

    def close(self) -> None:
        self.closed = True


def _app(world: World, lang: str = "en", camera: Any = None, **kw: Any) -> VicheckApp:
    config = Config.load(world.data_dir)
    source = (lambda: camera) if camera is not None else None
    return make_app(
        config,
        world.data_dir,
        Clock(at=T0),
        catalogue=Catalogue(lang),
        frame_source=source,
        shift_start=False,
        card_seconds=0,
        **kw,
    )


def _text(app: VicheckApp, selector: str) -> str:
    widget = app.screen.query_one(selector)
    return widget.text if isinstance(widget, BigText) else str(widget.render())


async def _until(pilot: Any, done: Any, seconds: float = 90) -> None:
    """Wait for the workers (the plate reader loads its models on first use)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        await pilot.pause(0.1)
    assert done()


def _notices(app: VicheckApp) -> list[str]:
    return [n.message for n in app._notifications]


def _logged(world: World) -> int:
    with AuditLog.open(world.data_dir) as log:
        return log.count()


def _car() -> StillCamera:
    image = read_image(CAR)
    assert image is not None
    return StillCamera(image)


@needs_photos
async def test_card_turns_check_when_the_car_shows_another_plate(world: World) -> None:
    app = _app(world, camera=_car())
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: app.plate_camera.latest() is not None)
        app.check_code(world.pki.certificate())  # 桂A12345's, shown for the 粤 car
        await _until(pilot, lambda: isinstance(app.screen, VerdictCard))
        assert _text(app, "#verdict-word") == "VALID"
        # The card read the car's plate by itself.
        await _until(pilot, lambda: bool(app.screen.query("#car-plate")))
        await pilot.pause()
        assert _text(app, "#verdict-word") == "CHECK"
        assert "does not match the certificate" in _text(app, "#reasons")
        assert (_text(app, "#plate"), _text(app, "#car-plate")) == ("桂A12345", CAR_PLATE)
        assert app.screen.query_one("#car-plate", BigText).is_large
        assert [r.code for r in app.history[-1].result.reasons][-1] == "PLATE_MISMATCH"
        await _until(pilot, lambda: _logged(world) == 2)  # the card's record, a worker's
    # The log holds both answers the officer was shown: the check, then the card's CHECK.
    with AuditLog.open(world.data_dir) as log:
        first, second = log.since(0)
    assert (first.verdict, first.how) == ("VALID", "wedge")
    assert (second.verdict, second.how, second.plate) == ("CHECK", "car", "桂A12345")
    assert second.reasons[-1] == "PLATE_MISMATCH" and second.serial == first.serial


@needs_photos
async def test_f4_on_the_card_says_the_plates_match(world: World) -> None:
    app = _app(world, lang="zh_CN", camera=_car(), plate_on_card=False)
    async with app.run_test(size=(40, 20)) as pilot:
        await _until(pilot, lambda: app.plate_camera.latest() is not None)
        app.check_code(world.pki.certificate(CAR_PLATE, key=world.pki.yue))
        await _until(pilot, lambda: isinstance(app.screen, VerdictCard))
        assert "F4" in _text(app, "#details")  # the card offers the read
        verdict = _text(app, "#verdict-word")
        await pilot.press("f4")
        await _until(pilot, lambda: f"车辆号牌 {CAR_PLATE} 与凭证一致" in _text(app, "#details"))
        assert _text(app, "#verdict-word") == verdict  # a match changes nothing else
        assert not app.screen.query("#car-plate")


@needs_photos
async def test_f4_reads_the_plate_into_the_lookup(world: World) -> None:
    app = _app(world, camera=_car(), plate_on_card=False)
    async with app.run_test(size=(40, 20)) as pilot:
        await _until(pilot, lambda: app.plate_camera.latest() is not None)
        await pilot.press("f4")  # from the scan screen: the lookup, filled
        assert isinstance(app.screen, LookupScreen)
        await _until(pilot, lambda: app.screen.query_one("#plate", Input).value == CAR_PLATE)
        assert f"1 {CAR_PLATE}" in _text(app, "#plate-offers")
        await pilot.press("enter")  # confirms
        await _until(pilot, lambda: isinstance(app.screen, VerdictCard))
        assert _text(app, "#plate") == CAR_PLATE
        assert "plate lookup" in _text(app, "#details")


async def test_f4_without_a_camera_says_so(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert any("No camera" in n for n in _notices(app))
        assert app.plate_camera.latest() is None


async def test_lookup_offers_the_plates_one_misread_away(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2", "1", *"a1z345", "enter")  # 桂A1Z345: no record
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictCard)
        await pilot.press("escape")
        assert isinstance(app.screen, LookupScreen)
        assert "1 桂A12345" in _text(app, "#plate-offers")
        await pilot.press("1")  # one key, not a second search
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictCard)
        assert (_text(app, "#plate"), _text(app, "#verdict-word")) == ("桂A12345", "VALID")


async def test_a_plate_with_a_letter_no_plate_has_is_offered_repaired(world: World) -> None:
    """桂A1234O: O is never on a plate, so it is not a plate at all; the grammar's
    fix-ups offer 桂A12340 first, one key away (no second typing)."""
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2", "1", *"a1234o", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LookupScreen)
        assert "1 桂A12340" in _text(app, "#plate-offers")
        assert app.history == []  # nothing was looked up yet
        await pilot.press("1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, VerdictCard)
        assert app.history[-1].result.plate == "桂A12340"


async def test_typing_again_after_the_offers(world: World) -> None:
    app = _app(world)
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.press("f2", "1", *"a1z345", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.focused is None  # the digits are the offers'
        await pilot.press("backspace", "x")  # a letter types again
        field = app.screen.query_one("#plate", Input)
        assert app.screen.focused is field and field.value.endswith("x")


async def test_two_certificates_in_view_are_named_on_the_card(world: World) -> None:
    ours = world.pki.certificate()
    other = world.pki.certificate("桂A00001", serial=b"serial-0009")
    both = np.hstack(
        [make_frame("phone", ours, 1, FRAME_VGA), make_frame("phone", other, 2, FRAME_VGA)]
    )
    app = _app(world, camera=StillCamera(both), plate_on_card=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, VerdictCard), 30)
        await pilot.pause()
        notice = _text(app, "#notices")
        assert "2 different certificates in view" in notice
        assert "桂A12345" in notice and "桂A00001" in notice
        assert _text(app, "#verdict-word") == "ALERT"  # the worst is never hidden


SCREENS = {"scan": [], "card": None, "lookup": ["f2"], "history": ["f3"], "status": ["f9"]}


@pytest.mark.parametrize("size", [(40, 20), (100, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_every_footer_key_fits(world: World, lang: str, size: tuple[int, int]) -> None:
    app = _app(world, lang=lang)
    async with app.run_test(size=size) as pilot:
        for name, keys in SCREENS.items():
            await pilot.press("f1")
            if keys is None:
                app.check_code(world.pki.certificate())
                await app.workers.wait_for_complete()
            else:
                await pilot.press(*keys)
            await pilot.pause()
            footer = app.screen.query_one(Footer)
            shown = list(footer.query(FooterKey))
            assert len(shown) >= 4, name
            for key in shown:
                assert key.region.width > 0 and key.region.right <= size[0], (name, key.key)
            descriptions = {key.key: key.description for key in shown}
            assert ("f4" in descriptions) == (name in ("scan", "card", "lookup")), name
