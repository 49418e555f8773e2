from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FeedServer, World, synced_world

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


@pytest.fixture(autouse=True)
def no_sync_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Syncs in tests retry at once: a refused or failing file would otherwise wait out
    the real backoff (0.5 + 1 + 2 s) in every test that serves one. The backoff itself
    is tested with an explicit policy (tests/test_sync_resume.py)."""
    monkeypatch.setenv("VICHECK_SYNC_BACKOFF", "0")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A 桂 feed and a hotlist, published and served; the terminal is initialised
    and synced once."""
    with synced_world(tmp_path) as w:
        yield w


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The standard world, synced once per module, for the many checks that only read it."""
    with synced_world(tmp_path_factory.mktemp("shared")) as w:
        yield w


@pytest.fixture
def empty_world(tmp_path: Path) -> Iterator[World]:
    """A served directory with nothing published and no terminal initialised yet."""
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def vectors_server() -> Iterator[FeedServer]:
    if not VECTORS.is_dir():
        pytest.skip(f"shared vectors not found at {VECTORS}")
    server = FeedServer(VECTORS / "server")
    try:
        yield server
    finally:
        server.close()
