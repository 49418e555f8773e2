"""The audit upload under attack, both ways, over real HTTP on 127.0.0.1.

A hostile central server answering ``vicheck sync``: acknowledgements for entries
never sent, numbers that are not sequence numbers, huge answers, redirects, and
answers trickled a byte at a time; none may make the terminal forget an entry it
has not had acknowledged, fail the feeds or outlive the sync's deadline. An
outsider posting to ``central serve``'s ``/audit/``: addresses that are no device,
bodies built to make the parser allocate, slow bodies holding connections, forks,
replays and concurrent uploads; the feeds keep being served and the chain held
stays exactly what the terminal signed. And the officer holding the terminal,
rolling the log back to an older copy: the central copy shows it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from audit.chain import entry_hash, sign_head
from audit.device import device_of
from audit.store import AuditLog
from audit.wire import MAX_BODY_BYTES, MAX_ENTRIES, Head, WireError, decode_upload, encode_upload
from central.audit import AUDIT_DB
from central.auditapp import MAX_UPLOADS_AT_ONCE
from central.auditserve import MAX_FORWARDING
from central.serve import HandlerFactory, StaticHandler, StaticServer
from devkit.audit import audit_app, enrol, entries_of, fill_log
from tests.support import T0, run_cli
from tests.support.audit import central_serve, fresh_copy, init_terminal, publish_home, sync

NOW = int(time.time())
"""Entries made now: young, kept after their acknowledgement unless told otherwise."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_home(tmp_path_factory, 50)


@pytest.fixture()
def home(published: Path, tmp_path: Path) -> Path:
    return fresh_copy(published, tmp_path)


# --- (b) a hostile central server --------------------------------------------------

Behaviour = Callable[[StaticHandler, bytes, int], None]
"""What the hostile server does with an upload: the handler, the body it read, and
how many uploads came before this one."""


