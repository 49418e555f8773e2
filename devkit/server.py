"""A feed server that misbehaves on purpose: central's ``StaticServer``, bent.

The terminal must survive what real servers and proxies do: slow bodies, bodies cut
short, bytes after the file, a 503 for one file, a Content-Encoding nobody asked
for. ``FeedServer`` is the real server (same bounds, same headers) with a
``StaticHandler`` subclass that applies its ``behaviour`` and records each request
path in ``requests``. Both may be changed while it serves.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

from central.serve import StaticHandler, StaticServer

CHUNK = 64 * 1024


class Behaviour(TypedDict, total=False):
    """How to misbehave; files are named by their last path segment."""

    chunk: int  # bytes per write of a body (with delay_per_chunk)
    delay_per_chunk: float  # seconds to sleep after each chunk
    fail: set[str]  # answered 503 (or fail_status)
    fail_status: int  # the status of fail and fail_first answers, instead of 503
    retry_after: str  # a Retry-After header on fail and fail_first answers
    append: dict[str, bytes]  # sent after the file, with no Content-Length
    cut: dict[str, int]  # each response: at most this many bytes, then the connection closes
    encoding: str  # a Content-Encoding header on every .gz response
    fail_first: dict[str, int]  # answered 503 (or fail_status) this many more times, then served
    hang: dict[str, float]  # no answer for this many seconds after the request, then served
    trickle: dict[str, float]  # the body one byte at a time, sleeping this long after each
    ignore_range: set[str]  # Range and If-Range ignored: always the whole file, 200
    redirect: dict[str, str]  # answered 302 with this Location
    range_shift: dict[str, int]  # a Range request answered from this many bytes later


class _Faults:
    """What a server's handlers share: the behaviour and the request log."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = {}
        self.requests: list[str] = []
        self.ranges: list[tuple[str, str | None]] = []
        """Each request's path and Range header (None without one)."""
        self.sent: dict[str, int] = {}
        """Body bytes written per file name (what a link carried, resumes included)."""


class _FaultyHandler(StaticHandler):
    def __init__(self, *args: Any, faults: _Faults) -> None:
        self.faults = faults  # before super().__init__, which handles the request
        super().__init__(*args)

    @property
    def _name(self) -> str:
        return os.path.basename(self.path)

    def serve(self, body: bool) -> None:
        self.faults.requests.append(self.path)
        self.faults.ranges.append((self.path, self.headers.get("Range")))
        behaviour = self.faults.behaviour
        name = self._name
        if name in behaviour.get("fail", set()):
            self._refuse("unavailable for this test")
            return
        if behaviour.get("fail_first", {}).get(name, 0) > 0:
            behaviour["fail_first"][name] -= 1
            self._refuse("unavailable for this test, for now")
            return
        hang = behaviour.get("hang", {}).get(name)
        if hang is not None:
            time.sleep(hang)
        location = behaviour.get("redirect", {}).get(name)
        if location is not None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        shift = behaviour.get("range_shift", {}).get(name)
        wanted = self.headers.get("Range", "")
        if shift is not None and wanted.startswith("bytes=") and wanted.endswith("-"):
            del self.headers["Range"]
            self.headers["Range"] = f"bytes={int(wanted[6:-1]) + shift}-"
        if name in behaviour.get("ignore_range", set()):
            del self.headers["Range"]
            del self.headers["If-Range"]
        super().serve(body)

    def _refuse(self, message: str) -> None:
        """A failure answer: 503 (or ``fail_status``), with ``retry_after`` if set."""
        behaviour = self.faults.behaviour
        status = behaviour.get("fail_status", 503)
        retry_after = behaviour.get("retry_after")
        if retry_after is None:
            self.send_error(status, message)
            return
        self.send_response(status, message)
        self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        encoding = self.faults.behaviour.get("encoding")
        if encoding and self.path.endswith(".gz"):
            self.send_header("Content-Encoding", encoding)
        super().end_headers()

    def send_entity(
        self,
        status: int,
        headers: dict[str, str],
        handle: BinaryIO,
        start: int,
        length: int,
        body: bool,
    ) -> None:
        behaviour = self.faults.behaviour
        extra = behaviour.get("append", {}).get(self._name)
        cut = behaviour.get("cut", {}).get(self._name)
        paced = "chunk" in behaviour or behaviour.get("delay_per_chunk")
        paced = paced or self._name in behaviour.get("trickle", {})
        if extra is None and cut is None and not paced:
            if body:
                self._count(length)
            super().send_entity(status, headers, handle, start, length, body)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if extra is None:
            self.send_header("Content-Length", str(length))
        else:  # the body ends where the connection does
            self.send_header("Connection", "close")
        self.end_headers()
        if extra is not None or cut is not None:
            self.close_connection = True
        if body:
            handle.seek(start)
            self._write(handle, length if cut is None else min(cut, length))
            self.wfile.write(extra or b"")

    def _write(self, handle: BinaryIO, length: int) -> None:
        """``length`` bytes of ``handle`` in chunks, sleeping after each as told."""
        behaviour = self.faults.behaviour
        chunk = behaviour.get("chunk", CHUNK)
        delay = behaviour.get("delay_per_chunk", 0.0)
        trickle = behaviour.get("trickle", {}).get(self._name)
        if trickle is not None:
            chunk, delay = 1, trickle
        while length > 0 and (data := handle.read(min(chunk, length))):
            self.wfile.write(data)
            self._count(len(data))
            length -= len(data)
            if delay:
                self.wfile.flush()
                time.sleep(delay)

    def _count(self, sent: int) -> None:
        sent_by_name = self.faults.sent
        sent_by_name[self._name] = sent_by_name.get(self._name, 0) + sent


class FeedServer(StaticServer):
    """Central's static server of ``root`` on 127.0.0.1, already serving, with
    ``behaviour`` to make it misbehave and ``requests`` to see what was asked."""

    def __init__(self, root: Path) -> None:
        self._faults = _Faults()
        super().__init__(root, handler=functools.partial(_FaultyHandler, faults=self._faults))
        self.start()

    @property
    def behaviour(self) -> Behaviour:
        return self._faults.behaviour

    @property
    def requests(self) -> list[str]:
        return self._faults.requests

    @property
    def ranges(self) -> list[tuple[str, str | None]]:
        return self._faults.ranges

    @property
    def sent(self) -> dict[str, int]:
        return self._faults.sent


@contextlib.contextmanager
def served(root: Path) -> Iterator[FeedServer]:
    """``root`` served for the length of the block."""
    server = FeedServer(root)
    try:
        yield server
    finally:
        server.close()
