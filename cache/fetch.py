"""Downloads for the sync client: capped, hashed, streamed to disk, resumable.

SPEC 4.3 step 3: never read more than the declared size, and check SHA-256
before anything parses the bytes. Files go to a file in the data dir, so memory
stays flat whatever their size.

A terminal syncs at shift start over a weak mobile link (issue 15), so a download
that breaks keeps what arrived and goes on with ``Range: bytes=N-`` (with
``If-Range`` when the server gave a validator); the SHA-256 over the whole file
stays the final guard. Connection errors, time-outs, 5xx and 429 answers are
retried with backoff (or the ``Retry-After`` asked for); refusals (a hash mismatch,
a wrong size, another 4xx) never are. The whole
sync has a deadline, and a transfer slower than a minimum rate counts as stalled.
A sync can be cancelled from another thread (the TUI quitting): between chunks, in
a backoff, and in a read blocked on a silent server, whose socket is shut down.
Redirects are followed only to the configured server's own origin.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from base.private import open_private

CHUNK = 64 * 1024
# The manifest's size and SHA-256 describe the bytes served: ask for them as they
# are, and read them raw, so no Content-Encoding can change what is checked.
IDENTITY = {"Accept-Encoding": "identity"}
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
VALIDATOR_SUFFIX = ".validator"
"""Beside a partial file: the ETag or Last-Modified its bytes came with."""
CANCELLED = "sync cancelled; partial downloads are kept"
"""Why each unfinished step of a cancelled sync failed."""
WATCH_INTERVAL = 0.1
"""Seconds between a cancel watcher's looks at whether its sync has ended."""
RETRY_AFTER = (429, 503)
"""The answers whose ``Retry-After`` (seconds form) sets the wait before a retry."""


class FetchError(RuntimeError):
    """A download failed: network, HTTP status, size or hash."""


class TransientError(FetchError):
    """A failure worth retrying: connection, time-out, stall, 5xx, 429, a body cut
    short; ``retry_after`` is the wait the server asked for (s), if it said one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StallError(TransientError):
    """A transfer slower than the policy's minimum rate."""


class Stopped(FetchError):
    """Nothing more is fetched in this sync; never retried, partials are kept."""


class DeadlineError(Stopped):
    """The sync's deadline passed."""


class Cancelled(Stopped):
    """The sync was cancelled (``Transfer.cancel`` set)."""


@dataclass(frozen=True)
class FetchPolicy:
    """How hard one sync tries. ``backoff[i]`` is the wait before attempt ``i + 2``;
    ``attempts`` bounds the consecutive failed attempts of one file (one cut short
    after adding bytes does not count, a stalled one does), ``max_requests`` all
    requests of a file; ``deadline`` (s) bounds the whole sync, and a transfer under
    ``min_rate`` bytes/s over ``stall_window`` s counts as stalled. A 429 or 503
    with ``Retry-After: N`` waits N s (at most ``retry_after_cap``) instead of the
    backoff."""

    attempts: int = 4
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)
    deadline: float = 600.0
    min_rate: float = 1024.0
    stall_window: float = 30.0
    max_requests: int = 100
    retry_after_cap: float = 30.0


