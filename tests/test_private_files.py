"""A symbolic link planted where vicheck keeps a file or folder is never followed:
the file it points at keeps its content and mode, and the command either carries
on without it (the sync log) or stops with an error naming the link (the sync
lock, the configuration's temporary file), never with a traceback.

Whoever can put a link in a data dir could otherwise have vicheck append to,
truncate or chmod any file its user may write (``logs/sync.jsonl -> ~/.bashrc``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from base.private import open_private, private_dir, write_private
from tests.support import World, synced_world

PRECIOUS = "someone else's file\n"


class Victim:
    """A file and a folder outside the data dir, 0644/0755, that links point at."""

    def __init__(self, tmp: Path) -> None:
        self.file = tmp / "victim.txt"
        self.file.write_text(PRECIOUS, encoding="utf-8")
        os.chmod(self.file, 0o644)
        self.dir = tmp / "victim-dir"
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)

    def assert_untouched(self) -> None:
        assert self.file.read_text(encoding="utf-8") == PRECIOUS
        assert stat.S_IMODE(self.file.stat().st_mode) == 0o644
        assert stat.S_IMODE(self.dir.stat().st_mode) == 0o755
        assert list(self.dir.iterdir()) == []


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with synced_world(tmp_path) as world:
        yield world


@pytest.fixture
def victim(tmp_path: Path) -> Victim:
    return Victim(tmp_path)


def plant(link: Path, target: Path) -> None:
    if link.is_dir() and not link.is_symlink():
        for child in link.iterdir():
            child.unlink()
        link.rmdir()
    elif link.exists() or link.is_symlink():
        link.unlink()
    os.symlink(target, link)


def assert_refused(err: str, link: Path) -> None:
    assert "Traceback" not in err
    assert "symbolic link" in err and str(link) in err


def test_a_linked_sync_log_is_not_written_and_the_sync_carries_on(
    world: World, victim: Victim
) -> None:
    link = world.data_dir / "logs" / "sync.jsonl"
    plant(link, victim.file)
    result = world.sync()
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    victim.assert_untouched()
    assert link.is_symlink()


def test_a_linked_logs_folder_is_not_filled_and_the_sync_carries_on(
    world: World, victim: Victim
) -> None:
    plant(world.data_dir / "logs", victim.dir)
    result = world.sync()
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    victim.assert_untouched()


def test_a_linked_sync_lock_stops_the_sync_with_an_error_naming_it(
    world: World, victim: Victim
) -> None:
    link = world.data_dir / "sync.lock"
    plant(link, victim.file)
    result = world.sync()
    assert result.code == 1  # INTERNAL: terminal/cli.py's sync maps no OSError yet
    assert_refused(result.err + result.out, link)
    victim.assert_untouched()
    assert world.lookup("桂A12345").code == 0  # checks do not take the lock


def test_a_linked_config_temporary_file_stops_init_and_config_stays_a_file(
    world: World, victim: Victim
) -> None:
    config = world.data_dir / "config.json"
    before = config.read_bytes()
    link = world.data_dir / "config.json.tmp"
    plant(link, victim.file)
    result = world.init()
    assert result.code == 1  # INTERNAL: terminal/cli.py's init maps no OSError yet
    assert_refused(result.err + result.out, link)
    victim.assert_untouched()
    assert not config.is_symlink() and config.read_bytes() == before
    assert world.lookup("桂A12345").code == 0


def test_a_stale_config_temporary_file_is_replaced(world: World) -> None:
    """A save killed halfway left its temporary file: the next init carries on."""
    (world.data_dir / "config.json.tmp").write_text("{half", encoding="utf-8")
    assert world.init().code == 0
    assert not (world.data_dir / "config.json.tmp").exists()
    assert stat.S_IMODE((world.data_dir / "config.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["vicheck.db-journal", "vicheck.db-wal"])
def test_a_linked_database_sidecar_stops_a_check_before_sqlite_follows_it(
    world: World, victim: Victim, name: str
) -> None:
    """Once, the mode repair chmodded the link's target; SQLite would also write
    its pages through it. The check stops instead, naming the link."""
    link = world.data_dir / name
    plant(link, victim.file)
    result = world.lookup("桂A12345")
    assert result.code == 1  # INTERNAL: the check path maps no OSError yet
    assert_refused(result.err + result.out, link)
    victim.assert_untouched()


@pytest.mark.parametrize("name", ["config.json.tmp", "sync.lock"])
def test_a_check_never_chmods_through_a_link(world: World, victim: Victim, name: str) -> None:
    """The repair every command runs skips links to what is not vicheck's."""
    plant(world.data_dir / name, victim.file)
    result = world.lookup("桂A12345")
    assert result.code == 0, result.err
    victim.assert_untouched()


# --- base.private itself --------------------------------------------------------


def test_open_private_refuses_a_link(tmp_path: Path, victim: Victim) -> None:
    link = tmp_path / "f"
    os.symlink(victim.file, link)
    for mode in ("a", "w", "a+", "r"):
        with pytest.raises(OSError, match="symbolic link"):
            open_private(link, mode)
    victim.assert_untouched()


def test_open_private_refuses_a_dangling_link(tmp_path: Path) -> None:
    link, target = tmp_path / "f", tmp_path / "would-be-created"
    os.symlink(target, link)
    with pytest.raises(OSError, match="symbolic link"):
        open_private(link, "a")
    assert not target.exists()


def test_private_dir_refuses_a_linked_folder(tmp_path: Path, victim: Victim) -> None:
    link = tmp_path / "d"
    os.symlink(victim.dir, link)
    with pytest.raises(OSError, match="symbolic link"):
        private_dir(link)
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(OSError):  # a file where the folder should be
        private_dir(tmp_path / "file")
    victim.assert_untouched()


def test_write_private_refuses_a_linked_temporary_file(tmp_path: Path, victim: Victim) -> None:
    path = tmp_path / "keys.toml"
    os.symlink(victim.file, tmp_path / "keys.toml.part")
    with pytest.raises(OSError, match="symbolic link"):
        write_private(path, b"new")
    victim.assert_untouched()
    assert not path.exists()
    write_private(tmp_path / "other", b"new")  # no link: written, 0600
    assert (tmp_path / "other").read_bytes() == b"new"
    assert stat.S_IMODE((tmp_path / "other").stat().st_mode) == 0o600


# --- a mode that cannot be changed is said, and the check still runs ------------


def _immutable(path: Path, on: bool) -> bool:
    """``chattr +i``: chmod then fails with EPERM even for root, as it does for a
    file another user owns. False where the file system or the user cannot."""
    import shutil
    import subprocess

    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    done = subprocess.run([chattr, "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


def test_a_mode_that_cannot_be_changed_is_warned_of_and_the_check_runs(world: World) -> None:
    config = world.data_dir / "config.json"
    os.chmod(config, 0o644)
    if not _immutable(config, True):
        pytest.skip("chattr +i is not available here")
    try:
        result = world.lookup("桂A12345")
    finally:
        _immutable(config, False)
    assert result.code == 0
    assert result.err.count("\n") == 1  # one line per command
    assert "warning: cannot make" in result.err and str(config) in result.err
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert world.lookup("桂A12345").err == ""  # fixed now: nothing to say
