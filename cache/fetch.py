"""Downloads for the sync client: capped, hashed, streamed to disk.

SPEC 4.3 step 3: never read more than the declared size, and check SHA-256
before anything parses the bytes. Files go to a temporary folder in the data
dir, so memory stays flat whatever their size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx

from base.private import open_private

CHUNK = 64 * 1024
# The manifest's size and SHA-256 describe the bytes served: ask for them as they
# are, and read them raw, so no Content-Encoding can change what is checked.
IDENTITY = {"Accept-Encoding": "identity"}


class FetchError(RuntimeError):
    """A download failed: network, HTTP status, size or hash."""


class Fetcher:
    """Counts every byte it downloads, for the sync report's ``bytes``."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.bytes = 0

    def fetch_small(self, url: str, limit: int) -> bytes:
        """A signed object (trust list, manifest) of at most ``limit`` bytes, in memory."""
        chunks: list[bytes] = []
        got = 0
        try:
            with self.client.stream("GET", url, headers=IDENTITY) as response:
                _check_status(response, url)
                _check_length_header(response, limit, url)
                for chunk in response.iter_raw(CHUNK):
                    got += len(chunk)
                    self.bytes += len(chunk)
                    if got > limit:
                        raise FetchError(f"{url} is larger than {limit} bytes")
                    chunks.append(chunk)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"cannot fetch {url}: {_describe(exc)}") from None
        return b"".join(chunks)

    def fetch_file(
        self,
        url: str,
        dest: Path,
        size: int,
        sha256: bytes,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Download exactly ``size`` bytes to ``dest`` (0600, like all the data dir
        holds) and check their SHA-256."""
        digest = hashlib.sha256()
        got = 0
        try:
            with (
                self.client.stream("GET", url, headers=IDENTITY) as response,
                open_private(dest, "wb") as out,
            ):
                _check_status(response, url)
                _check_length_header(response, size, url)
                for chunk in response.iter_raw(CHUNK):
                    if got + len(chunk) > size:
                        self.bytes += len(chunk)
                        raise FetchError(f"{url} is longer than its declared {size} bytes")
                    got += len(chunk)
                    self.bytes += len(chunk)
                    digest.update(chunk)
                    out.write(chunk)
                    if progress is not None:
                        progress(got)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"cannot fetch {url}: {_describe(exc)}") from None
        if got != size:
            raise FetchError(f"{url} ended after {got} of its declared {size} bytes")
        if digest.digest() != sha256:
            raise FetchError(f"{url} does not match its SHA-256 in the manifest")
        return dest


def _check_status(response: httpx.Response, url: str) -> None:
    if response.status_code != 200:
        raise FetchError(f"{url} answered HTTP {response.status_code}")


def _check_length_header(response: httpx.Response, limit: int, url: str) -> None:
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise FetchError(f"{url} is {length} bytes, more than the {limit} allowed")


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
