"""SIGKILL ``vicheck sync`` in the middle of an audit upload to a real ``vicheck
central serve``: no entry is lost or doubled on either side, and the next sync
finishes the upload (a resend of what the central side already holds is taken as
the same)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.store import AuditLog
from central import cli
from central.audit import AUDIT_DB
from central.serve import free_port
from devkit.audit import enrol, fill_log
from tests.support import T0, at, run_cli

pytestmark = pytest.mark.slow

VICHECK = str(Path(sys.executable).parent / "vicheck")
TOTAL = 30_000
"""Three full uploads (10,000 entries each): time to be killed between them."""


def central_seqs(home: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"file:{home / AUDIT_DB}?mode=ro", uri=True)) as conn:
        return [int(s) for (s,) in conn.execute("SELECT seq FROM entries ORDER BY seq")]


def central_count(home: Path) -> int:
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{home / AUDIT_DB}?mode=ro", uri=True, timeout=0.05)
        ) as conn:
            return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])
    except sqlite3.OperationalError:  # not made yet, or a writer has it this instant
        return 0


def test_sigkill_during_upload_loses_and_doubles_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args in (
        ["init", "--province", "桂"],
        ["trustlist"],
        ["registry", "generate", "--province", "桂", "--vehicles", "50", "--as-of", "2026-06"],
        ["publish", "--feed", "gx", "--scope", "桂"],
    ):
        assert cli.main(["--home", str(home), "--at", at(T0), *args]) == 0
    data_dir = tmp_path / "t"
    now = int(time.time())
    device = enrol(home, fill_log(data_dir, TOTAL, now - TOTAL))
    port = free_port()
    server = subprocess.Popen(
        [VICHECK, "central", "--home", str(home), "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in server.stderr.readline()  # type: ignore[union-attr]
        root = (home / "keys" / "root.pub").read_text().strip()
        url = f"http://127.0.0.1:{port}"
        init = ("init", "--root-key", root, "--server", url, "--feed", "gx")
        assert run_cli(*init, data_dir=data_dir).code == 0
        syncing = subprocess.Popen(
            [VICHECK, "--data-dir", str(data_dir), "sync", "--json"], stdout=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while central_count(home) == 0:  # the first upload is committed centrally
            assert syncing.poll() is None, "sync ended before any upload was stored"
            assert time.monotonic() < deadline, "no upload arrived"
            time.sleep(0.002)
        syncing.send_signal(signal.SIGKILL)
        syncing.wait()
        held_centrally = central_count(home)
        assert 0 < held_centrally < TOTAL, "not killed in the middle of the upload"
        with AuditLog.open(data_dir) as log:
            acknowledged = log.held
            assert log.count() == TOTAL  # nothing left the terminal
            assert acknowledged <= held_centrally
        again = run_cli("sync", "--json", data_dir=data_dir)
        assert again.code == 0, again.out + again.err
        assert again.json["audit"] == {"sent": TOTAL - acknowledged, "held": TOTAL}
    finally:
        server.terminate()
        server.wait(30)
    assert central_seqs(home) == list(range(1, TOTAL + 1))  # each entry once
    verified = run_cli("central", "--home", str(home), "audit", "verify", device, "--json")
    assert verified.code == 0 and verified.json["last"] == TOTAL, verified.out
    with AuditLog.open(data_dir) as log:
        assert log.held == TOTAL and log.count() == TOTAL
    shutil.rmtree(data_dir)
