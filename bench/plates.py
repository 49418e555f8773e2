"""Plate reading on real photos (issue 16), printed as one JSON object.

Reads every frame of ``../shared/plates-dev`` (or $VICHECK_PLATES_DEV) with the
bare library (rapidocr-onnxruntime as shipped, its texts put in SPEC 5 normal form
and kept when they are valid plates) and with vicheck's reader, each in its own
process (so each one's memory is its own), and reports for each: the truth among
the plates read, the best read exact, false mismatches (plates read, none of them
the car's), wall and CPU time per frame (median, and median over the 1280 px wide
frames), and peak RSS. The photos are read from where they are, never copied.

    python -m bench.plates [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEV = Path(
    os.environ.get(
        "VICHECK_PLATES_DEV", Path(__file__).resolve().parents[2] / "shared" / "plates-dev"
    )
)
READERS = ("bare", "vicheck")


def frames(limit: int | None) -> list[dict[str, str]]:
    with open(DEV / "truth.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows[:limit] if limit else rows


def _bare() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    from keys.fields import is_valid_plate, normalize_plate

    engine = RapidOCR()

    def read(frame: Any) -> list[str]:
        result, _ = engine(frame)
        texts = [(normalize_plate(r[1]), float(r[2])) for r in result or []]
        texts.sort(key=lambda t: -t[1])
        return list(dict.fromkeys(t for t, _ in texts if is_valid_plate(t)))

    return read


def _vicheck(home: str | None) -> Any:
    from terminal.plates.reader import PlateReader

    reader = PlateReader(home=home)

    def read(frame: Any) -> list[str]:
        return [c.plate for c in reader.read(frame)]

    return read


def run_one(name: str, limit: int | None, home: str | None) -> dict[str, Any]:
    """One reader over every frame, in this process."""
    import cv2

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    read = _bare() if name == "bare" else _vicheck(home)
    read(cv2.imread(str(DEV / "images" / frames(1)[0]["file"])))  # load the models
    rows = []
    for row in frames(limit):
        frame = cv2.imread(str(DEV / "images" / row["file"]))
        wall, cpu = time.perf_counter(), time.process_time()
        plates = read(frame)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(
            {"file": row["file"], "truth": row["plate"], "plates": plates, "width": frame.shape[1]}
            | {"wall_ms": wall * 1000, "cpu_ms": cpu * 1000}
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "peak_rss_mb": peak / 1024, "before_rss_mb": rss_before / 1024}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["rows"]
    n = len(rows)
    among = sum(r["truth"] in r["plates"] for r in rows)
    exact = sum(bool(r["plates"]) and r["plates"][0] == r["truth"] for r in rows)
    false = sum(bool(r["plates"]) and r["truth"] not in r["plates"] for r in rows)
    wide = [r for r in rows if r["width"] >= 1280] or rows
    return {
        "frames": n,
        "truth_among_reads": round(among / n, 3),
        "best_read_exact": round(exact / n, 3),
        "false_mismatch": round(false / n, 3),
        "no_plate": round(sum(not r["plates"] for r in rows) / n, 3),
        "median_wall_ms": round(statistics.median(r["wall_ms"] for r in rows), 1),
        "median_cpu_ms": round(statistics.median(r["cpu_ms"] for r in rows), 1),
        "median_wall_ms_1280": round(statistics.median(r["wall_ms"] for r in wide), 1),
        "median_cpu_ms_1280": round(statistics.median(r["cpu_ms"] for r in wide), 1),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "misses": [
            f"{r['file']} {r['truth']} -> {r['plates'][:3]}"
            for r in rows
            if not r["plates"] or r["plates"][0] != r["truth"]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.plates")
    parser.add_argument("--limit", type=int, help="only the first N frames")
    parser.add_argument("--home", help="the terminal's home province (none by default)")
    parser.add_argument("--only", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--readers", default=",".join(READERS))
    args = parser.parse_args(argv)
    if args.only:
        json.dump(run_one(args.only, args.limit, args.home), sys.stdout, ensure_ascii=False)
        return 0
    if not (DEV / "truth.tsv").exists():
        print(f"bench.plates: no plates-dev at {DEV}", file=sys.stderr)
        return 2
    out: dict[str, Any] = {"data": str(DEV), "cpus": os.cpu_count(), "load": os.getloadavg()}
    for name in args.readers.split(","):
        cmd = [sys.executable, "-m", "bench.plates", "--only", name]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        cmd += ["--home", args.home] if args.home else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        out[name] = summary(json.loads(done.stdout))
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
