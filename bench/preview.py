"""Camera preview cost (``python -m bench.preview``): CPU of the live preview at 100x30
while a 30 fps camera feeds the scanner's live cadence. One JSON object.

The camera worker is what the terminal runs: the synthetic camera's 720p frames at 30
fps through ``live_sightings`` (the cheap decoders on most frames, the whole chain on
every fourth, each new code checked), and each frame handed to ``CameraPreview.show``,
which keeps 5 a second. The app runs headless (``run_test``), so Textual composes and
writes every refresh as in a terminal, minus the terminal itself. Process CPU time
(user + system) over wall time, as a percentage of one core, for scanning alone and
for scanning with the preview; the difference is the preview's cost, also given per
frame shown. The machine may be shared: the figures are upper bounds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
from textual.app import App, ComposeResult

from bench.scan import road_scene
from bench.world import standard_world
from cache.store import Store
from devkit.clock import T0
from terminal.clock import Clock
from terminal.scan.pipeline import ScanPipeline
from terminal.scan.scanner import live_sightings
from terminal.scan.sources import Frame
from terminal.synthetic.camera import VirtualCamera
from terminal.synthetic.scenes import FRAME_720P
from terminal.tui.preview import CameraPreview
from terminal.verdict import Checker

SIZE = (100, 30)
SECONDS = 8.0
OUTLINE = [(440.0, 160.0), (840.0, 160.0), (840.0, 560.0), (440.0, 560.0)]
"""A code-sized square in a 720p frame: the decoders do not report the code's corners
yet, so the benchmark marks a fixed one (drawing it is a few pixels either way)."""


class RoadCamera:
    """The camera between two cars: noisy, colourful 720p scenes without a code, 30 a
    second. The worst case for both: every frame runs the decoders to the end, and
    the preview's colours change from cell to cell (more styles, more segments)."""

    live = True
    name = "road"

    def __init__(self) -> None:
        self.images = [cv2.applyColorMap(road_scene(seed), cv2.COLORMAP_JET) for seed in range(5)]
        self.stop = threading.Event()

    def frames(self) -> Iterator[Frame]:
        """Paced by the clock, not by sleeping after each frame: a slow consumer gets
        the next frame at once, as from a camera that keeps its rate."""
        start = time.monotonic()
        for n in itertools.count():
            if self.stop.wait(max(0.0, start + n / 30 - time.monotonic())):
                return
            yield Frame(self.images[n % len(self.images)], str(n))

    def close(self) -> None:
        self.stop.set()


class _Bench(App[None]):
    def compose(self) -> ComposeResult:
        yield CameraPreview("camera", fps=5)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    checker: Checker, camera: VirtualCamera | RoadCamera, preview_on: bool
) -> dict[str, float]:
    app = _Bench()
    frames = 0
    show_cpu = 0.0

    def worker(preview: CameraPreview) -> None:
        nonlocal frames, show_cpu
        for seen in live_sightings(camera.frames(), checker, ScanPipeline(), time.monotonic):
            frames += 1
            if preview_on and seen.frame.image is not None:
                start = time.thread_time()
                preview.show(seen.frame.image, OUTLINE if seen.decoded else None)
                show_cpu += time.thread_time() - start

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        preview = app.query_one(CameraPreview)
        thread = threading.Thread(target=worker, args=(preview,), daemon=True)
        before, wall = _cpu(), time.perf_counter()
        thread.start()
        await asyncio.sleep(SECONDS)
        cpu, wall = _cpu() - before, time.perf_counter() - wall
        camera.close()
        thread.join()
        shown = preview.frames_shown
    return {
        "cpu_percent": round(cpu / wall * 100, 1),
        "camera_fps": round(frames / wall, 1),
        "preview_fps": round(shown / wall, 1),
        "cpu_s": round(cpu, 3),
        "frames": frames,
        "show_cpu_ms_per_shown_frame": round(show_cpu / shown * 1000, 2) if shown else 0.0,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vicheck-previewbench-") as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            checker = Checker(Store.open(world.data_dir), ["gx", "hot"], Clock(at=T0))
            text = world.pki.certificate()
            figures = {
                "size": f"{SIZE[0]}x{SIZE[1]}",
                "frame": f"{FRAME_720P[0]}x{FRAME_720P[1]}",
                "certificates": scene(checker, lambda: certificates(text)),
                "road_no_code": scene(checker, RoadCamera),
            }
        finally:
            world.close()
    print(json.dumps(figures))


def certificates(text: str) -> VirtualCamera:
    """The synthetic camera: a certificate held up for 2 s, then 1 s of nothing."""
    return VirtualCamera([text], fps=30, hold=2.0, gap=1.0, size=FRAME_720P)


def scene(checker: Checker, camera: Callable[[], VirtualCamera | RoadCamera]) -> dict[str, object]:
    scan_only = asyncio.run(run(checker, camera(), preview_on=False))
    with_preview = asyncio.run(run(checker, camera(), preview_on=True))
    extra = (with_preview["cpu_percent"] - scan_only["cpu_percent"]) / 100  # of one core
    fps = with_preview["preview_fps"]
    return {
        "scan_only": scan_only,
        "scan_and_preview": with_preview,
        "preview_cpu_percent": round(extra * 100, 1),
        "preview_cpu_ms_per_shown_frame": round(extra / fps * 1000, 2) if fps else None,
        "scan_cpu_ms_per_camera_frame": round(
            scan_only["cpu_s"] / max(1, scan_only["frames"]) * 1000, 2
        ),
    }


if __name__ == "__main__":
    main()
