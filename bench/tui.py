"""Terminal UI figures (``make bench``): start to the first usable screen, verdict
card on screen after a decode, and CPU while scanning a static scene. One JSON object."""

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
from collections.abc import Iterator
from pathlib import Path

import numpy as np

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
    """A camera pointed at a wall: the same 720p frame, 30 times a second."""

    live = True
    name = "static scene"

    def __init__(self) -> None:
        self.image = np.full((720, 1280, 3), 96, np.uint8)
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
        while not marker.exists() and child.poll() is None:
            time.sleep(0.002)
        if marker.exists():
            samples.append(time.perf_counter() - start)
        child.kill()
        child.wait()
    return round(statistics.median(samples), 3) if samples else float("nan")


async def card_and_idle(world: object) -> tuple[float, float, float]:
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
    )
    latencies = []
    async with app.run_test(size=(40, 20)) as pilot:
        result = app.checker.verify(world.pki.certificate())  # type: ignore[attr-defined]
        for _ in range(20):
            start = time.perf_counter()
            app.post_message(Checked(result, "code", T0))
            while not isinstance(app.screen, VerdictCard):
                await asyncio.sleep(0.001)
            latencies.append((time.perf_counter() - start) * 1000)
            await pilot.press("x")
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter()
        await asyncio.sleep(5)
        after = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter() - wall
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return statistics.median(latencies), max(latencies), cpu / wall * 100


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vicheck-tuibench-") as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            figures: dict[str, object] = {"start_to_scan_screen_s": start_seconds(world.data_dir)}
            median, worst, cpu = asyncio.run(card_and_idle(world))
            figures["card_after_decode_ms_median"] = round(median, 1)
            figures["card_after_decode_ms_max"] = round(worst, 1)
            figures["idle_cpu_percent_static_scene_720p_30fps"] = round(cpu, 1)
        finally:
            world.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
