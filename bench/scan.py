"""Scanning figures (``make bench``): decode rate per category for each decoder
alone, for the pipeline within a live frame's budget and for the same frames as
still pictures (``still``: the whole chain, no budget), every candidate attempt
(decoder on a preprocessing step) ranked by the reads it adds per millisecond, the
cost of a frame without a code, frame-to-verdict latency at 1280x720, a shaking hand
on synthetic video, and frames per second sustained on a video source. Prints one
JSON object.

VICHECK_BENCH_SCAN_SEEDS sets frames per category (default 20), drawn from seed
VICHECK_BENCH_SCAN_FIRST_SEED on (default 1000: the seeds the chain was tuned on;
another, e.g. 1100, measures it on frames it was not tuned on);
VICHECK_BENCH_SCAN_RANK=0 skips the ranking (the slow part: every attempt on every frame).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.world import standard_world
from cache.store import Store
from devkit.clock import T0
from terminal.clock import Clock
from terminal.scan.decoders import DECODERS, STEPS
from terminal.scan.pipeline import Decoded, LiveCadence, ScanPipeline
from terminal.scan.scanner import Decode, scan
from terminal.scan.sources import VideoSource
from terminal.synthetic.scenes import (
    CATEGORIES,
    FRAME_720P,
    dim_clip,
    make_frame,
    shaky_clip,
)
from terminal.verdict import Checker

SEEDS = int(os.environ.get("VICHECK_BENCH_SCAN_SEEDS", "20"))
FIRST_SEED = int(os.environ.get("VICHECK_BENCH_SCAN_FIRST_SEED", "1000"))
RANK = os.environ.get("VICHECK_BENCH_SCAN_RANK", "1") != "0"
CANDIDATES: tuple[tuple[str, str], ...] = (
    *((d, s) for d in ("zxing", "pyzbar") for s in STEPS),
    ("opencv-aruco", "raw"),
    ("opencv-aruco", "half"),
)
"""Every attempt the ranking tries: both fast decoders on every step, ArUco on two."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rank(frames: list[np.ndarray], text: str) -> list[dict[str, object]]:
    """Greedy: at each place of the chain, the attempt that reads the most frames the
    places before it missed, per millisecond of its median cost; until none adds any."""
    reads: dict[str, set[int]] = {}
    cost: dict[str, float] = {}
    for decoder, step in CANDIDATES:
        name, times, ok = f"{decoder}/{step}", [], set()
        for index, frame in enumerate(frames):
            start = time.perf_counter()
            found = text in DECODERS[decoder](STEPS[step](frame))
            times.append((time.perf_counter() - start) * 1000)
            if found:
                ok.add(index)
        reads[name], cost[name] = ok, statistics.median(times)
    chain: list[dict[str, object]] = []
    covered: set[int] = set()
    while True:
        gains = {n: len(r - covered) / max(cost[n], 0.05) for n, r in reads.items()}
        best = max(gains, key=lambda n: gains[n])
        added = len(reads[best] - covered)
        if added == 0:
            break
        covered |= reads[best]
        chain.append(
            {
                "attempt": best,
                "reads_alone": len(reads[best]),
                "adds": added,
                "ms_median": round(cost[best], 2),
                "adds_per_ms": round(added / max(cost[best], 0.05), 2),
                "cumulative": round(len(covered) / len(frames), 3),
            }
        )
        del reads[best]
    return chain


def main() -> None:
    figures: dict[str, object] = {
        "frames_per_category": SEEDS,
        "first_seed": FIRST_SEED,
        "frame": "1280x720",
    }
    with tempfile.TemporaryDirectory(prefix="vicheck-scanbench-") as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            text = world.pki.certificate()
            checker = Checker(Store.open(world.data_dir), ["gx", "hot"], Clock(at=T0))
            pipeline = ScanPipeline()
            rates: dict[str, dict[str, float]] = {}
            latencies: list[float] = []
            totals = dict.fromkeys([*DECODERS, "pipeline", "still"], 0)
            frames_total = 0
            every: list[np.ndarray] = []
            for category in CATEGORIES:
                frames = [
                    make_frame(category, text, FIRST_SEED + s, FRAME_720P) for s in range(SEEDS)
                ]
                frames_total += len(frames)
                every += frames
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
                # The same frames as still pictures: the whole chain, no time budget.
                ok = sum(
                    1
                    for f in frames
                    if (d := pipeline.decode(f, exhaustive=True)) and d.text == text
                )
                row["still"] = round(ok / len(frames), 2)
                totals["still"] += ok
                rates[category] = row
            figures["decode_rate"] = rates
            figures["decode_rate_overall"] = {
                k: round(v / frames_total, 3) for k, v in totals.items()
            }
            figures["frame_to_verdict_ms_median"] = round(statistics.median(latencies), 1)
            figures["frame_to_verdict_ms_p95"] = round(percentile(latencies, 0.95), 1)
            figures["no_code_ms"] = no_code_ms(pipeline)
            figures["shaky_video"] = live_video(pipeline, text, shaky_clip)
            figures["dim_video"] = live_video(pipeline, text, dim_clip)
            if RANK:
                figures["ranking"] = rank(every, text)

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


