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
    fail: set[str]  # answered 503
    append: dict[str, bytes]  # sent after the file, with no Content-Length
    cut: dict[str, int]  # only this many bytes of the file, then the connection closes
    encoding: str  # a Content-Encoding header on every .gz response


class _Faults:
    """What a server's handlers share: the behaviour and the request log."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = {}
        self.requests: list[str] = []


class _FaultyHandler(StaticHandler):
    def __init__(self, *args: Any, faults: _Faults) -> None:
        self.faults = faults  # before super().__init__, which handles the request
        super().__init__(*args)

    @property
    def _name(self) -> str:
        return os.path.basename(self.path)

    def serve(self, body: bool) -> None:
        self.faults.requests.append(self.path)
        if self._name in self.faults.behaviour.get("fail", set()):
            self.send_error(503, "unavailable for this test")
            return
        super().serve(body)

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
        if extra is None and cut is None and not paced:
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
        chunk = self.faults.behaviour.get("chunk", CHUNK)
        delay = self.faults.behaviour.get("delay_per_chunk", 0.0)
        while length > 0 and (data := handle.read(min(chunk, length))):
            self.wfile.write(data)
            length -= len(data)
            if delay:
                self.wfile.flush()
                time.sleep(delay)


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


@contextlib.contextmanager
def served(root: Path) -> Iterator[FeedServer]:
    """``root`` served for the length of the block."""
    server = FeedServer(root)
    try:
        yield server
    finally:
        server.close()
