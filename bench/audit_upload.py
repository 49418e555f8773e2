"""The audit upload at sync (issue 13): 10,000 entries over loopback, target ≤ 2 s.

A terminal's real audit log holds 10,000 entries (signed as ``AuditLog.append``
signs them); the central side is what ``vicheck central serve`` runs, the static
server forwarding ``/audit/`` to the Starlette app under uvicorn, on 127.0.0.1.
Measured, each a median over fresh central homes:

- ``upload_10k_s``: ``cache.upload.upload_audit`` in process (what ``vicheck sync``
  runs after the feeds): read, encode, POST, check, store with FULL sync, ack;
  ``upload_10k_cpu_s`` the CPU time that took, both sides (load-independent);
- ``direct_10k_s``: the same straight to uvicorn (no forwarding hop);
- ``resend_10k_s``: the same upload again when the central side holds it all
  (a terminal killed before its acknowledgement);
- ``sync_process_10k_s`` and ``sync_process_idle_s``: a whole ``vicheck sync``
  process with 10,000 entries pending, and with none.

Printed as one JSON object; nothing is asserted.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from audit.device import device_of
from audit.store import AuditLog, open_db
from bench.world import run_cli
from cache.upload import upload_audit
from central import cli
from central.auditserve import audit_beside
from central.serve import StaticServer
from devkit.audit import audit_app, enrol, fill_log
from devkit.clock import T0, at

ENTRIES = 10_000
RUNS = 5


def _reset_ack(data_dir: Path) -> None:
    """Forget the acknowledgement (a terminal that never heard it)."""
    conn = open_db(data_dir)
    conn.execute("UPDATE chain SET held = 0")
    conn.close()


def _central(tmp: Path) -> Path:
    home = tmp / "home"
    for args in (
        ["init", "--province", "桂"],
        ["trustlist"],
        ["registry", "generate", "--province", "桂", "--vehicles", "100", "--as-of", "2026-06"],
        ["publish", "--feed", "gx", "--scope", "桂"],
    ):
        assert cli.main(["--home", str(home), "--at", at(T0), *args]) == 0
    return home


def _timed_upload(data_dir: Path, url: str) -> tuple[float, float, dict[str, object]]:
    """Wall time, and CPU time of this process (client and server threads both:
    what the upload costs whatever else the machine is running), and the report."""
    with httpx.Client() as client:
        start, cpu = time.perf_counter(), time.process_time()
        report = upload_audit(data_dir, url, client, time.time)
        took, used = time.perf_counter() - start, time.process_time() - cpu
    assert report is not None and report.error is None, report
    return took, used, report.to_json()


def _fresh_home(base: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(base, into)
    return into


def main() -> None:
    figures: dict[str, object] = {"entries": ENTRIES, "runs": RUNS}
    with tempfile.TemporaryDirectory(prefix="vicheck-bench-audit-") as name:
        tmp = Path(name)
        base = _central(tmp)
        data_dir = tmp / "terminal"
        key = fill_log(data_dir, ENTRIES, int(time.time()) - ENTRIES)
        with AuditLog.open(data_dir) as log:
            assert log.count() == ENTRIES and device_of(key) == log.chain_device()
        forwarded, direct, resend, cpu = [], [], [], []
        for run in range(RUNS):
            home = _fresh_home(base, tmp / f"home{run}")
            enrol(home, key)
            with audit_beside(home) as handler, StaticServer(home / "public", handler=handler) as s:
                _reset_ack(data_dir)
                took, used, report = _timed_upload(data_dir, s.url)
                forwarded.append(took)
                cpu.append(used)
                _reset_ack(data_dir)
                resend.append(_timed_upload(data_dir, s.url)[0])
            home = _fresh_home(base, tmp / f"direct{run}")
            enrol(home, key)
            with audit_app(home) as url:
                _reset_ack(data_dir)
                direct.append(_timed_upload(data_dir, url)[0])
        figures["upload_10k_s"] = round(statistics.median(forwarded), 3)
        figures["upload_10k_cpu_s"] = round(statistics.median(cpu), 3)
        figures["direct_10k_s"] = round(statistics.median(direct), 3)
        figures["resend_10k_s"] = round(statistics.median(resend), 3)
        figures["report"] = report
        figures.update(_sync_process(base, tmp))
    print(json.dumps(figures))


def _sync_process(base: Path, tmp: Path) -> dict[str, float]:
    """Whole ``vicheck sync`` processes against ``central serve`` (in-process) by
    a fresh terminal whose feeds are current: with 10,000 entries pending, then
    with none (the upload then asks nothing)."""
    vicheck = str(Path(sys.executable).parent / "vicheck")
    home = _fresh_home(base, tmp / "process")
    data_dir = tmp / "process-terminal"
    with audit_beside(home) as handler, StaticServer(home / "public", handler=handler) as s:
        root = (home / "keys" / "root.pub").read_text().strip()
        init = ("init", "--root-key", root, "--server", s.url, "--feed", "gx")
        assert run_cli(*init, data_dir=data_dir).code == 0
        assert run_cli("sync", data_dir=data_dir).code == 0  # the feeds: not measured
        enrol(home, fill_log(data_dir, ENTRIES, int(time.time()) - ENTRIES))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            proc = subprocess.run(
                [vicheck, "--data-dir", str(data_dir), "sync", "--json"],
                capture_output=True,
                text=True,
                check=False,
            )
            times.append(time.perf_counter() - start)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["audit"] == {"sent": 0, "held": ENTRIES}
    return {"sync_process_10k_s": round(times[0], 3), "sync_process_idle_s": round(times[1], 3)}


if __name__ == "__main__":
    main()
