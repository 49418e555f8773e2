"""The upload endpoint, ``POST /audit/{device}``: a Starlette app, served by uvicorn.

Everything a terminal sends is checked by ``audit.wire`` (the format, both sides'
one rule book) and ``central.audit`` (the signature and the fit with what is
held); this module is only the HTTP around them: the body read under its bound
and a deadline before anything parses it, the store's blocking SQLite work in a
worker thread, every answer the JSON of docs/audit.md. Behind nginx
(``central nginx-config``) or behind ``central serve``'s static server, which
forwards ``/audit/`` to it; ``serve_audit`` runs it alone.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from audit.chain import AuditFormatError, is_device_id
from audit.wire import (
    BAD_REQUEST,
    CONTENT_TYPE,
    MAX_BODY_BYTES,
    STATUS,
    TOO_LARGE,
    UNKNOWN_DEVICE,
    WireError,
    decode_upload,
    encode_answer,
)
from central.audit import BODY_TIMEOUT, AuditStore

TIMEOUT: Final = "TIMEOUT"
STATUS_TIMEOUT: Final = 408
UNAVAILABLE: Final = "UNAVAILABLE"
"""The store could not take the upload (its lock, its disk): nothing was stored,
the terminal keeps its entries and tries at the next sync."""
STATUS_UNAVAILABLE: Final = 503
MAX_UPLOADS_AT_ONCE: Final = 8
"""Most uploads the app reads and checks at once; the rest wait ``QUEUE_WAIT``.
Each holds its body (up to 8 MiB) and, while it is parsed, its entries in memory,
and the checks run in the thread pool beside the store: without a bound, the
``limit_concurrency`` connections uvicorn takes could hold gigabytes. Stored
uploads are serialised by the store's lock anyway, so more at once buys nothing."""
QUEUE_WAIT: Final = 10.0
"""Seconds an upload waits for one of the ``MAX_UPLOADS_AT_ONCE`` places before it
is told to come back (503 ``UNAVAILABLE``, ``Retry-After``): long enough for the
uploads of a fleet's shift start to pass in turn (each takes milliseconds once its
body is in, which nginx sees to), short of a terminal's patience."""
RETRY_AFTER: Final = 60
"""Seconds a terminal told ``UNAVAILABLE`` is asked to wait (it retries at its next
sync anyway; the header is for other clients and proxies)."""


def answer(held: int, error: str | None = None, detail: str | None = None) -> Response:
    status = 200 if error is None else STATUS.get(error, 400)
    return Response(encode_answer(held, error, detail), status, media_type=CONTENT_TYPE)


async def _body(request: Request) -> bytes:
    """The whole body, refused unread past ``MAX_BODY_BYTES`` (by its
    Content-Length, or as it arrives when it has none)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise WireError(TOO_LARGE, f"an upload is at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise WireError(TOO_LARGE, f"an upload is at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _place(places: asyncio.Semaphore, wait: float) -> bool:
    """One of the ``places``, waiting at most ``wait`` seconds for it; False if none."""
    try:
        async with asyncio.timeout(wait):
            await places.acquire()
    except TimeoutError:
        return False
    return True


def _held(store: AuditStore, device: str) -> int:
    """``store.held`` under the store's lock: its one connection is shared by the
    worker threads, and an upload may be in the middle of its transaction."""
    with store.lock:
        return store.held(device)


async def _take(
    store: AuditStore, clock: Callable[[], float], request: Request, device: str
) -> Response:
    """One upload, in its place: the body under its bound and deadline, the format
    checked in a worker thread, then the store's verdict."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            body = await _body(request)
        parsed = await run_in_threadpool(decode_upload, body, device)
    except TimeoutError:
        return Response(
            encode_answer(0, TIMEOUT, f"the body took over {BODY_TIMEOUT:g} s"),
            STATUS_TIMEOUT,
            media_type=CONTENT_TYPE,
            headers={"Connection": "close"},
        )
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is there to read it
    except WireError as exc:
        held = await run_in_threadpool(_held, store, device)
        return answer(held, exc.code, exc.detail)
    try:
        result = await run_in_threadpool(store.receive, parsed, int(clock()))
    except (sqlite3.Error, AuditFormatError) as exc:  # locked past its wait, disk full
        detail = f"the central store cannot take it now: {type(exc).__name__}: {exc}"
        body = encode_answer(0, UNAVAILABLE, detail)
        return Response(body, STATUS_UNAVAILABLE, media_type=CONTENT_TYPE)
    return answer(result.held, result.error, result.detail)


def build_app(
    store: AuditStore, clock: Callable[[], float] = time.time, *, queue_wait: float = QUEUE_WAIT
) -> Starlette:
    """The app over an open ``store``; ``clock`` stamps ``received_at``;
    ``queue_wait`` is ``QUEUE_WAIT`` but for tests."""
    places = asyncio.Semaphore(MAX_UPLOADS_AT_ONCE)

    async def upload(request: Request) -> Response:
        device = request.path_params["device"]
        if request.method != "POST":
            return answer(0, BAD_REQUEST, "an upload is a POST")
        if not is_device_id(device):
            return answer(0, UNKNOWN_DEVICE, "the address names no device id")
        if not await _place(places, queue_wait):
            detail = f"{MAX_UPLOADS_AT_ONCE} uploads are under way: try at the next sync"
            return Response(
                encode_answer(0, UNAVAILABLE, detail),
                STATUS_UNAVAILABLE,
                media_type=CONTENT_TYPE,
                headers={"Retry-After": str(RETRY_AFTER)},
            )
        try:
            return await _take(store, clock, request, device)
        finally:
            places.release()

    async def not_found(request: Request) -> Response:
        if request.url.path.startswith("/audit/"):  # /audit/a/b, /audit/: no device
            return answer(0, UNKNOWN_DEVICE, "the address names no device id")
        return answer(0, BAD_REQUEST, "POST /audit/{device} is the only address here")

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route("/audit/{device}", upload, methods=methods),
        Route("/{path:path}", not_found, methods=methods),
    ]
    return Starlette(routes=routes)


class AuditServer:
    """uvicorn serving ``app`` on an already bound ``sock`` (TCP, or the Unix
    socket ``central serve`` forwards to): bounded keep-alive and concurrency, no
    access log unless ``verbose``, no proxy headers trusted (it reads no client
    address). ``run`` blocks in its own event loop, so it may run in a thread;
    ``stop`` asks it to finish."""

    def __init__(self, app: Starlette, sock: socket.socket, verbose: bool = False) -> None:
        config = uvicorn.Config(
            app,
            log_level="info" if verbose else "warning",
            access_log=verbose,
            timeout_keep_alive=15,
            limit_concurrency=256,
            proxy_headers=False,
            server_header=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.sock = sock

    def run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def stop(self) -> None:
        self.server.should_exit = True

    @property
    def started(self) -> bool:
        return bool(self.server.started)


def serve_audit(home: Path, host: str, port: int, verbose: bool = False) -> None:
    """``central audit serve``: the endpoint alone on ``host:port`` (behind nginx),
    until interrupted."""
    with AuditStore.of_home(home) as store:
        sock = socket.create_server((host, port), backlog=512)
        try:
            AuditServer(build_app(store), sock, verbose).run()
        finally:
            sock.close()
