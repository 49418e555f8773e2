"""A real nginx serving a central home as ``central nginx-config`` writes it, for the
tests that sync (and upload) through it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.nginx import AUDIT_UPSTREAM, standalone
from central.serve import free_port


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@contextlib.contextmanager
def real_nginx(home: Path, prefix: Path, audit: str = AUDIT_UPSTREAM) -> Iterator[str]:
    """nginx on a free loopback port serving ``home``'s public tree (and proxying
    /audit/ to ``audit``, host:port), running while the block runs; its
    URL. Skips the test when nginx is not installed."""
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (make sysdeps installs nginx-light from Debian)")
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    user = "root" if os.geteuid() == 0 else None  # workers must read pytest's 0700 tmp
    conf.write_text(
        standalone(home / "public", prefix, f"127.0.0.1:{port}", workers=1, user=user, audit=audit)
    )
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
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait()