@dataclass
class Transfer:
    """What every download of one sync shares: the client, the policy, the deadline
    (monotonic), the event that cancels it, and the retries made, for the sync log."""

    client: httpx.Client
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    origin: tuple[str, str, int] | None = None
    started: float = field(default_factory=time.monotonic)
    retries: list[dict[str, object]] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    _sockets: weakref.WeakSet[socket.socket] = field(
        default_factory=weakref.WeakSet, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def remaining(self) -> float:
        return self.started + self.policy.deadline - time.monotonic()

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled(CANCELLED)

    def check_stop(self) -> None:
        """Raise Stopped when this sync must fetch nothing more: cancelled, or past
        its deadline."""
        self.check_cancel()
        if self.remaining() <= 0:
            elapsed = time.monotonic() - self.started
            raise DeadlineError(
                f"sync deadline passed after {elapsed:.1f} s"
                f" (limit {self.policy.deadline:g} s); partial downloads are kept"
            )

    @contextlib.contextmanager
    def cancellable(self) -> Iterator[None]:
        """While the block runs, a set ``cancel`` also shuts down this sync's
        sockets, from a watcher thread: that wakes a read blocked on a silent server
        (closing a socket from another thread does not, on Linux)."""
        ended = threading.Event()

        def watch() -> None:
            while not ended.is_set():
                if self.cancel.wait(WATCH_INTERVAL):
                    self.shut_down()
                    return

        watcher = threading.Thread(target=watch, name="vicheck-sync-cancel", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            ended.set()

    def shut_down(self) -> None:
        """Shut down every socket this sync has open, now: a read blocked or
        trickled on one ends at once (closing a socket from another thread does
        not, on Linux). The cancel's watcher, and an upload's own time bound."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def track(self, sock: object) -> None:
        """Remember a socket of this sync, for a cancel to shut down; one that opens
        after the cancel is shut down at once."""
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.add(sock)
        if self.cancel.is_set():
            _shut(sock)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: a connection's socket as soon as it opens,
        before any answer is awaited on it."""
        extra = getattr(info.get("return_value"), "get_extra_info", None)
        if event.endswith(".complete") and callable(extra):
            self.track(extra("socket"))

    def timeout(self) -> httpx.Timeout:
        """Per request: no single read may outlive the deadline or the stall window."""
        left = max(self.remaining(), 0.001)
        read = min(READ_TIMEOUT, self.policy.stall_window, left)
        return httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, left))

    def wait(self, url: str, attempt: int, exc: TransientError) -> None:
        """Log a retry of ``url`` and sleep its backoff, or the ``Retry-After`` the
        server asked for (capped); Stopped if cancelled or the deadline would pass
        meanwhile, and a plain FetchError at once when the server asks for more
        time than the deadline leaves."""
        policy = self.policy
        backoff = policy.backoff
        delay = backoff[min(attempt - 1, len(backoff) - 1)] if backoff else 0.0
        if exc.retry_after is not None:
            delay = min(exc.retry_after, policy.retry_after_cap)
            if delay >= self.remaining():
                raise FetchError(
                    f"{exc} and asks to retry after {exc.retry_after:g} s,"
                    f" past the sync deadline ({max(self.remaining(), 0):.1f} s left)"
                )
        self.retries.append({"url": url, "attempt": attempt, "error": str(exc), "wait": delay})
        if delay > 0:
            self.cancel.wait(min(delay, max(self.remaining(), 0)))
        self.check_stop()


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of ``url``, the port defaulted; None when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        return None
    return (parts.scheme, (parts.hostname or "").lower(), port)


