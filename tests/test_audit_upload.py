"""Uploading the audit record at sync: ``vicheck sync`` against ``central serve``'s
one base URL (the static server forwarding /audit/ to uvicorn), against a real
nginx proxying to uvicorn, offline, refused, pruned after the acknowledgement and
the retention, and after the central copy lost its newest entries."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from audit.store import AuditLog
from audit.verify import verify_log
from audit.wire import MAX_BODY_BYTES
from central.audit import AUDIT_DB
from devkit.audit import audit_app, enrol, entries_of, fill_log
from tests.support import run_cli
from tests.support.audit import central_serve, fresh_copy, init_terminal, publish_home, sync
from tests.support.nginx import real_nginx

NOW = int(time.time())
"""Entries made now: young, so kept after their acknowledgement (30 days)."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_home(tmp_path_factory, 200)


@pytest.fixture()
def home(published: Path, tmp_path: Path) -> Path:
    return fresh_copy(published, tmp_path)


def central_count(home: Path) -> int:
    with contextlib.closing(sqlite3.connect(home / AUDIT_DB)) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_sync_uploads_through_the_one_base_url(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        assert "audit" not in sync(data_dir)  # no check recorded yet: nothing said
        device = enrol(home, fill_log(data_dir, 25, NOW))
        report = sync(data_dir)
        assert report["exit"] == 0 and report["feeds"][0]["status"] == "current"
        assert report["audit"] == {"sent": 25, "held": 25}
        assert sync(data_dir)["audit"] == {"sent": 0, "held": 25}  # nothing new: nothing sent
        fill_log(data_dir, 5, NOW)
        assert sync(data_dir)["audit"] == {"sent": 5, "held": 30}
    assert central_count(home) == 30
    assert run_cli("central", "--home", str(home), "audit", "verify", device).code == 0
    with AuditLog.open(data_dir) as log:
        assert log.held == 30 and log.count() == 30  # acknowledged, kept for the retention


def test_refusal_and_offline_never_fail_the_feeds(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        key = fill_log(data_dir, 8, NOW)
        report = sync(data_dir)
        assert report["exit"] == 0 and report["feeds"][0]["status"] == "updated"
        audit = report["audit"]
        assert isinstance(audit, dict) and audit["error"] == "UNKNOWN_DEVICE", audit
        assert (audit["sent"], audit["held"]) == (0, 0)
        log_line = (data_dir / "logs" / "sync.jsonl").read_text().splitlines()[-1]
        assert '"UNKNOWN_DEVICE"' in log_line  # the sync log keeps it for the technician
        enrol(home, key)
    # Offline: the server is gone; the entries wait.
    offline = sync(data_dir)
    audit = offline["audit"]
    assert isinstance(audit, dict) and audit["error"] == "OFFLINE" and audit["held"] == 0
    with AuditLog.open(data_dir) as log:
        assert log.count() == 8 and log.held == 0
    # Back online (a new port: the config is edited as a technician would).
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        assert sync(data_dir)["audit"] == {"sent": 8, "held": 8}


def test_entries_are_deleted_only_after_the_ack_and_the_retention(
    home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        device = enrol(home, fill_log(data_dir, 10, NOW - 100))
        assert sync(data_dir)["audit"] == {"sent": 10, "held": 10}
        with AuditLog.open(data_dir) as log:
            assert log.count() == 10  # young: kept though acknowledged
        fill_log(data_dir, 3, NOW - 100)
        report = sync(data_dir, VICHECK_AUDIT_RETENTION_DAYS="0")
        assert report["audit"] == {"sent": 3, "held": 13}
        with AuditLog.open(data_dir) as log:
            assert log.count() == 0 and log.base().seq == 13  # pruned, the base kept
        # The chain goes on from the pruned base, and both copies still verify.
        fill_log(data_dir, 4, NOW - 100)
        assert sync(data_dir, VICHECK_AUDIT_RETENTION_DAYS="0")["audit"] == {"sent": 4, "held": 17}
    assert run_cli("central", "--home", str(home), "audit", "verify", device).code == 0
    with AuditLog.open(data_dir) as log:
        assert log.count() == 0 and verify_log(log, bytes.fromhex(device_key_hex(data_dir))).ok


def device_key_hex(data_dir: Path) -> str:
    result = run_cli("device", "--json", data_dir=data_dir)
    if result.code == 0:
        return str(result.json["public_key"])
    from audit.device import load_key, public_key  # `vicheck device` not wired yet

    key = load_key(data_dir)
    assert key is not None
    return public_key(key).hex()


def test_central_copy_restored_from_an_older_backup_is_refilled(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        device = enrol(home, fill_log(data_dir, 12, NOW))
        assert sync(data_dir)["audit"] == {"sent": 12, "held": 12}
        with contextlib.closing(sqlite3.connect(home / AUDIT_DB)) as conn, conn:
            conn.execute("DELETE FROM entries WHERE seq > 7")  # the backup held up to 7
            conn.execute("DELETE FROM heads WHERE seq > 7")
        fill_log(data_dir, 2, NOW)
        assert sync(data_dir)["audit"] == {"sent": 2, "held": 14}  # 8-14 sent again
    assert central_count(home) == 14
    assert run_cli("central", "--home", str(home), "audit", "verify", device).code == 0


def test_forwarder_bounds_the_body_and_keeps_the_static_rules(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    fill_log(data_dir, 1, NOW)
    with central_serve(home) as server, httpx.Client(base_url=server.url) as http:
        device = "vt-0123456789abcdef"
        big = http.post(f"/audit/{device}", content=b"x" * (MAX_BODY_BYTES + 1))
        assert big.status_code == 413 and big.json()["error"] == "TOO_LARGE"
        chunked = http.post(f"/audit/{device}", content=iter([b"{", b"}"]))
        assert chunked.status_code == 411
        assert http.post("/feeds/gx/manifest.cose", content=b"{}").status_code == 404
        assert http.get(f"/audit/{device}").status_code == 404  # GET is the static tree's
        bad = http.post(f"/audit/{device}", content=b"[]")
        assert bad.status_code == 400 and bad.json() == {
            "error": "BAD_REQUEST",
            "detail": "not a JSON object",
            "held": 0,
        }
        # A short body: the client stops, the server closes, nothing is stored.
        with socket.create_connection(("127.0.0.1", server.httpd.server_address[1])) as sock:
            head = f"POST /audit/{device} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
            sock.sendall(head.encode() + b"{")
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100) == b""
        assert http.get("/trustlist.cose").status_code == 200  # still serving


def test_sync_uploads_through_real_nginx(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    device = enrol(home, fill_log(data_dir, 40, NOW))
    with audit_app(home) as upstream:
        audit = upstream.removeprefix("http://")
        with real_nginx(home, tmp_path / "nginx", audit) as url:
            init_terminal(data_dir, home, url)
            report = sync(data_dir)
            assert report["exit"] == 0 and report["audit"] == {"sent": 40, "held": 40}, report
            assert sync(data_dir)["audit"] == {"sent": 0, "held": 40}
            assert httpx.get(f"{url}/audit/{device}").status_code == 403  # POST only
            big = httpx.post(f"{url}/audit/{device}", content=b"x" * (MAX_BODY_BYTES + 1))
            assert big.status_code == 413
    assert central_count(home) == 40
    assert len(entries_of(data_dir)) == 40
