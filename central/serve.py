"""``central serve``: static HTTP of the published tree, for development and the demo.

What a terminal needs from any static server, and no more: GET and HEAD, correct
Content-Length, single byte ranges (206, 416; any other Range is ignored, as RFC
9110 allows), strong ETags with If-None-Match (304) and If-Range, Cache-Control
that lets a CDN keep versioned files forever and manifests never. Files go out
with ``sendfile``, and only files whose real path lies inside the root, so a
symlink in the published tree cannot publish what lies outside it. Production
uses nginx or a CDN instead (``central nginx-config``); this server binds
127.0.0.1 unless told otherwise.

It still must not fall over when a client misbehaves: every request head has a
deadline and size bounds, idle keep-alives time out, and the number of open
connections is bounded (the longest-waiting one makes room for a newcomer), so a
few hundred stuck sockets cannot starve the terminals or spin the accept loop.

``StaticHandler`` is public so that a test server can bend it (devkit's
fault-injecting feed server): ``serve`` answers GET and HEAD, ``send_entity`` is
the one place a file's response goes out. ``close`` returns at once: the accept
loop waits on the listener and on a wake-up socket, not on a poll interval.
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import io
import os
import re
import resource
import selectors
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

MUTABLE = ("trustlist.cose", "manifest.cose")
MAX_LINE = 8192  # request line or one header line, as nginx's default buffer
MAX_HEADERS = 64  # header lines; a terminal sends five
MAX_HEAD = 32768  # all header lines together, so 256 stuck heads stay under 8 MiB
MAX_RANGE = 64  # characters of a Range value; ours is one span, a longer one is ignored
MAX_RANGE_DIGITS = 18  # a position past 10**18 bytes is no file of ours
BEYOND = 10**MAX_RANGE_DIGITS  # what a longer position means: past the end of any file
RANGE_SPEC_RE = re.compile(r"([0-9]*)-([0-9]*)")  # int-range or suffix-range (RFC 9110 14.1.1)
LIST_SEP_RE = re.compile(r"[ \t]*,[ \t]*")  # a list's comma with its optional whitespace
ETAG_RE = re.compile(r'(?:W/)?"([^"]*)"')  # one entity-tag of a list: its opaque part
Span = tuple[int, int] | Literal["ignore", "unsatisfiable"]
EVICT_WAIT = 1.0  # seconds for an evicted handler to close its socket
ACCEPT_BACKOFF = 0.1  # seconds between accepts while out of descriptors
FDS_PER_CONNECTION = 2  # the socket and the file being sent
FD_RESERVE = 64  # descriptors left for the listener, SQLite, logging, the interpreter
FD_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _TooLarge(Exception):
    """A request line or header block over its bound; ``status`` is the answer."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class StaticHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files under the server's root, under the server's bounds."""

    server_version = "vicheck-central"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body of a
    # small file waits for the client's delayed ACK, 40 ms per manifest.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self._accepted = time.monotonic()
        self._requests = 0

    @property
    def _server(self) -> _Server:
        return cast(_Server, self.server)

    def log_message(self, *args: Any) -> None:
        if self._server.verbose:
            super().log_message(*args)

    def handle_one_request(self) -> None:
        """One request, read under our own bounds instead of the stdlib's.

        The stdlib reads a head with no deadline at all (a client that sends half a
        request line holds a thread and a descriptor forever) and lets a line be
        64 KiB. Here the whole head must arrive within ``header_timeout`` and fit
        ``MAX_LINE``/``MAX_HEADERS``/``MAX_HEAD``; the stdlib then parses the bytes
        we read, so its request-line and header semantics are unchanged.
        """
        try:
            head = self._read_head()
        except TimeoutError:
            self.close_connection = True
            return
        except _TooLarge as exc:
            self.requestline = self.command = self.request_version = ""
            self.send_error(exc.status)  # also sets close_connection: the rest is unread
            return
        if head is None:
            self.close_connection = True
            return
        self._requests += 1
        self.raw_requestline, block = head
        self.connection.settimeout(self._server.idle_timeout)  # a stalled reader
        reader, self.rfile = self.rfile, io.BytesIO(block)
        try:
            parsed = self.parse_request()
        finally:
            self.rfile = reader
        if not parsed:
            return
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # a body we never read must not pose as a request
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED)
            return
        try:
            method()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _read_head(self) -> tuple[bytes, bytes] | None:
        """Request line and header block, or None when the client closed or idled out.

        A first request has ``header_timeout`` from the accept; on a kept-alive
        connection the next one may take ``idle_timeout`` to start, then has
        ``header_timeout`` to finish. While waiting the connection is evictable.
        """
        server = self._server
        server.connections.waiting(self.connection)
        if self._requests == 0:
            deadline = self._accepted + server.header_timeout
        else:
            try:
                if not self._fill(time.monotonic() + server.idle_timeout):
                    return None
            except TimeoutError:
                return None
            deadline = time.monotonic() + server.header_timeout
        line = self._readline(deadline, HTTPStatus.REQUEST_URI_TOO_LONG)
        if not line:
            return None
        lines: list[bytes] = []
        size = 0
        while True:
            header = self._readline(deadline, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            if not header:
                return None  # closed in the middle of its head: nobody to answer
            if header in (b"\r\n", b"\n"):
                break
            lines.append(header)
            size += len(header)
            if len(lines) > MAX_HEADERS or size > MAX_HEAD:
                raise _TooLarge(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        server.connections.busy(self.connection)
        return line, b"".join(lines) + b"\r\n"

    def _readline(self, deadline: float, status: HTTPStatus) -> bytes:
        """One line of at most ``MAX_LINE`` bytes, all of it before ``deadline``.

        ``rfile.readline`` would reset the socket timeout on every recv, so a client
        trickling a byte a second would never time out; this reads what one recv
        gives (``peek``) and re-arms the timeout with what is left of the deadline.
        """
        line = bytearray()
        while True:
            chunk = self._fill(deadline)
            if not chunk:
                return bytes(line)
            room = MAX_LINE + 1 - len(line)
            cut = chunk.find(b"\n", 0, room)
            line += self.rfile.read(cut + 1 if cut >= 0 else min(len(chunk), room))
            if cut >= 0:
                return bytes(line)
            if len(line) > MAX_LINE:
                raise _TooLarge(status)

    def _fill(self, deadline: float) -> bytes:
        """Buffered bytes, after at most one recv that must finish by ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request head not received in time")
        self.connection.settimeout(remaining)
        return cast(io.BufferedReader, self.rfile).peek(1)

    def do_HEAD(self) -> None:
        self.serve(body=False)

    def do_GET(self) -> None:
        self.serve(body=True)

    def serve(self, body: bool) -> None:
        """Answer a GET (``body``) or HEAD of ``self.path``: the file, 304, 404, 416 or 503."""
        resolved = self._resolve()
        if resolved is None:
            self._status(404)
            return
        name, path = resolved
        try:
            handle = self._open(path)
        except OSError as exc:
            self._status(503 if exc.errno in FD_EXHAUSTED else 404)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            size = stat.st_size
            etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
            cache = "no-cache" if name in MUTABLE else "public, max-age=31536000, immutable"
            if _none_match(self.headers.get("If-None-Match"), etag):
                # A 304 carries the ETag and Cache-Control a 200 would (RFC 9110 15.4.5).
                self._status(304, {"ETag": etag, "Cache-Control": cache})
                return
            start, end = 0, size
            status = 200
            headers = {
                "ETag": etag,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
                "Cache-Control": cache,
            }
            wanted = self.headers.get("Range")
            if wanted is not None and self.headers.get("If-Range", etag) == etag:
                span = _range(wanted, size)
                if span == "unsatisfiable":
                    self._status(416, {"Content-Range": f"bytes */{size}"})
                    return
                if span != "ignore":
                    start, end = span
                    status = 206
                    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
            self.send_entity(status, headers, handle, start, end - start, body)

    def send_entity(
        self,
        status: int,
        headers: dict[str, str],
        handle: BinaryIO,
        start: int,
        length: int,
        body: bool,
    ) -> None:
        """Status, ``headers`` and Content-Length, then (for a GET) ``length`` bytes of
        ``handle`` from ``start`` with ``sendfile``."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if body and length:
            self.wfile.flush()
            try:
                self.connection.sendfile(handle, start, length)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _open(self, path: Path) -> BinaryIO:
        """Open ``path``; out of descriptors, evict a waiting client and try once more.

        Our own accept may have taken the last descriptor, and a request that was
        admitted should not fail for want of the one its file needs.
        """
        try:
            return open(path, "rb", opener=_no_follow)
        except OSError as exc:
            if exc.errno not in FD_EXHAUSTED:
                raise
        self._server.connections.relieve()
        return open(path, "rb", opener=_no_follow)

    def _resolve(self) -> tuple[str, Path] | None:
        """The name a URL asks for and the real path of its file; None unless inside the root.

        The URL is checked first (no empty, dot or dot-dot segment, no dotfile), then
        the path with every symlink resolved: a link in the published tree to a file
        or directory outside it (or to a dotfile) is refused like traversal. The name
        (for Cache-Control) is the URL's, since a link ``manifest.cose`` stays mutable
        whatever it points at.
        """
        root = self._server.root
        relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        parts = relative.split("/")
        if not relative or any(_hidden(p) for p in parts):
            return None
        try:
            real = root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # missing, a link loop, a NUL byte
            return None
        if not real.is_relative_to(root) or any(_hidden(p) for p in real.relative_to(root).parts):
            return None
        return (parts[-1], real) if real.is_file() else None

    def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _no_follow(path: str, flags: int) -> int:
    """Open a resolved path, refusing a symlink swapped in since it was resolved."""
    return os.open(path, flags | os.O_NOFOLLOW)


def _hidden(part: str) -> bool:
    """A path segment never served: empty, ``.``, ``..`` or a dotfile."""
    return part in ("", ".", "..") or part.startswith(".")


def _none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match matches the file's ``etag`` (RFC 9110 13.1.2).

    ``*`` matches any file that exists; otherwise a list of entity-tags, compared
    weakly (``W/"x"`` matches ``"x"``). Tags are found by their quotes, not split
    on commas, since a tag may contain one.
    """
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return etag.strip('"') in ETAG_RE.findall(header)


def _range(header: str, size: int) -> Span:
    """What a Range value asks of a ``size``-byte file (RFC 9110 14.1, 14.2).

    One satisfiable byte range gives its [start, end). ``"unsatisfiable"`` (416)
    is a valid single range starting at or past the end, or ``bytes=-0``. Anything
    else is ``"ignore"`` (200, the whole file), which the RFC allows and requires
    for an unknown unit: an invalid value, several ranges (we send no multipart),
    an empty file, and a value over ``MAX_RANGE`` characters, so a 5,000-digit
    number is answered at once without being read.
    """
    value = header.strip(" \t")
    unit, equals, spec_set = value.partition("=")
    if len(value) > MAX_RANGE or size == 0 or not equals or unit.lower() != "bytes":
        return "ignore"
    specs = [spec for spec in LIST_SEP_RE.split(spec_set) if spec]
    match = RANGE_SPEC_RE.fullmatch(specs[0]) if len(specs) == 1 else None
    if match is None or match.group(1) == match.group(2) == "":
        return "ignore"
    first, last = match.groups()
    if first == "":
        length = _position(last)
        return (max(size - length, 0), size) if length else "unsatisfiable"
    start = _position(first)
    if last and _position(last) < start:
        return "ignore"  # last-pos before first-pos: invalid, not unsatisfiable
    if start >= size:
        return "unsatisfiable"
    return (start, min(_position(last) + 1, size) if last else size)


def _position(digits: str) -> int:
    """A byte position; past ``MAX_RANGE_DIGITS`` significant digits, ``BEYOND``.

    ``int`` never sees a long string, and a position past 10**18 means the same
    as any other past the end of the file, so the RFC's clamping still holds.
    """
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= MAX_RANGE_DIGITS else BEYOND


@dataclass
class _Connection:
    """One accepted socket: whether it waits for a head (evictable), and since when."""

    since: float
    waiting: bool = True
    evicted: bool = False


class _Connections:
    """The open connections, never more than ``limit`` at once.

    At the limit a newcomer takes the place of the connection that has waited
    longest for a request head (a slow or stuck client, or an idle keep-alive):
    ``shutdown`` wakes its thread, which closes it. With none to evict, the
    newcomer is refused at once. Counts drop only once a socket is closed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.peak = 0
        self._open: dict[socket.socket, _Connection] = {}
        self._changed = threading.Condition()

    def __len__(self) -> int:
        with self._changed:
            return len(self._open)

    def admit(self, sock: socket.socket) -> bool:
        with self._changed:
            if len(self._open) >= self.limit and self._evict_oldest():
                self._changed.wait_for(lambda: len(self._open) < self.limit, EVICT_WAIT)
            if len(self._open) >= self.limit:
                return False
            self._open[sock] = _Connection(time.monotonic())
            self.peak = max(self.peak, len(self._open))
            return True

    def relieve(self) -> None:
        """Out of descriptors in accept: free one if a waiter can go, else back off.

        The listening socket stays readable, so returning at once would spin the
        accept loop at full CPU; waiting on a close (bounded) paces it instead.
        """
        with self._changed:
            count = len(self._open)
            for _ in range(FDS_PER_CONNECTION):  # its socket, then the file it serves
                self._evict_oldest()
            self._changed.wait_for(lambda: len(self._open) < count, ACCEPT_BACKOFF)

    def waiting(self, sock: socket.socket) -> None:
        self._mark(sock, waiting=True)

    def busy(self, sock: socket.socket) -> None:
        self._mark(sock, waiting=False)

    def _mark(self, sock: socket.socket, waiting: bool) -> None:
        with self._changed:
            entry = self._open.get(sock)
            if entry is not None:
                entry.waiting, entry.since = waiting, time.monotonic()

    def closed(self, sock: socket.socket) -> None:
        with self._changed:
            if self._open.pop(sock, None) is not None:
                self._changed.notify_all()

    def _evict_oldest(self) -> bool:
        """Shut down the longest-waiting connection; False when none is waiting."""
        idle = [(e.since, s) for s, e in self._open.items() if e.waiting and not e.evicted]
        if not idle:
            return False
        sock = min(idle, key=lambda pair: pair[0])[1]
        self._open[sock].evicted = True
        _shutdown(sock)
        return True

    def evict_all(self, wait: float) -> None:
        """Wake every handler (server closing) and give them ``wait`` s to close."""
        with self._changed:
            for sock, entry in self._open.items():
                entry.evicted = True
                _shutdown(sock)
            self._changed.wait_for(lambda: not self._open, wait)


def _descriptor_bound() -> int:
    """Connections the descriptor limit can carry, so the bound is reached before EMFILE."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return sys.maxsize
    return max(1, (soft - FD_RESERVE) // FDS_PER_CONNECTION)


def _shutdown(sock: socket.socket) -> None:
    """Wake a thread blocked on ``sock``; closing is left to that thread (no fd reuse race)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


HandlerFactory = Callable[[Any, Any, "_Server"], StaticHandler]
"""What makes a request's handler: ``StaticHandler`` itself, a subclass, or a partial."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a fleet connects at once; the default 5 drops them

    def __init__(
        self,
        address: tuple[str, int],
        root: Path,
        verbose: bool,
        limits: tuple[float, float, int],
        handler: HandlerFactory,
    ) -> None:
        self.root = root
        self.verbose = verbose
        self.header_timeout, self.idle_timeout, max_connections = limits
        self.connections = _Connections(min(max_connections, _descriptor_bound()))
        self._stop = threading.Event()  # asked to stop
        self._stopped = threading.Event()  # the accept loop has returned
        self._wake, self._waker = socket.socketpair()
        super().__init__(address, handler)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept until ``shutdown``, which wakes this loop at once.

        The stdlib loop polls its stop flag every ``poll_interval`` (0.5 s): every
        server a test or the demo closes cost half a second. Here ``select`` also
        watches a socket pair that ``shutdown`` writes to; ``poll_interval`` is unused.
        """
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake, selectors.EVENT_READ)
                while not self._stop.is_set():
                    ready = {key.fileobj for key, _ in selector.select()}
                    if self._wake in ready:
                        self._wake.recv(64)
                    elif self in ready and not self._stop.is_set():
                        self.handle_request()  # ready: accepts without waiting
        finally:
            self._stop.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (running, or about to start) and wait for it to return."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._waker.send(b"\0")
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake.close()
        self._waker.close()

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return self.socket.accept()
        except OSError as exc:
            if exc.errno in FD_EXHAUSTED:
                self.connections.relieve()
            raise

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.connections.admit(request):
            return True
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(BUSY)
        return False

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.connections.closed(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-response is not a server error."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class StaticServer:
    """A threaded static server of ``root``; ``port`` 0 picks a free one.

    ``header_timeout`` (s): a client must send its complete request head within it
    (from the accept, or from the first byte of a later keep-alive request).
    ``idle_timeout`` (s): how long a kept-alive connection may sit between
    requests, and how long a response write may stall. ``max_connections``: open
    connections at most (lowered to what RLIMIT_NOFILE can carry); beyond it the
    longest-waiting one is evicted, or the newcomer gets a 503 and is closed.
    ``handler``: what answers each request (a ``StaticHandler`` subclass for a test
    server that misbehaves on purpose).
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        *,
        header_timeout: float = 5.0,
        idle_timeout: float = 15.0,
        max_connections: int = 256,
        handler: HandlerFactory = StaticHandler,
    ) -> None:
        if header_timeout <= 0 or idle_timeout <= 0 or max_connections < 1:
            raise ValueError("timeouts must be positive and max_connections at least 1")
        self.httpd = _Server(
            (host, port),
            Path(root).resolve(),
            verbose,
            (header_timeout, idle_timeout, max_connections),
            handler,
        )
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.socket.getsockname()[:2]  # what server_address holds
        return f"http://{host}:{port}"

    @property
    def open_connections(self) -> int:
        return len(self.httpd.connections)

    @property
    def max_connections(self) -> int:
        """The bound in force (``max_connections``, or less under a low descriptor limit)."""
        return self.httpd.connections.limit

    @property
    def peak_connections(self) -> int:
        """The most connections ever open at once (what the bound promises)."""
        return self.httpd.connections.peak

    def start(self) -> StaticServer:
        """Serve in a background thread (tests, the bench); a second call does nothing."""
        if self.thread is None:
            self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
            self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        if self.thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.connections.evict_all(wait=EVICT_WAIT)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