class Fetcher:
    """Counts every byte it downloads, for the sync report's ``bytes``."""

    def __init__(self, transfer: Transfer | httpx.Client) -> None:
        self.transfer = transfer if isinstance(transfer, Transfer) else Transfer(transfer)
        self.bytes = 0

    def fetch_small(self, url: str, limit: int) -> bytes:
        """A signed object (trust list, manifest) of at most ``limit`` bytes, in memory."""
        attempt = 1
        while True:
            try:
                return self._small(url, limit)
            except TransientError as exc:
                if attempt >= self.transfer.policy.attempts:
                    raise
                self.transfer.wait(url, attempt, exc)
                attempt += 1

    def _small(self, url: str, limit: int) -> bytes:
        chunks: list[bytes] = []
        got = 0
        with self._get(url, IDENTITY) as response:
            _check_status(response, url)
            _check_length_header(response, limit, url)
            for chunk in self._body(response, url):
                got += len(chunk)
                if got > limit:
                    raise FetchError(f"{url} is larger than {limit} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def fetch_file(
        self,
        url: str,
        dest: Path,
        size: int,
        sha256: bytes,
        progress: Callable[[int], None] | None = None,
        partial: Path | None = None,
    ) -> Path:
        """Download exactly ``size`` bytes to ``dest`` (0600, like all the data dir
        holds) and check their SHA-256 over the whole file.

        The bytes gather in ``partial`` (``dest`` when not given), which a broken
        download leaves for a later attempt or sync to continue; it is moved to
        ``dest`` only once whole and checked, and dropped when refused."""
        part = partial or dest
        attempt, requests = 1, 0
        while True:
            before = _size(part)
            try:
                requests += 1
                self._continue(url, part, size, progress)
                break
            except TransientError as exc:
                if _size(part) > before and not isinstance(exc, StallError):
                    attempt = 1  # cut after progress: the link works, only badly
                policy = self.transfer.policy
                if attempt >= policy.attempts or requests >= policy.max_requests:
                    raise
                self.transfer.wait(url, attempt, exc)
                attempt += 1
            except Stopped:
                raise
            except FetchError:
                drop_partial(part)
                raise
        if _sha256(part) != sha256:
            drop_partial(part)
            raise FetchError(f"{url} does not match its SHA-256 in the manifest")
        _validator_path(part).unlink(missing_ok=True)
        if part != dest:
            os.replace(part, dest)
        return dest

    def _continue(
        self, url: str, part: Path, size: int, progress: Callable[[int], None] | None
    ) -> None:
        """One request: from what ``part`` holds to ``size`` bytes, or raise."""
        have = _size(part)
        if have > size:
            drop_partial(part)
            have = 0
        if have == size:
            return  # whole already (a sync killed before checking it): the hash decides
        headers = dict(IDENTITY)
        validator = _read_validator(part) if have else None
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator
        with self._get(url, headers) as response:
            if have and response.status_code == 206:
                _check_content_range(response, have, size, url)
                mode = "ab"
            else:
                _check_status(response, url)
                have, mode = 0, "wb"  # no Range honoured: from zero, cleanly
                _write_validator(part, response)
            _check_length_header(response, size - have, url)
            with open_private(part, mode) as out:
                for chunk in self._body(response, url):
                    if have + len(chunk) > size:
                        raise FetchError(f"{url} is longer than its declared {size} bytes")
                    out.write(chunk)
                    have += len(chunk)
                    if progress is not None:
                        progress(have)
        if have != size:
            raise TransientError(f"{url} ended after {have} of its declared {size} bytes")

    @contextlib.contextmanager
    def _get(self, url: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
        """A streamed GET, following redirects only within the server's origin,
        with network failures turned into FetchError (transient when worth a retry)."""
        transfer = self.transfer
        home = transfer.origin or origin_of(url)
        try:
            for _ in range(MAX_REDIRECTS + 1):
                transfer.check_stop()
                request = transfer.client.build_request(
                    "GET",
                    url,
                    headers=headers,
                    timeout=transfer.timeout(),
                    extensions={"trace": transfer.trace},
                )
                response = transfer.client.send(request, stream=True, follow_redirects=False)
                try:
                    stream = response.extensions.get("network_stream")
                    if stream is not None:  # a connection opened before this sync's trace
                        transfer.track(stream.get_extra_info("socket"))
                    location = response.headers.get("location")
                    if response.status_code not in REDIRECTS or location is None:
                        yield response
                        return
                    target = urljoin(url, location)
                    if origin_of(target) != home:
                        raise FetchError(
                            f"{url} redirects to {target[:200]}, outside the configured server"
                        )
                    url = target
                finally:
                    response.close()
            raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            transfer.check_stop()  # a read cut short by the deadline or a cancel says so
            raise TransientError(f"cannot fetch {url}: {_describe(exc)}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"cannot fetch {url}: {_describe(exc)}") from None

    def _body(self, response: httpx.Response, url: str) -> Iterator[bytes]:
        """The raw body, counted, checked against the deadline and the minimum rate
        after every chunk (so a server trickling bytes cannot hold the sync)."""
        policy = self.transfer.policy
        start = time.monotonic()
        got = 0
        samples: deque[tuple[float, int]] = deque([(start, 0)])
        for chunk in response.iter_raw():
            self.bytes += len(chunk)
            got += len(chunk)
            yield chunk
            self.transfer.check_stop()
            now = time.monotonic()
            samples.append((now, got))
            while len(samples) > 1 and samples[1][0] <= now - policy.stall_window:
                samples.popleft()
            since, base = samples[0]
            if now - start >= policy.stall_window and got - base < policy.min_rate * (now - since):
                raise StallError(
                    f"{url} stalled: less than {policy.min_rate:g} bytes/s"
                    f" over {policy.stall_window:g} s"
                )


def _shut(sock: socket.socket) -> None:
    """Wake whatever waits on ``sock``: its reads end at once (it may be closed)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def drop_partial(part: Path) -> None:
    """Forget a partial download and its validator."""
    part.unlink(missing_ok=True)
    _validator_path(part).unlink(missing_ok=True)


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + VALIDATOR_SUFFIX)


def _read_validator(part: Path) -> str | None:
    try:
        text = _validator_path(part).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text and text.isprintable() and len(text) <= 200 else None


def _write_validator(part: Path, response: httpx.Response) -> None:
    """Keep what ``If-Range`` will send back: a strong ETag, else Last-Modified."""
    etag = response.headers.get("etag", "")
    value = etag if etag and not etag.startswith("W/") else response.headers.get("last-modified")
    path = _validator_path(part)
    if not value:
        path.unlink(missing_ok=True)
        return
    with open_private(path, "w", encoding="ascii", errors="replace") as out:
        out.write(value[:200])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.digest()


def _check_content_range(response: httpx.Response, have: int, size: int, url: str) -> None:
    """A 206 must continue exactly where the partial ends, over the declared size."""
    value = response.headers.get("content-range", "")
    unit, _, rest = value.partition(" ")
    span, _, total = rest.partition("/")
    first, _, _last = span.partition("-")
    if unit != "bytes" or first != str(have) or total not in (str(size), "*"):
        raise FetchError(
            f"{url} answered a range {value[:80]!r}, not one from byte {have} of {size}"
        )


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status == 200:
        return
    message = f"{url} answered HTTP {status}"
    if status >= 500 or status == 429:
        retry_after = _retry_after(response) if status in RETRY_AFTER else None
        raise TransientError(message, retry_after)
    raise FetchError(message)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in its seconds form; None when absent or a date (the backoff
    then applies: the terminal's clock is not trusted to compare dates with)."""
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _check_length_header(response: httpx.Response, limit: int, url: str) -> None:
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise FetchError(f"{url} is {length} bytes, more than the {limit} allowed")


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
