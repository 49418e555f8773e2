"""Audit worlds for tests and the bench: a terminal's real log filled fast, a
device enrolled centrally, the real upload app under uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from nacl.signing import SigningKey

from audit.chain import Entry
from audit.device import device_of, ensure_key, public_key
from audit.store import AuditLog, open_db
from central.audit import AuditStore
from central.auditapp import AuditServer, build_app

PLATES = ("桂A12345", "桂B00001", "粤B99999")


def fill_log(
    data_dir: Path, count: int, start: int, *, key: SigningKey | None = None
) -> SigningKey:
    """Append ``count`` entries to ``data_dir``'s real audit log, one second apart
    from ``start``, signed by its device key (made if missing). The log's own
    durability is turned off for the filling only: tests need tens of thousands of
    entries, not tens of thousands of fsyncs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = key or ensure_key(data_dir)
    conn = open_db(data_dir)
    conn.execute("PRAGMA synchronous = OFF")
    with AuditLog(conn, key) as log:
        base = log.newest()
        for i in range(count):
            n = base + i
            log.append(
                time=start + n,
                how=("camera", "wedge", "typed", "lookup", "image")[n % 5],
                verdict=("VALID", "CHECK", "INVALID", "ALERT")[n % 4],
                officer="010203",
                plate=PLATES[n % len(PLATES)],
                plate_type="02",
                reasons=("EXPIRED",) if n % 4 == 2 else (),
                trust_list=3,
                feeds=[("gx", 1 + n // 100), ("hot", 7)],
            )
    return key


def entries_of(data_dir: Path) -> list[Entry]:
    with AuditLog.open(data_dir) as log:
        return log.since(log.base().seq)


def enrol(home: Path, key: SigningKey) -> str:
    """Enrol ``key``'s device in ``home``'s central store; its id."""
    device = device_of(key)
    with AuditStore.of_home(home) as store:
        store.add_device(device, public_key(key), 0)
    return device


@contextlib.contextmanager
def audit_app(home: Path) -> Iterator[str]:
    """The upload app of ``home`` under uvicorn on a free 127.0.0.1 port, in a
    thread; its base URL."""
    with AuditStore.of_home(home) as store, socket.create_server(("127.0.0.1", 0)) as sock:
        server = AuditServer(build_app(store), sock)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.stop()
            thread.join(10)
