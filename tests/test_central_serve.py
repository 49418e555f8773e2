"""Serving the published tree: our static server, a real nginx, and a fleet at once."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from central import cli
from central.serve import StaticServer, free_port
from tests.support import T0, at, run_cli
from tests.support.nginx import real_nginx

VICHECK = str(Path(sys.executable).parent / "vicheck")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("central") / "home"
    for args in (
        ["init", "--province", "桂"],
        ["trustlist"],
        ["registry", "generate", "--province", "桂", "--vehicles", "3000", "--as-of", "2026-06"],
        ["publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot"],
    ):
        assert cli.main(["--home", str(home), "--at", at(T0), *args]) == 0
    return home


def init_terminal(data_dir: Path, home: Path, url: str, *feeds: str) -> None:
    root = (home / "keys" / "root.pub").read_text().strip()
    args = ["init", "--root-key", root, "--server", url]
    for feed in feeds:
        args += ["--feed", feed]
    assert run_cli(*args, data_dir=data_dir).code == 0


def test_ranges_etags_and_lengths(home: Path) -> None:
    snapshot = home / "public" / "feeds" / "gx" / "snapshot-1.cbor.gz"
    data = snapshot.read_bytes()
    with StaticServer(home / "public") as server, httpx.Client(base_url=server.url) as http:
        whole = http.get("/feeds/gx/snapshot-1.cbor.gz")
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-length"] == str(len(data))
        assert "content-encoding" not in whole.headers
        assert "immutable" in whole.headers["cache-control"]
        etag = whole.headers["etag"]
        assert (
            http.get("/feeds/gx/snapshot-1.cbor.gz", headers={"If-None-Match": etag}).status_code
            == 304
        )
        part = http.get("/feeds/gx/snapshot-1.cbor.gz", headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        tail = http.get("/feeds/gx/snapshot-1.cbor.gz", headers={"Range": "bytes=-5"})
        assert tail.content == data[-5:] and tail.headers["content-length"] == "5"
        rest = http.get(
            "/feeds/gx/snapshot-1.cbor.gz", headers={"Range": f"bytes={len(data) - 3}-"}
        )
        assert rest.content == data[-3:]
        bad = http.get("/feeds/gx/snapshot-1.cbor.gz", headers={"Range": f"bytes={len(data)}-"})
        assert bad.status_code == 416
        head = http.head("/feeds/gx/manifest.cose")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(
            (home / "public/feeds/gx/manifest.cose").stat().st_size
        )
        assert head.headers["cache-control"] == "no-cache"
        for path in (
            "/",
            "/feeds/",
            "/feeds/gx/../../../etc/passwd",
            "/%2e%2e/keys.toml",
            "/nothing",
        ):
            assert http.get(path).status_code == 404, path


def test_serve_command_binds_loopback(home: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [VICHECK, "central", "--home", str(home), "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in proc.stderr.readline()  # type: ignore[union-attr]
        init_terminal(tmp_path / "t", home, f"http://127.0.0.1:{port}", "gx", "hot")
        assert run_cli("sync", data_dir=tmp_path / "t").code == 0
    finally:
        proc.terminate()
        proc.wait()


def test_terminal_syncs_through_real_nginx(home: Path, tmp_path: Path) -> None:
    with real_nginx(home, tmp_path / "nginx") as url:
        head = httpx.get(url + "/feeds/gx/snapshot-1.cbor.gz", headers={"Range": "bytes=0-9"})
        assert head.status_code == 206 and "content-encoding" not in head.headers
        etag = head.headers["etag"]
        again = httpx.get(url + "/feeds/gx/snapshot-1.cbor.gz", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert httpx.get(url + "/keys.toml").status_code == 404
        data_dir = tmp_path / "terminal"
        init_terminal(data_dir, home, url, "gx", "hot")
        result = run_cli("sync", "--json", data_dir=data_dir)
        assert result.code == 0, result.out
        assert [f["method"] for f in result.json["feeds"]] == ["snapshot", "snapshot"]


def test_fleet_of_terminals_syncs_at_once(home: Path, tmp_path: Path) -> None:
    size = 20
    with StaticServer(home / "public") as server:
        dirs = [tmp_path / f"t{n}" for n in range(size)]
        for data_dir in dirs:
            init_terminal(data_dir, home, server.url, "gx", "hot")
        procs = [
            subprocess.Popen(
                [VICHECK, "--data-dir", str(d), "sync", "--json"], stdout=subprocess.PIPE, text=True
            )
            for d in dirs
        ]
        reports = [(json.loads(p.communicate()[0]), p.returncode) for p in procs]
    assert all(rc == 0 for _, rc in reports)
    assert all(
        [f["method"] for f in report["feeds"]] == ["snapshot", "snapshot"] for report, _ in reports
    )


# --- Misbehaving clients: deadlines, bounds, huge ranges (issue 14, defect 8). ---

SNAPSHOT = "/feeds/gx/snapshot-1.cbor.gz"
PARTIAL = b"GET /feeds/gx/manifest.cose HTT"  # a request line that never ends


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (EOF or reset); never blocks."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def _wait_closed(socks: list[socket.socket], timeout: float) -> dict[socket.socket, float]:
    """When (monotonic) the server closed each socket, waiting at most ``timeout``."""
    start = time.monotonic()
    closed: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        while len(closed) < len(socks) and time.monotonic() - start < timeout:
            for key, _ in selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if _closed_by_server(sock):
                    closed[sock] = time.monotonic()
                    selector.unregister(sock)
    return closed


def _answer(url: str, request: bytes, timeout: float = 3.0) -> bytes:
    """The raw bytes the server sends back for ``request`` until it closes or pauses."""
    with _connect(url) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        data = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        return data


def _eventually(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_huge_range_is_ignored_promptly(home: Path) -> None:
    data = (home / "public" / SNAPSHOT.lstrip("/")).read_bytes()
    size = len(data)
    digits = "9" * 5000
    with (
        StaticServer(home / "public") as server,
        httpx.Client(base_url=server.url, timeout=2) as http,
    ):
        # Over MAX_RANGE characters the value is not parsed at all: ignored, the
        # whole file (RFC 9110 lets a server ignore any Range), and at once.
        for value in (
            f"bytes=0-{digits}",
            f"bytes={digits}-",
            f"bytes=-{digits}",
            "bytes=0-1," * 500,
        ):
            started = time.monotonic()
            answer = http.get(SNAPSHOT, headers={"Range": value})
            assert answer.status_code == 200, value[:20]
            assert answer.content == data and "content-range" not in answer.headers
            assert time.monotonic() - started < 1
        # Numbers of a sane length still clamp to the file, as the RFC says.
        whole = http.get(SNAPSHOT, headers={"Range": "bytes=0-99999999999999999"})
        assert whole.status_code == 206 and len(whole.content) == size
        # Past 18 digits a position is beyond any file, read without int().
        many = "9" * 40
        beyond = http.get(SNAPSHOT, headers={"Range": f"bytes=0-{many}"})
        assert beyond.status_code == 206 and beyond.content == data
        suffix = http.get(SNAPSHOT, headers={"Range": f"bytes=-{many}"})
        assert suffix.status_code == 206 and suffix.content == data
        past = http.get(SNAPSHOT, headers={"Range": f"bytes={many}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
        zeros = http.get(SNAPSHOT, headers={"Range": f"bytes={'0' * 40}5-"})
        assert zeros.status_code == 206 and zeros.content == data[5:]
        assert http.get(SNAPSHOT).status_code == 200


def test_invalid_foreign_and_multiple_ranges_are_ignored(home: Path) -> None:
    data = (home / "public" / SNAPSHOT.lstrip("/")).read_bytes()
    size = len(data)
    with (
        StaticServer(home / "public") as server,
        httpx.Client(base_url=server.url, timeout=2) as http,
    ):
        for value in (
            "bytes=5-3",  # last-pos before first-pos: invalid
            "bytes= 0-1",  # no whitespace after "=" in the grammar
            "bytes =0-1",  # nor in the unit
            "items=0-1",  # an unknown unit must be ignored
            "bytes=0-1,5-6",  # several ranges: we may send the whole file
            "bytes=0-1, -2",
            "bytes=-",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=",
            "bytes",
            "=0-1",
        ):
            answer = http.get(SNAPSHOT, headers={"Range": value})
            assert answer.status_code == 200, value
            assert answer.content == data and "content-range" not in answer.headers, value
            head = http.head(SNAPSHOT, headers={"Range": value})
            assert head.status_code == 200 and head.headers["content-length"] == str(size)
        upper = http.get(SNAPSHOT, headers={"Range": "BYTES=0-1"})  # units ignore case
        assert upper.status_code == 206 and upper.content == data[:2]
        listed = http.get(SNAPSHOT, headers={"Range": "Bytes=,3-4,"})  # empty elements
        assert listed.status_code == 206 and listed.content == data[3:5]
        for value in ("bytes=-0", "bytes=99999-", f"bytes={size}-{size + 5}"):
            answer = http.get(SNAPSHOT, headers={"Range": value})
            assert answer.status_code == 416, value
            assert answer.headers["content-range"] == f"bytes */{size}"
        etag = http.get(SNAPSHOT).headers["etag"]
        kept = http.get(SNAPSHOT, headers={"Range": "bytes=0-1", "If-Range": etag})
        assert kept.status_code == 206 and kept.content == data[:2]
        stale = http.get(SNAPSHOT, headers={"Range": "bytes=0-1", "If-Range": '"old"'})
        assert stale.status_code == 200 and stale.content == data


def test_if_none_match_star_lists_and_weak_tags(home: Path) -> None:
    with (
        StaticServer(home / "public") as server,
        httpx.Client(base_url=server.url, timeout=2) as http,
    ):
        full = http.get(SNAPSHOT)
        etag = full.headers["etag"]
        for value in (
            "*",
            f'"a", {etag}, "b"',
            f'"a",{etag}',
            f"W/{etag}",
            f'"x", W/{etag}',
            f'"with,comma", {etag}',
        ):
            for method in (http.get, http.head):
                answer = method(SNAPSHOT, headers={"If-None-Match": value})
                assert answer.status_code == 304, (value, method)
                assert answer.content == b"" and answer.headers["etag"] == etag
                assert answer.headers["cache-control"] == full.headers["cache-control"]
        for value in ('"a", "b"', f'"{etag}"', etag.strip('"'), f'"with,{etag.strip(chr(34))}"'):
            answer = http.get(SNAPSHOT, headers={"If-None-Match": value})
            assert answer.status_code == 200, value
        assert http.get("/nothing", headers={"If-None-Match": "*"}).status_code == 404


def test_symlinks_out_of_the_root_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "public", tmp_path / "secret"
    (root / "feeds").mkdir(parents=True)
    outside.mkdir()
    (outside / "keys.toml").write_bytes(b"private")
    (root / "feeds" / "real.bin").write_bytes(b"published")
    (root / ".hidden").write_bytes(b"dotfile")
    (root / "out.toml").symlink_to(outside / "keys.toml")
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "feeds" / "up").symlink_to("../../secret/keys.toml")
    (root / "dot").symlink_to(".hidden")
    (root / "alias.bin").symlink_to("feeds/real.bin")  # inside the root: served
    with (
        StaticServer(root) as server,
        httpx.Client(base_url=server.url, timeout=2) as http,
    ):
        for path in (
            "/out.toml",
            "/outdir/keys.toml",
            "/feeds/up",
            "/dot",
            "/.hidden",
            "/feeds/real.bin%00",
        ):
            answer = http.get(path)
            assert answer.status_code == 404 and b"private" not in answer.content, path
            assert http.head(path).status_code == 404, path
        assert http.get("/alias.bin").content == b"published"
        assert http.get("/feeds/real.bin").content == b"published"
        assert http.get("/feeds/gx/../../../secret/keys.toml").status_code == 404


def test_oversized_heads_get_prompt_answers(home: Path) -> None:
    with StaticServer(home / "public") as server:
        long_line = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert _answer(server.url, long_line).startswith(b"HTTP/1.1 414 ")
        long_header = b"GET /x HTTP/1.1\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n"
        assert _answer(server.url, long_header).startswith(b"HTTP/1.1 431 ")
        many = b"GET /x HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(80)) + b"\r\n"
        assert _answer(server.url, many).startswith(b"HTTP/1.1 431 ")
        assert httpx.get(server.url + SNAPSHOT, timeout=2).status_code == 200


def test_slow_heads_are_dropped_at_the_header_timeout(home: Path) -> None:
    timeout = 0.5
    with StaticServer(home / "public", header_timeout=timeout) as server:
        started = time.monotonic()
        stuck = _connect(server.url)
        stuck.sendall(PARTIAL)
        trickle = _connect(server.url)  # a byte every 0.1 s: each recv is quick
        closed_at = None
        for byte in PARTIAL * 10:  # bounded: 310 bytes, 31 s at most
            try:
                trickle.sendall(bytes([byte]))
            except OSError:
                closed_at = time.monotonic()
                break
            if _wait_closed([trickle], 0.1):
                closed_at = time.monotonic()
                break
        assert closed_at is not None and closed_at - started < timeout + 1.5
        closed = _wait_closed([stuck], timeout + 1.5)
        assert stuck in closed and closed[stuck] - started >= timeout * 0.9
        assert _eventually(lambda: server.open_connections == 0, 2)
        stuck.close()
        trickle.close()


def test_idle_keepalive_is_closed(home: Path) -> None:
    idle = 0.5
    with StaticServer(home / "public", idle_timeout=idle) as server, _connect(server.url) as sock:
        sock.sendall(b"HEAD /feeds/gx/manifest.cose HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        answered = time.monotonic()
        assert head.startswith(b"HTTP/1.1 200 ")
        closed = _wait_closed([sock], idle + 2)
        assert sock in closed and closed[sock] - answered >= idle * 0.9


def test_flood_of_stuck_clients_stays_bounded_and_serves(home: Path) -> None:
    bound, flood, timeout = 32, 300, 4.0
    data = (home / "public" / SNAPSHOT.lstrip("/")).read_bytes()
    with StaticServer(home / "public", header_timeout=timeout, max_connections=bound) as server:
        socks: list[socket.socket] = []
        try:
            for _ in range(flood):
                sock = _connect(server.url)
                socks.append(sock)
                with contextlib.suppress(OSError):  # already evicted or refused
                    sock.sendall(PARTIAL)
            started = time.monotonic()
            answer = httpx.get(server.url + SNAPSHOT, timeout=timeout)
            assert answer.status_code == 200 and answer.content == data
            # Served by evicting a stuck head at once, not by waiting for the heads'
            # time-out to free a slot (a causal bound, not a speed target).
            assert time.monotonic() - started < timeout
            closed = _wait_closed(socks, timeout + 3)
            assert len(closed) == flood, f"{flood - len(closed)} sockets still held"
            assert _eventually(lambda: server.open_connections == 0, 2)
            assert 0 < server.peak_connections <= bound
        finally:
            for sock in socks:
                sock.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVER_AT_FD_LIMIT = """