@contextlib.contextmanager
def hostile_server(home: Path, behave: Behaviour) -> Iterator[tuple[StaticServer, list[bytes]]]:
    """The published feed tree, served as ``central serve`` serves it (so the feeds
    sync), whose ``POST /audit/...`` does ``behave``; the bodies it received."""
    bodies: list[bytes] = []

    class Hostile(StaticHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            bodies.append(body)
            with contextlib.suppress(OSError):
                behave(self, body, len(bodies) - 1)

    factory: HandlerFactory = Hostile
    with StaticServer(home / "public", handler=factory) as server:
        yield server, bodies


def reply(handler: StaticHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def sent_seqs(bodies: list[bytes]) -> set[int]:
    """Every seq the terminal put in an upload."""
    return {e.seq for body in bodies for e in decode_upload(body).entries}


def test_an_ack_for_entries_never_sent_deletes_none_of_them(home: Path, tmp_path: Path) -> None:
    """Two batches are pending; the server answers the first with a ``held`` that
    covers both, then refuses. The terminal must not take the second batch as
    held: with a retention of 0 it would delete entries nobody received."""
    data_dir = tmp_path / "t"
    total = MAX_ENTRIES + 5
    fill_log(data_dir, total, NOW - total)

    def claim_everything(handler: StaticHandler, _body: bytes, n: int) -> None:
        if n == 0:
            reply(handler, 200, json.dumps({"held": total}).encode())
        else:
            reply(handler, 503, b'{"error": "UNAVAILABLE", "detail": "", "held": 0}')

    with hostile_server(home, claim_everything) as (server, bodies):
        init_terminal(data_dir, home, server.url)
        report = sync(data_dir, VICHECK_AUDIT_RETENTION_DAYS="0")
    assert report["exit"] == 0 and report["feeds"][0]["status"] == "updated"
    assert report["audit"]["held"] == MAX_ENTRIES, report["audit"]
    with AuditLog.open(data_dir) as log:
        kept = {e.seq for e in log.since(0)}
        assert log.held == MAX_ENTRIES
    lost = set(range(1, total + 1)) - kept
    assert lost <= sent_seqs(bodies), "entries deleted that were never uploaded"
    assert kept == set(range(MAX_ENTRIES + 1, total + 1))


@pytest.mark.parametrize(
    "answer",
    [
        b'{"held": -1}',
        b'{"held": 1.5}',
        b'{"held": "12"}',
        b'{"held": true}',
        b'{"held": null}',
        b'{"held": 1e400}',
        b'{"held": NaN}',
        b'{"held": 9223372036854775808}',  # 2**63: no sequence number
        b'{"held": 1' + b"0" * 5000 + b"}",  # past Python's int-from-text limit
        b'[{"held": 12}]',
        b'{"held": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"<html>502 Bad Gateway</html>",
        b'{"held": 12, "pad": "' + b"x" * (1 << 20) + b'"}',  # a huge answer
    ],
    ids=lambda a: a[:24].decode("ascii", "replace"),
)
def test_an_answer_that_is_no_sequence_number_acknowledges_nothing(
    answer: bytes, home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "t"
    fill_log(data_dir, 12, NOW)
    with hostile_server(home, lambda h, _b, _n: reply(h, 200, answer)) as (server, _):
        init_terminal(data_dir, home, server.url)
        report = sync(data_dir, VICHECK_AUDIT_RETENTION_DAYS="0")
    assert report["exit"] == 0 and report["feeds"][0]["status"] == "updated", report
    audit = report["audit"]
    assert audit["error"] == "BAD_ANSWER" and audit["held"] == 0, audit
    assert len(audit["detail"]) <= 600
    with AuditLog.open(data_dir) as log:
        assert log.held == 0 and log.count() == 12


def test_a_redirect_is_not_followed_and_acknowledges_nothing(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    fill_log(data_dir, 3, NOW)
    with contextlib.ExitStack() as stack:
        _, elsewhere_bodies = stack.enter_context(
            hostile_server(home, lambda h, _b, _n: reply(h, 200, b'{"held": 3}'))
        )
        elsewhere = "http://127.0.0.1:1"

        def redirect(handler: StaticHandler, _body: bytes, _n: int) -> None:
            reply(handler, 307, b'{"held": 3}', Location=f"{elsewhere}/audit/x")

        server, _ = stack.enter_context(hostile_server(home, redirect))
        init_terminal(data_dir, home, server.url)
        report = sync(data_dir)
    assert report["exit"] == 0 and report["audit"]["error"] == "BAD_ANSWER", report
    assert elsewhere_bodies == []
    with AuditLog.open(data_dir) as log:
        assert log.held == 0


def test_hostile_words_in_a_refusal_stay_words(home: Path, tmp_path: Path) -> None:
    """A refusal's code and detail are the server's text: bounded, and printed as
    text (``vicheck sync`` without --json) no control character reaches the screen."""
    data_dir = tmp_path / "t"
    fill_log(data_dir, 2, NOW)
    evil = {"error": "GAP\x1b[2J" + "E" * 500, "detail": "\x1b]0;pwned\x07\x9b1m" * 400, "held": 0}
    answer = json.dumps(evil).encode()
    with hostile_server(home, lambda h, _b, _n: reply(h, 409, answer)) as (server, _):
        init_terminal(data_dir, home, server.url)
        report = sync(data_dir)
        text = run_cli("sync", data_dir=data_dir)
    assert report["exit"] == 0 and len(report["audit"]["error"]) <= 64
    assert len(report["audit"]["detail"]) <= 500
    assert text.code == 0 and "\x1b" not in text.out + text.err and "\x9b" not in text.out


def trickle_body(handler: StaticHandler, _body: bytes, _n: int) -> None:
    """A whole answer head, then a body one byte every 0.2 s (under any read timeout)."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    handler.wfile.flush()
    for _ in range(300):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def trickle_head(handler: StaticHandler, _body: bytes, _n: int) -> None:
    """The answer's head itself, a byte every 0.2 s: a header that never ends."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    handler.wfile.flush()
    for _ in range(300):
        handler.wfile.write(b"a")
        handler.wfile.flush()
        time.sleep(0.2)


def stall(handler: StaticHandler, _body: bytes, _n: int) -> None:
    """Read the upload, then say nothing at all."""
    time.sleep(60)


@pytest.mark.parametrize("behave", [trickle_body, trickle_head, stall], ids=lambda b: b.__name__)
def test_a_stalled_answer_keeps_to_the_sync_deadline(
    behave: Behaviour, home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "t"
    fill_log(data_dir, 5, NOW)
    deadline = 4.0
    with hostile_server(home, behave) as (server, _):
        init_terminal(data_dir, home, server.url)
        report = sync(data_dir, VICHECK_SYNC_DEADLINE=str(deadline))
    assert report["exit"] == 0 and report["feeds"][0]["status"] == "updated", report
    assert report["audit"]["error"] == "OFFLINE" and report["audit"]["held"] == 0
    assert report["seconds"] < deadline + 2.0, report["seconds"]
    with AuditLog.open(data_dir) as log:
        assert log.held == 0 and log.count() == 5


# --- (a) an outsider posting to /audit/ -------------------------------------------


def port_of(server: StaticServer) -> int:
    return int(server.httpd.server_address[1])


def raw_post(port: int, path: bytes, body: bytes = b"{}") -> tuple[int, bytes]:
    """One POST whose request line is these bytes exactly; (status, body) read
    until the server closes."""
    head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), data[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


NO_DEVICE = [
    b"/audit/vt-\xff\xfe0123456789abcd",  # not ASCII
    b"/audit/vt-\x01bcdef0123456789",  # a control character
    b"/audit/../../etc/passwd",
    b"/audit/%2e%2e%2f%2e%2e%2fregistry.db",
    b"/audit/vt-0123456789ABCDEF",  # upper case: not what device_id makes
    "/audit/vt-０１２３４５６７８９abcdef".encode(),  # full-width digits
    b"/audit/vt-0123456789abcdef/more",
    b"/audit/vt-0123456789abcdef%00",
    b"/audit/" + b"a" * 4000,
    b"/audit/",
]


def test_an_address_that_names_no_device_is_answered_as_such(home: Path) -> None:
    """Through ``central serve``'s forwarder and through uvicorn alone: a JSON
    refusal for each, and both keep serving."""
    with central_serve(home) as server:
        for path in NO_DEVICE:
            status, body = raw_post(port_of(server), path)
            assert status == 404 and json.loads(body)["error"] == "UNKNOWN_DEVICE", (path, body)
        assert httpx.get(server.url + "/trustlist.cose").status_code == 200
    with audit_app(home) as url:
        port = int(url.rsplit(":", 1)[1])
        for path in NO_DEVICE:
            status, body = raw_post(port, path)
            if path.isascii() and b"\x01" not in path:
                assert status == 404 and json.loads(body)["error"] == "UNKNOWN_DEVICE", path
            else:  # not a request line HTTP allows: h11 refuses it before the app
                assert status == 400, (path, body)
        answer = httpx.post(f"{url}/audit/vt-0123456789abcdef/more", content=b"{}")
        assert answer.status_code == 404 and answer.json()["error"] == "UNKNOWN_DEVICE"


def _allocating_bodies() -> dict[str, bytes]:
    """8 MiB bodies that are valid JSON and cheap to send, built so that parsing
    them would cost hundreds of megabytes."""
    fill = MAX_BODY_BYTES - 200
    return {
        "objects": b'{"entries":[' + b",".join([b"{}"] * (fill // 3)) + b"]}",
        "arrays": b'{"entries":[' + b",".join([b"[]"] * (fill // 3)) + b"]}",
        "numbers": b'{"entries":[' + b",".join([b"0"] * (fill // 2)) + b"]}",
        "nested": b'{"x":' + b"[" * (fill // 2) + b"]" * (fill // 2) + b"}",
    }


def test_a_body_built_to_make_the_parser_allocate_is_refused_before_parsing(
    home: Path,
) -> None:
    for name, body in _allocating_bodies().items():
        assert len(body) <= MAX_BODY_BYTES
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(WireError) as refused:
                decode_upload(body)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert refused.value.code == "BAD_REQUEST", name
        assert peak < 4 * 1024 * 1024, (name, peak)  # nothing built: only counted
        assert time.monotonic() - started < 1.0, name
    with central_serve(home) as server:
        answer = httpx.post(
            f"{server.url}/audit/vt-0123456789abcdef", content=_allocating_bodies()["objects"]
        )
    assert answer.status_code == 400 and answer.json()["error"] == "BAD_REQUEST"


def test_numbers_no_entry_holds_are_a_bad_request(tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    key = fill_log(data_dir, 2, T0)
    home = tmp_path / "home"
    device = enrol(home, key)
    good = json.loads(upload_body(key, entries_of(data_dir)))
    with audit_app(home) as url:
        for seq in ("1" + "0" * 5000, str(2**63), str(2**64 + 2), "2.0", "true"):
            text = json.dumps(good, separators=(",", ":"))
            assert '"seq":2' in text
            body = text.replace('"seq":2', f'"seq":{seq}').encode()
            answer = httpx.post(f"{url}/audit/{device}", content=body)
            assert answer.status_code == 400, (seq[:20], answer.text[:200])
            assert answer.json()["error"] == "BAD_REQUEST"
        assert httpx.post(f"{url}/audit/{device}", content=json.dumps(good)).json() == {"held": 2}


def slow_upload(port: int, device: str = "vt-0123456789abcdef") -> socket.socket:
    """A POST that declares a full-size body and sends one byte of it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST /audit/{device} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n"
    sock.sendall(head.encode() + b"{")
    return sock


def test_slow_uploads_cannot_take_the_feed_servers_connections(home: Path) -> None:
    """More slow bodies than the forwarder reads at once, as many as the server has
    connections: those past ``MAX_FORWARDING`` are refused at once (503, JSON)
    and closed, the feeds go on being served while the rest still trickle."""
    limit = MAX_FORWARDING + 8
    with central_serve(home, max_connections=limit) as server, contextlib.ExitStack() as stack:
        port = port_of(server)
        slow = [stack.enter_context(slow_upload(port)) for _ in range(limit)]
        refused = 0
        for sock in slow:
            sock.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                answer = sock.recv(4096)
                if answer.startswith(b"HTTP/1.1 503"):
                    refused += 1
                    assert b'"UNAVAILABLE"' in answer and b"Retry-After" in answer
        assert refused == limit - MAX_FORWARDING
        deadline = time.monotonic() + 10
        while True:  # the refused ones are gone within their lingering close
            got = httpx.get(server.url + "/trustlist.cose")
            if got.status_code == 200:
                break
            assert time.monotonic() < deadline, "the feeds stayed unreachable"
            time.sleep(0.2)


def test_the_upload_app_takes_a_bounded_number_of_uploads_at_once(tmp_path: Path) -> None:
    """uvicorn alone: while ``MAX_UPLOADS_AT_ONCE`` bodies trickle in, one more
    waits its short queue and is told to come back (503), instead of adding its
    8 MiB and its parse to the server's memory; after, uploads go through."""
    from central.audit import AuditStore
    from central.auditapp import AuditServer, build_app

    data_dir = tmp_path / "t"
    key = fill_log(data_dir, 3, T0)
    home = tmp_path / "home"
    device = enrol(home, key)
    with AuditStore.of_home(home) as store, socket.create_server(("127.0.0.1", 0)) as listener:
        server = AuditServer(build_app(store, queue_wait=0.5), listener)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = listener.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        try:
            with contextlib.ExitStack() as stack:
                for _ in range(MAX_UPLOADS_AT_ONCE):
                    stack.enter_context(slow_upload(port, device))
                time.sleep(0.3)
                busy = httpx.post(
                    f"{url}/audit/{device}", content=upload_body(key, entries_of(data_dir))
                )
                assert busy.status_code == 503 and busy.json()["error"] == "UNAVAILABLE"
                assert busy.headers.get("retry-after")
            deadline = time.monotonic() + 10
            while True:  # the trickling ones were dropped: their slots are free
                answer = httpx.post(
                    f"{url}/audit/{device}", content=upload_body(key, entries_of(data_dir))
                )
                if answer.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert answer.json() == {"held": 3}
        finally:
            server.stop()
            thread.join(10)


def upload_body(key: SigningKey, entries: list[Any], head_of: Any = None) -> bytes:
    device = device_of(key)
    last = head_of or entries[-1]
    head = Head(last.seq, entry_hash(last), sign_head(device, last, key))
    return encode_upload(device, entries, head)


def test_replays_forks_borrowed_heads_and_concurrent_uploads(tmp_path: Path) -> None:
    data_dir, fork_dir = tmp_path / "t", tmp_path / "fork"
    key = fill_log(data_dir, 40, T0)
    fill_log(fork_dir, 40, T0 + 7, key=key)  # the same key, another history
    home = tmp_path / "home"
    device = enrol(home, key)
    entries, forked = entries_of(data_dir), entries_of(fork_dir)
    with audit_app(home) as url:

        def post(body: bytes) -> httpx.Response:
            return httpx.post(f"{url}/audit/{device}", content=body, timeout=30)

        old = upload_body(key, entries[:5])
        assert post(old).json() == {"held": 5}
        assert post(upload_body(key, entries[5:10])).json() == {"held": 10}
        assert post(old).json() == {"held": 10}  # a replay changes nothing
        # A fork, at and past what is held, with the key's own signatures.
        assert post(upload_body(key, forked[:12])).json()["error"] == "FORK"
        assert (
            post(upload_body(key, [entries[9].replace(verdict="VALID")])).json()["error"] == "FORK"
        )
        # A head that was really signed, for other entries than the ones sent.
        real = json.loads(upload_body(key, entries[10:12]))
        real["entries"] = json.loads(upload_body(key, forked[10:12]))["entries"]
        assert post(json.dumps(real).encode()).json()["error"] == "BAD_REQUEST"
        real = json.loads(upload_body(key, forked[10:12]))
        real["head"]["signature"] = json.loads(upload_body(key, entries[10:12]))["head"][
            "signature"
        ]
        assert post(json.dumps(real).encode()).json()["error"] == "BAD_SIGNATURE"
        # Many uploads of one device at once, overlapping: each seq stored once.
        bodies = [upload_body(key, entries[i : i + 12]) for i in range(8, 36, 3)]
        answers: list[int] = []
        workers = [
            threading.Thread(target=lambda b=b: answers.append(post(b).status_code))
            for b in bodies * 2
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert set(answers) <= {200, 409} and 200 in answers
        assert post(upload_body(key, entries[10:])).json() == {"held": 40}
    with contextlib.closing(sqlite3.connect(home / AUDIT_DB)) as conn:
        seqs = [s for (s,) in conn.execute("SELECT seq FROM entries ORDER BY seq")]
    assert seqs == list(range(1, 41))
    verified = run_cli("central", "--home", str(home), "audit", "verify", device, "--json")
    assert verified.code == 0 and verified.json["last"] == 40


def test_hostile_strings_in_entries_are_kept_as_signed_and_exported_as_data(
    home: Path, tmp_path: Path
) -> None:
    """A plate read off a forged code can be any text: escapes, markup, NUL. It is
    evidence: stored as signed, and exported as JSON data, never as raw controls."""
    from audit.device import ensure_key

    data_dir = tmp_path / "t"
    data_dir.mkdir()
    hostile = {
        "plate": "\x1b[2J\x1b]0;x\x07桂A",
        "officer": "<script>alert(1)</script>",
        "serial": "\x00" * 64,
        "plate_type": "'); DROP TABLE entries;--",
    }
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(central_serve(home))
        init_terminal(data_dir, home, server.url)
        with AuditLog.open(data_dir, ensure_key(data_dir)) as log:
            log.append(time=NOW, how="camera", verdict="INVALID", reasons=("\x1b[31m",), **hostile)
            device = str(log.device)
        enrol(home, ensure_key(data_dir))
        assert sync(data_dir)["audit"] == {"sent": 1, "held": 1}
    exported = run_cli("central", "--home", str(home), "audit", "export", "--device", device)
    local = run_cli("audit", "export", "--json", data_dir=data_dir)
    for out in (exported.out, local.out):
        assert not any(c in out for c in "\x00\x1b\x07"), out
        row = json.loads(out.splitlines()[0])
        assert {name: row[name] for name in hostile} == hostile
    assert run_cli("central", "--home", str(home), "audit", "verify", device).code == 0


# --- (c) the officer holding the terminal ------------------------------------------


def copy_db(src: Path, dst: Path) -> None:
    """The whole database as it is now (SQLite's backup: what a copy of the file
    taken while nothing writes holds)."""
    with (
        contextlib.closing(sqlite3.connect(src)) as a,
        contextlib.closing(sqlite3.connect(dst)) as b,
    ):
        a.backup(b)


def test_a_log_rolled_back_to_an_older_copy_shows_at_the_next_upload(
    home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "t"
    saved = tmp_path / "older-copy.sqlite"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        device = enrol(home, fill_log(data_dir, 10, NOW))
        copy_db(data_dir / "audit.sqlite", saved)  # 10 entries, none uploaded yet
        fill_log(data_dir, 5, NOW)
        assert sync(data_dir)["audit"] == {"sent": 15, "held": 15}
        copy_db(saved, data_dir / "audit.sqlite")  # the officer puts the old copy back
        # The copy is a chain the device signed: the terminal alone cannot tell.
        assert run_cli("audit", "verify", data_dir=data_dir).code == 0
        audit = sync(data_dir)["audit"]
        assert audit["error"] == "CENTRAL_AHEAD" and audit["held"] == 10, audit
        assert "15" in audit["detail"]
        fill_log(data_dir, 1, NOW + 999)  # the next check takes seq 11 a second time
        audit = sync(data_dir)["audit"]
        assert audit["error"] == "FORK" and audit["held"] == 10, audit
    # What the central side holds is still the device's whole chain, untouched.
    verified = run_cli("central", "--home", str(home), "audit", "verify", device, "--json")
    assert verified.code == 0 and verified.json["last"] == 15


def test_a_new_log_or_a_new_key_does_not_continue_the_chain(home: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        device = enrol(home, fill_log(data_dir, 6, NOW))
        assert sync(data_dir)["audit"] == {"sent": 6, "held": 6}
        for name in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"):
            (data_dir / name).unlink(missing_ok=True)
        fill_log(data_dir, 2, NOW + 999)  # a fresh log, the same key: seq 1 again
        assert sync(data_dir)["audit"]["error"] == "FORK"
        (data_dir / "device.key").unlink()
        for name in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"):
            (data_dir / name).unlink(missing_ok=True)
        fill_log(data_dir, 2, NOW)  # a new key: another device, not enrolled
        assert sync(data_dir)["audit"]["error"] == "UNKNOWN_DEVICE"
    verified = run_cli("central", "--home", str(home), "audit", "verify", device, "--json")
    assert verified.code == 0 and verified.json["last"] == 6


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE chain SET held = 'all of them'",
        "UPDATE chain SET newest = x'00'",
        "UPDATE chain SET base_seq = 1e300",
        "UPDATE chain SET held = 99999999999999999999",  # stored as REAL: past any seq
        "UPDATE chain SET device = 'vt-../../feeds/gx'",
        "UPDATE chain SET device = char(10)",
        "UPDATE entries SET signature = x'00' WHERE seq = 2",
    ],
)
def test_a_chain_row_edited_into_nonsense_fails_the_upload_not_the_sync(
    edit: str, home: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "t"
    with central_serve(home) as server:
        init_terminal(data_dir, home, server.url)
        enrol(home, fill_log(data_dir, 3, NOW))
        with contextlib.closing(sqlite3.connect(data_dir / "audit.sqlite")) as conn, conn:
            conn.execute(edit)
        report = sync(data_dir)
        assert report["exit"] == 0 and report["feeds"][0]["status"] == "updated", report
        audit = report["audit"]
        # Refused, or (the entries themselves untouched) uploaded as the device signed them.
        assert audit.get("error") == "AUDIT_LOG" or audit == {"sent": 3, "held": 3}, audit
    verified = run_cli("audit", "verify", data_dir=data_dir)
    assert verified.code == 7 and "unexpected" not in verified.err, verified  # a finding
