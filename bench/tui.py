"""Terminal UI figures (``make bench``): start to the first usable screen, verdict
card on screen after a scan engine's Enter (the check included) and after a decode,
and CPU while scanning a static scene (the preview included); then the car's plate
on the card (issue 16): card to comparison shown, on a real car photo from
../shared/plates-dev (when it is there), and CPU while a card keeps looking for a
plate the camera does not see. One JSON object."""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from textual import events

from bench.world import standard_world
from devkit.clock import T0
from terminal.clock import Clock
from terminal.config import Config
from terminal.scan.sources import Frame
from terminal.strings import Catalogue
from terminal.tui.app import make_app
from terminal.tui.card import VerdictCard
from terminal.tui.messages import Checked

# Textual captures print() while it runs, so the child marks readiness in a file.
CHILD = """
import os, sys
from terminal.cli import main
from terminal.tui import app as tui
original = tui.VicheckApp.on_mount
def on_mount(self):
    original(self)
    def ready():
        open(MARKER, "w").close()
        self.exit()
    self.call_after_refresh(ready)
tui.VicheckApp.on_mount = on_mount
main(["--data-dir", DATA_DIR, "--no-shift-start"])
"""


class StaticScene:
    """A camera pointed at a wall (or held still on a car): the same frame, 30 times
    a second."""

    live = True
    name = "static scene"

    def __init__(self, image: np.ndarray | None = None) -> None:
        self.image = np.full((720, 1280, 3), 96, np.uint8) if image is None else image
        self.stop = threading.Event()

    def frames(self) -> Iterator[Frame]:
        n = 0
        while not self.stop.wait(1 / 30):
            yield Frame(self.image, str(n))
            n += 1

    def close(self) -> None:
        self.stop.set()


def start_seconds(data_dir: Path, runs: int = 5) -> float:
    """Process start to the scan screen drawn (headless, the real ``vicheck``)."""
    marker = data_dir.parent / "ready"
    script = CHILD.replace("MARKER", repr(str(marker))).replace("DATA_DIR", repr(str(data_dir)))
    samples = []
    for _ in range(runs):
        marker.unlink(missing_ok=True)
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = start + 30  # a child that never draws is a missing sample, not a hang
        while not marker.exists() and child.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.002)
        if marker.exists():
            samples.append(time.perf_counter() - start)
        child.kill()
        child.wait()
    return round(statistics.median(samples), 3) if samples else float("nan")


async def card_and_idle(world: object) -> tuple[float, float, float, float, float]:
    config = Config.load(world.data_dir)  # type: ignore[attr-defined]
    result = None
    scene = StaticScene()
    app = make_app(
        config,
        world.data_dir,  # type: ignore[attr-defined]
        Clock(at=T0),
        lambda: scene,
        Catalogue("zh_CN"),
        shift_start=False,
        card_seconds=0,
        plate_on_card=False,  # the plate reader's cost is measured on its own below
    )
    latencies = []
    after_enter = []
    async with app.run_test(size=(40, 20)) as pilot:
        code = world.pki.certificate()  # type: ignore[attr-defined]
        result = app.checker.verify(code)
        for _ in range(20):
            start = time.perf_counter()
            app.post_message(Checked(result, "code", T0))
            await _card_shown(app)
            latencies.append((time.perf_counter() - start) * 1000)
            await pilot.press("escape")
        for _ in range(20):
            # A scan engine's burst: every character, then Enter; timed from Enter.
            for char in code:
                app.post_message(events.Key(_key_name(char), char))
            await pilot.pause()
            start = time.perf_counter()
            app.post_message(events.Key("enter", "\r"))
            await _card_shown(app)
            after_enter.append((time.perf_counter() - start) * 1000)
            await pilot.press("escape")
        # The figure: scanning plus the preview, at 100x30 (the preview the
        # size of the upper half), a camera at 30 fps.
        await pilot.resize_terminal(100, 30)
        await asyncio.sleep(1)
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter()
        await asyncio.sleep(5)
        after = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter() - wall
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (
        statistics.median(after_enter),
        max(after_enter),
        statistics.median(latencies),
        max(latencies),
        cpu / wall * 100,
    )


async def plate_on_card(world: object, car: Path | None) -> dict[str, float]:
    """The card reads the car's plate by itself: with ``car``, from the card on screen
    to the mismatch shown (the certificate is 桂A12345's, the car another), the first
    read (the models load) apart; then, the camera on a wall, the CPU while a card
    keeps trying (a read at a time, one second apart)."""
    from terminal.scan.sources import read_image

    config = Config.load(world.data_dir)  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    scenes = [("wall", StaticScene())]
    if car is not None:
        scenes.insert(0, ("car", StaticScene(read_image(car))))
    for name, scene in scenes:
        app = make_app(
            config,
            world.data_dir,  # type: ignore[attr-defined]
            Clock(at=T0),
            lambda scene=scene: scene,  # type: ignore[misc]
            Catalogue("zh_CN"),
            shift_start=False,
            card_seconds=0,
        )
        async with app.run_test(size=(100, 30)) as pilot:
            result = app.checker.verify(world.pki.certificate())  # type: ignore[attr-defined]
            while app.plate_camera.latest() is None:
                await asyncio.sleep(0.01)
            if name == "car":
                samples = []
                for _ in range(6):
                    app.post_message(Checked(result, "code", T0))
                    await _card_shown(app)
                    start = time.perf_counter()
                    while not app.screen.query("#car-plate"):
                        await asyncio.sleep(0.005)
                    samples.append((time.perf_counter() - start) * 1000)
                    await pilot.press("escape")
                    while not app.plate_camera.begin():  # the read behind it, done
                        await asyncio.sleep(0.005)
                    app.plate_camera.end()
                out["plate_on_card_first_ms"] = round(samples[0], 1)
                out["plate_on_card_ms_median"] = round(statistics.median(samples[1:]), 1)
            else:
                app.post_message(Checked(result, "code", T0))
                await _card_shown(app)
                await asyncio.sleep(3)  # the reader loaded, the retries under way
                before = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.perf_counter()
                await asyncio.sleep(5)
                after = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.perf_counter() - wall
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                out["card_plate_retries_cpu_percent_720p_30fps"] = round(cpu / wall * 100, 1)
        scene.close()
    return out


async def _card_shown(app: object) -> None:
    """Until a new card is mounted on top (its content composed, ready to draw)."""
    while not (isinstance(card := app.screen, VerdictCard) and card.is_mounted):  # type: ignore[attr-defined]
        await asyncio.sleep(0.001)


def _key_name(char: str) -> str:
    """Textual's key name for a character (as a terminal driver makes it)."""
    if char.isalnum():
        return char
    return unicodedata.name(char).lower().replace(" ", "_").replace("-", "_")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vicheck-tuibench-") as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            figures: dict[str, object] = {"start_to_scan_screen_s": start_seconds(world.data_dir)}
            enter, enter_worst, median, worst, cpu = asyncio.run(card_and_idle(world))
            figures["card_after_scan_engine_enter_ms_median"] = round(enter, 1)
            figures["card_after_scan_engine_enter_ms_max"] = round(enter_worst, 1)
            figures["card_after_decode_ms_median"] = round(median, 1)
            figures["card_after_decode_ms_max"] = round(worst, 1)
            figures["scan_and_preview_cpu_percent_100x30_720p_30fps"] = round(cpu, 1)
            from bench.plates import DEV

            car = DEV / "images" / "easypr_159.jpg"
            figures.update(asyncio.run(plate_on_card(world, car if car.exists() else None)))
        finally:
            world.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
