"""What recording a check costs (issue 13), printed as one JSON object.

On the standard world: a check alone, a check and its audit entry with the log kept
open (the officer's terminal), and with the log opened per check (``vicheck
verify``: open, load the device key, append, sign, commit, close); each as a median
of in-process runs. Then the append alone under ``synchronous = FULL`` (chosen)
and ``NORMAL``, to show what the durability costs, and ``vicheck verify`` as a
whole process against the bare-import floor. The file system the temporary
directory is on decides the fsync cost: say which when quoting figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from audit.device import ensure_key
from audit.store import AuditLog
from bench.run import median_us, process_time
from bench.world import standard_world
from cache.store import Store
from devkit.clock import T0, at
from terminal.audit_record import Recorder
from terminal.clock import Clock
from terminal.config import Config
from terminal.strings import Catalogue
from terminal.verdict import Checker

REPEAT = int(os.environ.get("VICHECK_BENCH_AUDIT_REPEAT", "400"))
WHERE = os.environ.get("VICHECK_BENCH_AUDIT_DIR") or None
"""Where the data dir goes (default: the system's temporary folder). /dev/shm
(tmpfs, where fsync is free) separates the CPU's part from the disk's."""


def main() -> None:
    figures: dict[str, object] = {"repeat": REPEAT}
    with tempfile.TemporaryDirectory(prefix="vicheck-bench-audit-", dir=WHERE) as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0 and world.sync().code == 0
            data_dir = str(world.data_dir)
            figures["filesystem"] = _filesystem(data_dir)
            checker = Checker(Store.open(data_dir), Config.load(data_dir).feeds, Clock(at=T0))
            text = world.pki.certificate("桂A12345")
            catalogue = Catalogue("en")

            def warn(message: str) -> None:
                raise SystemExit(message)

            kept = Recorder(data_dir, catalogue, warn)

            def per_process() -> None:
                recorder = Recorder(data_dir, catalogue, warn)
                recorder.record(checker.verify(text), "typed", checker, "010203")
                recorder.close()

            bare = median_us(lambda: checker.verify(text), REPEAT)
            open_log = median_us(
                lambda: kept.record(checker.verify(text), "camera", checker, "010203"), REPEAT
            )
            per_check = median_us(per_process, REPEAT)
            figures["verify_us"] = bare
            figures["verify_recorded_kept_open_us"] = open_log
            figures["verify_recorded_opened_per_check_us"] = per_check
            figures["added_kept_open_us"] = round(open_log - bare, 1)
            figures["added_per_check_us"] = round(per_check - bare, 1)
            kept.close()
            for mode in ("FULL", "NORMAL"):
                figures[f"append_{mode.lower()}_us"] = _append_us(data_dir, mode)
            vicheck = str(Path(sys.executable).parent / "vicheck")
            env = dict(os.environ, VICHECK_DATA_DIR=data_dir)
            figures["cli_verify_s"] = process_time(
                [vicheck, "verify", "--json", "--at", at(T0), text], env
            )
            figures["python_floor_s"] = process_time(
                [sys.executable, "-c", "import nacl.signing, cbor2, sqlite3"], env
            )
            figures["cli_verify_vs_floor"] = round(
                figures["cli_verify_s"] / figures["python_floor_s"],
                2,  # type: ignore[operator]
            )
            with AuditLog.open(data_dir) as log:
                figures["entries_written"] = log.count()
        finally:
            world.close()
    print(json.dumps(figures, ensure_ascii=False))


def _append_us(data_dir: str, mode: str) -> float:
    """One append (insert, sign, commit) on a log kept open, under ``mode``."""
    log = AuditLog.open(data_dir, ensure_key(data_dir))
    try:
        log._conn.execute(f"PRAGMA synchronous = {mode}")
        return median_us(
            lambda: log.append(time=T0, how="typed", verdict="VALID", plate="桂A12345"), REPEAT
        )
    finally:
        log.close()


def _filesystem(path: str) -> str:
    """The file system type under ``path`` (from /proc/mounts; "?" elsewhere)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                _dev, point, fstype = line.split()[:3]
                if os.path.realpath(path).startswith(point) and len(point) > len(best):
                    best, kind = point, fstype
    except OSError:
        pass
    return kind


if __name__ == "__main__":
    main()
