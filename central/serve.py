"""``central serve``: static HTTP of the published tree, for development and the demo.

What a terminal needs from any static server, and no more: GET and HEAD, correct
Content-Length, single byte ranges (206, 416), strong ETags with If-None-Match
(304), Cache-Control that lets a CDN keep versioned files forever and manifests
never. Files go out with ``sendfile``. Production uses nginx or a CDN instead
(``central nginx-config``); this server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import http.server
import os
import re
import socket
import threading
import urllib.parse
from pathlib import Path
from typing import Any

MUTABLE = ("trustlist.cose", "manifest.cose")
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vicheck-central"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body of a
    # small file waits for the client's delayed ACK, 40 ms per manifest.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(*args)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        path = self._resolve()
        if path is None:
            self._status(404)
            return
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed below)
        except OSError:
            self._status(404)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            size = stat.st_size
            etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
            if etag in [t.strip() for t in self.headers.get("If-None-Match", "").split(",")]:
                self._status(304, {"ETag": etag})
                return
            start, end = 0, size
            status = 200
            headers = {
                "ETag": etag,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
                "Cache-Control": "no-cache"
                if path.name in MUTABLE
                else "public, max-age=31536000, immutable",
            }
            wanted = self.headers.get("Range")
            if wanted is not None and self.headers.get("If-Range", etag) == etag:
                span = _range(wanted, size)
                if span is None:
                    self._status(416, {"Content-Range": f"bytes */{size}"})
                    return
                start, end = span
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(end - start))
            self.end_headers()
            if body and end > start:
                self.wfile.flush()
                try:
                    self.connection.sendfile(handle, start, end - start)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

    def _resolve(self) -> Path | None:
        """The file a URL names inside the root; None for anything else."""
        root: Path = self.server.root  # type: ignore[attr-defined]
        relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        parts = relative.split("/")
        if not relative or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        path = root.joinpath(*parts)
        return path if path.is_file() else None

    def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range as [start, end); None when it cannot be satisfied."""
    match = RANGE_RE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        return (max(size - length, 0), size) if length and size else None
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    return (start, end) if start < size and start < end else None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a fleet connects at once; the default 5 drops them


class StaticServer:
    """A threaded static server of ``root``; ``port`` 0 picks a free one."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.httpd = _Server((host, port), _Handler)
        self.httpd.root = Path(root).resolve()  # type: ignore[attr-defined]
        self.httpd.verbose = verbose  # type: ignore[attr-defined]
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StaticServer:
        """Serve in a background thread (tests, the bench)."""
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        if self.thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
