"""devkit's fault-injecting feed server and the server under it.

``FeedServer`` is central's ``StaticServer`` with a handler that misbehaves on
request; each fault is checked here against a real client, and so is the plain
server it falls back to. Closing any of them returns at once (no 0.5 s poll).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.serve import StaticServer
from devkit.keys import TEST_SEEDS, Pki, Seeds
from tests.support import FeedServer, served
from vicheck.demo import DEMO_SEEDS

BODY = bytes(range(256)) * 4  # 1 KiB


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "feeds" / "gx").mkdir(parents=True)
    (tmp_path / "feeds" / "gx" / "snapshot-1.cbor.gz").write_bytes(BODY)
    (tmp_path / "trustlist.cose").write_bytes(b"trust")
    return tmp_path


@pytest.fixture
def server(root: Path) -> Iterator[FeedServer]:
    with served(root) as server:
        yield server


SNAPSHOT = "/feeds/gx/snapshot-1.cbor.gz"


def test_well_behaved_it_is_the_static_server(server: FeedServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        full = http.get(SNAPSHOT)
        assert (full.status_code, full.content) == (200, BODY)
        assert full.headers["content-length"] == str(len(BODY))
        assert "content-encoding" not in full.headers
        part = http.get(SNAPSHOT, headers={"Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, BODY[10:20])
        again = http.get(SNAPSHOT, headers={"If-None-Match": full.headers["etag"]})
        assert again.status_code == 304
        assert http.get("/feeds/gx/missing").status_code == 404
    assert server.requests == [SNAPSHOT] * 3 + ["/feeds/gx/missing"]


def test_fail_by_name_answers_503(server: FeedServer) -> None:
    server.behaviour["fail"] = {"snapshot-1.cbor.gz"}
    with httpx.Client(base_url=server.url) as http:
        assert http.get(SNAPSHOT).status_code == 503
        assert http.head(SNAPSHOT).status_code == 503
        assert http.get("/trustlist.cose").content == b"trust"
    assert server.requests == [SNAPSHOT, SNAPSHOT, "/trustlist.cose"]


def test_append_sends_bytes_after_the_file_with_no_length(server: FeedServer) -> None:
    server.behaviour["append"] = {"snapshot-1.cbor.gz": b"\x00" * 64}
    with httpx.Client(base_url=server.url) as http:
        response = http.get(SNAPSHOT)
    assert response.content == BODY + b"\x00" * 64
    assert "content-length" not in response.headers


def test_cut_ends_the_body_early_and_hangs_up(server: FeedServer) -> None:
    server.behaviour["cut"] = {"snapshot-1.cbor.gz": 100}
    received = bytearray()
    with (
        httpx.Client(base_url=server.url) as http,
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("GET", SNAPSHOT) as response,
    ):
        assert response.headers["content-length"] == str(len(BODY))
        for chunk in response.iter_raw():
            received += chunk
    assert bytes(received) == BODY[:100]


def test_encoding_labels_gz_files_only(server: FeedServer) -> None:
    server.behaviour["encoding"] = "gzip"
    with httpx.Client(base_url=server.url) as http:
        with http.stream("GET", SNAPSHOT) as gz:
            raw = b"".join(gz.iter_raw())  # the bytes sent, not gunzipped
        other = http.get("/trustlist.cose")
    assert gz.headers["content-encoding"] == "gzip"
    assert raw == BODY
    assert "content-encoding" not in other.headers


def test_delay_per_chunk_paces_the_body(server: FeedServer) -> None:
    server.behaviour.update(chunk=128, delay_per_chunk=0.02)
    with httpx.Client(base_url=server.url) as http:
        start = time.monotonic()
        response = http.get(SNAPSHOT)
        elapsed = time.monotonic() - start
    assert response.content == BODY
    assert elapsed >= 7 * 0.02  # eight chunks: the body is whole after the seventh sleep


def test_servers_close_at_once(root: Path) -> None:
    """The stdlib accept loop polls every 0.5 s, so five closes took about 1.25 s."""
    servers = [StaticServer(root).start() for _ in range(4)] + [FeedServer(root)]
    start = time.monotonic()
    for server in servers:
        server.close()
    assert time.monotonic() - start < 0.4
    assert all(s.thread is not None and not s.thread.is_alive() for s in servers)


def test_keys_follow_their_seeds() -> None:
    same, demo = Pki(TEST_SEEDS), Pki(DEMO_SEEDS)
    assert Pki().root.public == same.root.public
    assert Pki().certificate() == same.certificate()
    publics = {p.public for p in (same.root, same.gui, same.yue, same.feed, same.forger)}
    assert len(publics) == 5
    assert not publics & {demo.root.public, demo.gui.public, demo.feed.public}
    other = Pki(Seeds(b"r", b"g", b"y", b"f", b"x"))
    assert other.root.public != same.root.public