import os, resource, sys
from pathlib import Path
from central.serve import StaticServer
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
server = StaticServer(Path(sys.argv[1]), header_timeout=60)
hogs = []
try:
    while True:
        hogs.append(os.open(os.devnull, os.O_RDONLY))  # another user of descriptors
except OSError:
    pass
for fd in hogs[:20]:
    os.close(fd)
print(server.url, server.max_connections, flush=True)
server.serve_forever()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_accept_at_the_descriptor_limit_neither_spins_nor_starves(home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_AT_FD_LIMIT, str(home / "public")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    socks: list[socket.socket] = []
    try:
        url, bound = proc.stdout.readline().split()  # type: ignore[union-attr]
        assert int(bound) > 20  # so the descriptors, not the bound, run out first
        for _ in range(60):
            sock = _connect(url)
            socks.append(sock)
            with contextlib.suppress(OSError):
                sock.sendall(PARTIAL)
        assert _eventually(lambda: len(os.listdir(f"/proc/{proc.pid}/fd")) >= 250, 5)
        before, started = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(1)  # a window to measure idleness in: there is no work to wait on
        cpu = (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        assert cpu < 0.3, f"accept loop uses {cpu:.0%} of a CPU at the descriptor limit"
        answer = httpx.get(url + "/feeds/gx/manifest.cose", timeout=3)
        assert answer.status_code == 200
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        proc.wait(timeout=10)
