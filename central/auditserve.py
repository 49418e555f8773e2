"""``central serve`` with the upload endpoint: one base URL for feeds and uploads.

Terminals know one server URL. ``central serve`` keeps its static server in front
(its request-head deadlines, connection bound and file rules stay as they are) and
forwards ``POST /audit/...`` to the upload app, which uvicorn serves on a Unix
socket in a private folder, reachable by nobody else. That is the same shape as
production, where nginx serves the files and proxies ``/audit/`` to uvicorn
(``central nginx-config``), so the app a terminal reaches is the same in both.

Why the static server forwards and not the reverse: the static server is the one
the fleet hammers at shift start, and its hardening (and the nginx it stands in
for) belongs in front; putting uvicorn in front would mean a second static server
inside Starlette, with other rules for ranges, ETags and symlinks.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from audit.chain import is_device_id
from audit.wire import (
    CONTENT_TYPE,
    MAX_ANSWER_BYTES,
    MAX_BODY_BYTES,
    TOO_LARGE,
    UNKNOWN_DEVICE,
    encode_answer,
)
from central.audit import BODY_TIMEOUT, AuditStore
from central.auditapp import RETRY_AFTER, UNAVAILABLE, AuditServer, build_app
from central.serve import HandlerFactory, StaticHandler

PREFIX: Final = "/audit/"
START_TIMEOUT: Final = 10.0
MAX_FORWARDING: Final = 16
"""Most uploads whose bodies the static server reads at once; one more is refused
at once (503, ``UNAVAILABLE``, ``Retry-After``) and closed. A body may take
``BODY_TIMEOUT`` to arrive and is held whole in memory, and a connection reading one
cannot be evicted for a newcomer: without a bound, a few hundred slow bodies (a byte
a second each) would take every connection of the server that also serves the
feeds, and 8 MiB each of its memory. With it, uploads hold at most this many
connections and this many bodies (128 MiB); the terminals refused sync their
entries next time."""
LINGER: Final = 2.0
"""Seconds a refused body is read and dropped before closing (``_linger``)."""


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 to the upload app's Unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("audit", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class ForwardingHandler(StaticHandler):
    """The static server's handler, plus ``POST /audit/...`` forwarded to the
    upload app at ``upstream`` (a Unix socket path). The body is read whole, under
    the upload bound and ``BODY_TIMEOUT``, before anything is forwarded."""

    def __init__(self, *args: Any, upstream: str, slots: threading.BoundedSemaphore) -> None:
        self.upstream = upstream
        self.slots = slots
        super().__init__(*args)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if not path.startswith(PREFIX):
            self._refuse(404)
            return
        device = path[len(PREFIX) :]
        if not is_device_id(device):  # and so never a byte the upstream request may not carry
            self._refuse(404, encode_answer(0, UNKNOWN_DEVICE, "the address names no device id"))
            return
        length = self.headers.get("Content-Length", "")
        if self.headers.get("Transfer-Encoding") or not length.isascii() or not length.isdigit():
            self._refuse(411)  # a terminal always says its length
            return
        if int(length) > MAX_BODY_BYTES:
            self._refuse(413, encode_answer(0, TOO_LARGE, f"at most {MAX_BODY_BYTES} bytes"))
            return
        if not self.slots.acquire(blocking=False):
            detail = f"{MAX_FORWARDING} uploads are under way: try at the next sync"
            self._refuse(503, encode_answer(0, UNAVAILABLE, detail), RETRY_AFTER)
            return
        try:
            self._upload(PREFIX + device, int(length))
        finally:
            self.slots.release()

    def _upload(self, path: str, length: int) -> None:
        """Read the body, forward it, answer with what the upload app said."""
        body = self._read_body(length)
        if body is None:
            return
        self.close_connection = self._wants_close()  # the body is read: keep-alive is safe
        try:
            status, answer = self._forward(path, body)
        except OSError as exc:
            detail = f"the upload service is not answering: {exc}"
            self._reply(503, encode_answer(0, UNAVAILABLE, detail))
            return
        self._reply(status, answer)

    def _read_body(self, length: int) -> bytes | None:
        """``length`` bytes within ``BODY_TIMEOUT``; None (connection closed) when
        the client stops short or trickles."""
        deadline = time.monotonic() + BODY_TIMEOUT
        chunks, got = [], 0
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(length - got, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except (TimeoutError, OSError):
            got = -1
        if got != length:
            self.close_connection = True
            return None
        return b"".join(chunks)

    def _refuse(self, status: int, body: bytes = b"", retry_after: int | None = None) -> None:
        """Answer a request whose body stays unread, then close as nginx's
        lingering close does: say so (``Connection: close``), stop writing, and
        discard what the client still sends for a moment. Closing at once with
        unread bytes makes the kernel send a reset, which can destroy the answer
        before the client reads it."""
        self.close_connection = True
        self._reply(status, body, retry_after)
        deadline = time.monotonic() + LINGER
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(1 << 16):
                    break

    def _wants_close(self) -> bool:
        said = self.headers.get("Connection", "").lower()
        return "close" in said or self.request_version != "HTTP/1.1"

    def _forward(self, path: str, body: bytes) -> tuple[int, bytes]:
        connection = _UnixConnection(self.upstream, BODY_TIMEOUT)
        try:
            connection.request(
                "POST", path, body, {"Content-Type": CONTENT_TYPE, "Connection": "close"}
            )
            response = connection.getresponse()
            return response.status, response.read(MAX_ANSWER_BYTES)
        finally:
            connection.close()

    def _reply(self, status: int, body: bytes, retry_after: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def audit_beside(home: Path, verbose: bool = False) -> Iterator[HandlerFactory]:
    """Run the upload app for ``home`` on a private Unix socket in a thread, and
    give the static server's handler that forwards to it (its handlers share one
    bound of ``MAX_FORWARDING`` uploads at once); stopped on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="vicheck-audit-") as folder,
        AuditStore.of_home(home) as store,
    ):
        os.chmod(folder, 0o700)
        path = os.path.join(folder, "audit.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(512)
        server = AuditServer(build_app(store), sock, verbose)
        thread = threading.Thread(target=server.run, name="vicheck-audit", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            if not server.started:
                raise RuntimeError("the upload service did not start")
            slots = threading.BoundedSemaphore(MAX_FORWARDING)
            yield functools.partial(ForwardingHandler, upstream=path, slots=slots)
        finally:
            server.stop()
            thread.join(START_TIMEOUT)
            sock.close()
