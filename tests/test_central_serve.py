"""Serving the published tree: our static server, a real nginx, and a fleet at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from central import cli
from central.nginx import standalone
from central.serve import StaticServer, free_port
from tests.support import T0, at, run_cli

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


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def test_terminal_syncs_through_real_nginx(home: Path, tmp_path: Path) -> None:
    nginx = _nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (make sysdeps installs nginx-light from Debian)")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    user = "root" if os.geteuid() == 0 else None  # workers must read pytest's 0700 tmp
    conf.write_text(standalone(home / "public", prefix, f"127.0.0.1:{port}", workers=1, user=user))
    proc = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url + "/trustlist.cose").raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
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
    finally:
        proc.terminate()
        proc.wait()


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
