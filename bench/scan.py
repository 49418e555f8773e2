"""Scanning figures (``make bench``): decode rate per category for each decoder
alone and for the pipeline, frame-to-verdict latency at 1280x720, and frames per
second sustained on a video source. Prints one JSON object.

VICHECK_BENCH_SCAN_SEEDS sets frames per category (default 20).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from bench.world import standard_world
from cache.store import Store
from devkit.clock import T0
from terminal.clock import Clock
from terminal.scan.decoders import DECODERS
from terminal.scan.pipeline import ScanPipeline
from terminal.scan.scanner import scan
from terminal.scan.sources import VideoSource
from terminal.synthetic.scenes import CATEGORIES, FRAME_720P, make_frame
from terminal.verdict import Checker

SEEDS = int(os.environ.get("VICHECK_BENCH_SCAN_SEEDS", "20"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    figures: dict[str, object] = {"frames_per_category": SEEDS, "frame": "1280x720"}
    with tempfile.TemporaryDirectory(prefix="vicheck-scanbench-") as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            text = world.pki.certificate()
            checker = Checker(Store.open(world.data_dir), ["gx", "hot"], Clock(at=T0))
            pipeline = ScanPipeline()
            rates: dict[str, dict[str, float]] = {}
            latencies: list[float] = []
            totals = dict.fromkeys([*DECODERS, "pipeline"], 0)
            frames_total = 0
            for category in CATEGORIES:
                frames = [make_frame(category, text, 1000 + s, FRAME_720P) for s in range(SEEDS)]
                frames_total += len(frames)
                row: dict[str, float] = {}
                for name, decoder in DECODERS.items():
                    ok = sum(1 for f in frames if text in decoder(f))
                    row[name] = round(ok / len(frames), 2)
                    totals[name] += ok
                ok = 0
                for frame in frames:
                    start = time.perf_counter()
                    decoded = pipeline.decode(frame)
                    if decoded is not None:
                        checker.verify(decoded.text)
                    latencies.append((time.perf_counter() - start) * 1000)
                    ok += decoded is not None and decoded.text == text
                row["pipeline"] = round(ok / len(frames), 2)
                totals["pipeline"] += ok
                rates[category] = row
            figures["decode_rate"] = rates
            figures["decode_rate_overall"] = {
                k: round(v / frames_total, 3) for k, v in totals.items()
            }
            figures["frame_to_verdict_ms_median"] = round(statistics.median(latencies), 1)
            figures["frame_to_verdict_ms_p95"] = round(percentile(latencies, 0.95), 1)

            # A video: the same code held for a while, then another, then nothing.
            video = Path(tmp) / "clip.avi"
            writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, FRAME_720P)
            for i in range(300):
                category = ("phone", "phone-glare", "paper-shadow")[i // 100]
                frame = make_frame(category, text if i < 250 else "", i, FRAME_720P)
                writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
            writer.release()
            source = VideoSource(video)
            start = time.perf_counter()
            outcomes = list(scan(source, checker, pipeline, time.monotonic))
            elapsed = time.perf_counter() - start
            source.close()
            figures["video_fps"] = round(300 / elapsed, 1)
            figures["video_checks"] = len(outcomes)
        finally:
            world.close()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