def live_video(
    pipeline: ScanPipeline,
    text: str,
    make_clip: Callable[[str, int, int], list[np.ndarray]],
    clips: int = 10,
    length: int = 30,
) -> dict[str, dict[str, float]]:
    """Synthetic video of a hard code (``shaky_clip``: a shaking hand, a different
    smear on every frame; ``dim_clip``: a dim screen held still, fresh noise on every
    frame; one second at 30 frames per second) through ``LiveCadence``, beside the
    the cadence without averaging (the sharpest frame always), the first chain's
    cadence (the whole chain on every fourth frame as it comes) and zxing-cpp alone on
    every frame: clips read, the median frame of the first read (a
    clip never read counts as its length), frames read."""

    class CurrentFrame(LiveCadence):
        def decode(self, frame: np.ndarray) -> Decoded | None:
            self._count += 1
            deep = self._count % self.deep_every == 0
            return self.pipeline.decode(frame, None if deep else self.fast)

    class SharpestOnly(LiveCadence):
        def _deep_frame(self) -> np.ndarray:
            sharpest = max(self._failed, key=lambda seen: seen[0])[1]
            self._failed.clear()
            return sharpest

    def zxing_alone(frame: np.ndarray) -> Decoded | None:
        texts = DECODERS["zxing"](frame)
        return Decoded(texts[0], "zxing/raw", 0.0, tuple(texts)) if texts else None

    figures: dict[str, dict[str, float]] = {}
    made = [make_clip(text, seed, length) for seed in range(clips)]
    makers: tuple[tuple[str, Callable[[], Decode]], ...] = (
        ("live_cadence", lambda: LiveCadence(pipeline).decode),
        ("sharpest_only", lambda: SharpestOnly(pipeline).decode),
        ("current_frame", lambda: CurrentFrame(pipeline).decode),
        ("zxing_alone", lambda: zxing_alone),
    )
    for name, make in makers:
        firsts: list[int] = []
        reads = 0
        for clip in made:
            decode = make()
            hits = [i for i, frame in enumerate(clip) if (d := decode(frame)) and d.text == text]
            reads += len(hits)
            firsts.append(hits[0] if hits else length)
        figures[name] = {
            "clips_read": sum(f < length for f in firsts) / clips,
            "first_read_frame_median": float(statistics.median(firsts)),
            "frames_read": round(reads / (clips * length), 3),
        }
    return figures


def road_scene(seed: int) -> np.ndarray:
    """A 1280x720 frame of edges and blocks but no code: the camera between two cars."""
    rng = np.random.default_rng(seed)
    w, h = FRAME_720P
    frame = np.full((h, w), 120, np.uint8)
    for _ in range(40):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = (int(rng.integers(10, 300)), int(rng.integers(5, 200)))
        cv2.rectangle(frame, (x, y), (x + size[0], y + size[1]), int(rng.integers(0, 255)), -1)
    noisy: np.ndarray = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
    return noisy


def no_code_ms(pipeline: ScanPipeline) -> dict[str, float]:
    """A 1280x720 scene without a code, the way a live camera runs the chain: the
    cheap attempts on most frames (median), the deep ones on every few (their median),
    beside zxing-cpp alone on the same frames."""
    scenes = [road_scene(seed) for seed in range(5)]
    cadence = LiveCadence(pipeline)
    cheap: list[float] = []
    deep: list[float] = []
    zxing: list[float] = []
    for index in range(60):
        frame = scenes[index % len(scenes)]
        start = time.perf_counter()
        cadence.decode(frame)
        elapsed = (time.perf_counter() - start) * 1000
        (deep if (index + 1) % cadence.deep_every == 0 else cheap).append(elapsed)
        start = time.perf_counter()
        DECODERS["zxing"](frame)
        zxing.append((time.perf_counter() - start) * 1000)
    return {
        "cheap_median": round(statistics.median(cheap), 2),
        "deep_median": round(statistics.median(deep), 2),
        "zxing_alone_median": round(statistics.median(zxing), 2),
    }


if __name__ == "__main__":
    main()
