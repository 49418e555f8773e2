"""A published central home, a terminal initialised against it and a whole ``vicheck
sync`` of it, for the audit upload tests (tests/test_audit_upload.py and
tests/test_audit_hostile.py share them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central import cli
from central.auditserve import audit_beside
from central.serve import StaticServer
from tests.support import T0, at, run_cli


def publish_home(tmp_path_factory: pytest.TempPathFactory, vehicles: int) -> Path:
    """A central home with keys, a trust list and one published 桂 feed of
    ``vehicles`` generated vehicles."""
    home = tmp_path_factory.mktemp("central") / "home"
    for args in (
        ["init", "--province", "桂"],
        ["trustlist"],
        ["registry", "generate", "--province", "桂", "--vehicles", str(vehicles)],
        ["publish", "--feed", "gx", "--scope", "桂"],
    ):
        if args[0] == "registry":
            args = [*args, "--as-of", "2026-06"]
        assert cli.main(["--home", str(home), "--at", at(T0), *args]) == 0
    return home


def fresh_copy(published: Path, tmp_path: Path) -> Path:
    """A copy of the published home per test: its own audit.db."""
    copy = tmp_path / "home"
    shutil.copytree(published, copy)
    return copy


@contextlib.contextmanager
def central_serve(home: Path, max_connections: int = 256) -> Iterator[StaticServer]:
    """What ``vicheck central serve`` runs, in-process: the static server whose
    handler forwards /audit/ to the upload app."""
    with (
        audit_beside(home) as handler,
        StaticServer(home / "public", handler=handler, max_connections=max_connections) as server,
    ):
        yield server


def init_terminal(data_dir: Path, home: Path, url: str) -> None:
    root = (home / "keys" / "root.pub").read_text().strip()
    args = ("init", "--root-key", root, "--server", url, "--feed", "gx")
    assert run_cli(*args, data_dir=data_dir).code == 0


def sync(data_dir: Path, **env: str) -> dict[str, Any]:
    """``vicheck sync --json`` with ``env`` set for it; its report, exit and time."""
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    started = time.monotonic()
    try:
        result = run_cli("sync", "--json", data_dir=data_dir)
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    report: dict[str, Any] = result.json
    report["exit"], report["seconds"] = result.code, time.monotonic() - started
    return report
