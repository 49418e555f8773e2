"""Data at rest is its owner's only: every folder vicheck keeps is 0700 and every
file 0600, on the terminal and in the central home (``public/`` excepted, which is
served to the world), whatever the umask, and an older install's 0755/0644 tree is
repaired the first time vicheck uses it."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.apply import DOWNLOAD_PREFIX
from cache.store import DB_NAME, Store
from cache.sync import LOG_NAME, SyncEvent, sync
from central import cli as central_cli
from central.registry import Registry
from terminal.config import DATA_DIR_NAMES, DATA_DIR_PREFIXES
from tests.support import T0, World, at, standard_world, synced_world

PERMISSIVE = [0o022, 0o000]
"""Umasks under which a file left to the default mode would be readable by others."""
HEADER = "plate,plate_type,vehicle_type,operating,registered,valid_through,status\n"


@pytest.fixture(params=PERMISSIVE, ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(root: Path, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Every folder and file under ``root`` (not ``root``), by relative path."""
    out: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] not in skip:
            out[str(rel)] = mode(path)
    return out


def assert_private(root: Path, skip: tuple[str, ...] = ()) -> dict[str, int]:
    found = modes(root, skip)
    wrong = {
        name: oct(m)
        for name, m in found.items()
        if m != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert wrong == {}, f"not private under {root}: {wrong}"
    return found


def central(home: Path, *args: str) -> int:
    return central_cli.main(["--home", str(home), "--at", at(T0), *args])


# --- the terminal -------------------------------------------------------------


def test_terminal_data_dir_is_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    with synced_world(tmp_path) as world:
        assert world.lookup("桂A12345").code == 0
        assert world.verify(world.pki.certificate()).code == 0
        # SQLite deletes -wal and -shm when the last connection closes: hold one.
        store = Store.open(world.data_dir)
        try:
            store.view()
            assert mode(world.data_dir) == 0o700
            found = assert_private(world.data_dir)
        finally:
            store.close()
    expected = {"config.json", DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", "sync.lock"}
    assert expected | {"logs", LOG_NAME} <= set(found)


def test_downloads_during_a_sync_are_private(tmp_path: Path, umask: int) -> None:
    world = standard_world(tmp_path)
    seen: dict[str, tuple[bool, int]] = {}

    def listener(event: SyncEvent) -> None:
        if event.stage == "download":  # the .part file is open and being written
            for path in [world.data_dir, *world.data_dir.rglob("*")]:
                seen[str(path.relative_to(world.data_dir))] = (path.is_dir(), mode(path))

    try:
        assert world.init().code == 0
        root = world.pki.root.public
        report = sync(world.data_dir, world.server.url, root, ["gx"], lambda: T0, listener)
    finally:
        world.close()
    assert report.ok
    assert any(n.startswith(DOWNLOAD_PREFIX) and n.endswith(".part") for n in seen)
    assert {f"{DB_NAME}-wal", "sync.lock"} <= set(seen)  # the writer holds both meanwhile
    wrong = {n: oct(m) for n, (is_dir, m) in seen.items() if m != (0o700 if is_dir else 0o600)}
    assert wrong == {}


def make_old(world: World) -> dict[str, int]:
    """Leave the data dir as an older vicheck did: 0755 folders, 0644 files, with a
    killed sync's download folder and a file of the operator's own."""
    data = world.data_dir
    stale = data / f"{DOWNLOAD_PREFIX}gx-killed"
    stale.mkdir()
    (stale / "0.part").write_bytes(b"half a download")
    (data / "notes.txt").write_text("the operator's own file\n")
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return modes(data)


@pytest.mark.parametrize("command", ["verify", "lookup", "sync"])
def test_an_older_data_dir_is_repaired_on_first_use(tmp_path: Path, command: str) -> None:
    with synced_world(tmp_path) as world:
        # A terminal UI of the older version still has the cache open.
        held = sqlite3.connect(world.data_dir / DB_NAME)
        try:
            held.execute("PRAGMA journal_mode = WAL")
            held.execute("SELECT count(*) FROM feeds").fetchone()
            before = make_old(world)
            assert {f"{DB_NAME}-wal", f"{DB_NAME}-shm", LOG_NAME} <= set(before)
            assert set(before.values()) == {0o755, 0o644}
            if command == "verify":
                assert world.verify(world.pki.certificate()).code == 0
            elif command == "lookup":
                assert world.lookup("桂A12345").code == 0
            else:
                assert world.sync().code == 0
            assert mode(world.data_dir) == 0o700
            found = assert_private(world.data_dir, skip=("notes.txt",))
            gone = set(before) - set(found) - {"notes.txt"}
            # A sync collects what a killed one left; a check leaves it (but private).
            stale = {f"{DOWNLOAD_PREFIX}gx-killed", f"{DOWNLOAD_PREFIX}gx-killed/0.part"}
            assert gone == (stale if command == "sync" else set())
        finally:
            held.close()
        # Only vicheck's own entries change: the operator's file is left as it was.
        assert mode(world.data_dir / "notes.txt") == 0o644


def test_the_names_repaired_are_the_names_created() -> None:
    assert DB_NAME in DATA_DIR_NAMES
    assert {f"{DB_NAME}-wal", f"{DB_NAME}-shm"} <= set(DATA_DIR_NAMES)
    assert LOG_NAME.split("/")[0] in DATA_DIR_NAMES
    assert DOWNLOAD_PREFIX in DATA_DIR_PREFIXES


def test_init_makes_a_new_data_dir_private(tmp_path: Path, umask: int) -> None:
    world = World(tmp_path)
    try:
        world.data_dir = tmp_path / "deep" / "terminal"
        assert world.init(["gx"]).code == 0
    finally:
        world.close()
    assert mode(world.data_dir) == 0o700
    assert {"config.json", DB_NAME} <= set(assert_private(world.data_dir))


# --- the central home ---------------------------------------------------------


def publish_home(home: Path, tmp: Path) -> None:
    assert central(home, "init", "--province", "桂") == 0
    assert central(home, "trustlist") == 0
    gen = ["registry", "generate", "--province", "桂", "--vehicles", "50", "--seed", "5"]
    assert central(home, *gen, "--as-of", "2026-06") == 0
    csv = tmp / "registry.csv"
    csv.write_text(HEADER + "桂A12345,02,K33,0,2022-06,2027-06,A\n", encoding="utf-8")
    assert central(home, "registry", "import", str(csv)) == 0
    assert central(home, "publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot") == 0
    assert central(home, "trustlist") == 0


def assert_public_readable(public: Path) -> None:
    """``public/`` is served: others must be able to read it, as before."""
    assert mode(public) & 0o005 == 0o005
    for path in public.rglob("*"):
        need = 0o005 if path.is_dir() else 0o004
        assert mode(path) & need == need, path


def test_central_home_is_private_but_public_is_served(tmp_path: Path, umask: int) -> None:
    home = tmp_path / "home"
    publish_home(home, tmp_path)
    with Registry(home / "registry.db") as registry:
        with registry.transaction() as conn:  # a write, so the WAL is in use
            conn.execute("DELETE FROM changes")
        found = assert_private(home, skip=("public",))
    expected = {"registry.db", "registry.db-wal", "registry.db-shm", "registry.db.publish-lock"}
    assert expected | {"keys", "keys/root.key", "keys/feed.pub", "trustlist.version"} <= set(found)
    assert mode(home) & 0o005 == 0o005  # the web server must reach public/ through it
    assert_public_readable(home / "public")


def test_an_older_central_home_is_repaired_on_first_use(tmp_path: Path) -> None:
    home = tmp_path / "home"
    publish_home(home, tmp_path)
    for path in [home, *home.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    public_before = modes(home / "public")
    csv = tmp_path / "more.csv"
    csv.write_text(HEADER + "桂A54321,02,K33,0,2022-06,2027-06,A\n", encoding="utf-8")
    assert central(home, "registry", "import", str(csv)) == 0
    found = assert_private(home, skip=("public",))
    assert {"keys", "keys/cert.key", "keys.toml", "trustlist.version", "registry.db"} <= set(found)
    assert modes(home / "public") == public_before
    assert mode(home) == 0o755
