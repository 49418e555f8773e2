"""Files only their owner may read: data dirs 0700, the files in them 0600.

A terminal's cache and sync log say which vehicles an officer looked for and when;
the central registry holds every vehicle of a province. Neither is for other users
of the machine, so every file vicheck keeps is created with its mode set
explicitly (never left to the umask, which an operator's shell may have at 0) and
an older install's 0755/0644 tree is brought down to 0700/0600 the first time it
is used.

It lives in ``keys`` because it is the lowest layer: ``cache``, ``central`` and
``terminal`` all build on it. Plain ``os`` only (no pathlib): the check path
imports it, and every check pays for each module it imports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Collection
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database, which hold its pages as much as it does."""

PathLike = str | os.PathLike[str]
_CANNOT_CHANGE = (errno.EPERM, errno.EROFS)


def private_dir(path: PathLike) -> None:
    """Create ``path`` (and missing parents) and make it 0700.

    Only the leaf is made private: the parents are the operator's (a home
    directory, /var/lib) and keep the modes they have or their defaults.
    """
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    _repair(path, DIR_MODE)


def open_private(path: PathLike, mode: str = "r", **kwargs: Any) -> IO[Any]:
    """``open(path, mode, **kwargs)``, but a file it creates is 0600 from its first
    byte, and an existing file is made 0600 before anything is written to it."""
    fd = os.open(path, _flags(mode), FILE_MODE)
    try:
        _fix_fd(fd)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def private_file(path: PathLike) -> None:
    """Make sure ``path`` exists and is 0600 (created empty when missing), so that
    whatever fills it later, SQLite included, finds the mode already set. An
    existing file is not opened, so one we may only read stays usable."""
    try:
        _repair(path, FILE_MODE)
    except FileNotFoundError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        _repair(path, FILE_MODE)


def write_private(path: PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file, fsync, rename),
    0600 throughout: a power cut leaves the old file or the new one, never half."""
    tmp = os.fspath(path) + ".part"
    with open_private(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def private_db(path: PathLike) -> None:
    """Before connecting to the SQLite file ``path``: create it 0600 if missing and
    make it and any sidecar left from before 0600. SQLite gives the -wal and -shm
    files it creates the database file's mode, so they follow."""
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        repair_file(os.fspath(path) + suffix)


def repair_file(path: PathLike) -> None:
    """Make an existing file 0600; a missing one is left missing."""
    with contextlib.suppress(FileNotFoundError):
        _repair(path, FILE_MODE)


def repair_tree(path: PathLike, names: Collection[str], prefixes: tuple[str, ...] = ()) -> None:
    """Bring an existing ``path`` to 0700 and its entries named by ``names`` or
    ``prefixes`` to 0700/0600 (see ``repair_entries``)."""
    _repair(path, DIR_MODE)
    repair_entries(path, names, prefixes)


def repair_entries(path: PathLike, names: Collection[str], prefixes: tuple[str, ...] = ()) -> None:
    """Of what is in the folder ``path``, bring the entries named in ``names`` or
    starting with one of ``prefixes`` (with everything under them) to 0700 folders
    and 0600 files: what an older vicheck left at 0755/0644. ``path`` itself keeps
    its mode.

    Only vicheck's own entries are touched, so a data dir pointed at a folder that
    holds other things (a home directory) does not have those changed. Symbolic
    links are not followed: what they point at is not ours.
    """
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name in names or entry.name.startswith(prefixes):
                _repair_entry(entry)


def _repair_entry(entry: os.DirEntry[str]) -> None:
    try:
        if entry.is_symlink():
            return
        if not entry.is_dir():
            _repair(entry.path, FILE_MODE)
            return
        _repair(entry.path, DIR_MODE)
        with os.scandir(entry.path) as children:
            for child in children:
                _repair_entry(child)
    except FileNotFoundError:
        pass  # removed meanwhile (a finished sync's download folder): nothing to protect


def _repair(path: PathLike, want: int) -> None:
    """chmod only when needed. Repairing is best effort: a file another user owns
    is theirs to fix, and a read-only file system cannot be changed, so a check
    run there still works (creating a file, by contrast, never leaves it open)."""
    if stat.S_IMODE(os.stat(path).st_mode) != want:
        try:
            os.chmod(path, want)
        except OSError as exc:
            if exc.errno not in _CANNOT_CHANGE:
                raise


def _fix_fd(fd: int) -> None:
    """The umask may have taken bits off a new file's mode but cannot add any, and
    an existing file keeps its old mode: set it on the open descriptor."""
    if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
        try:
            os.fchmod(fd, FILE_MODE)
        except OSError as exc:
            if exc.errno not in _CANNOT_CHANGE:
                raise


def _flags(mode: str) -> int:
    """``os.open`` flags for an ``open`` mode string such as ``"a+"`` or ``"wb"``."""
    kind = mode.replace("b", "").replace("t", "")
    base = kind.removesuffix("+")
    create = {"r": 0, "w": os.O_CREAT | os.O_TRUNC, "a": os.O_CREAT | os.O_APPEND}
    create["x"] = os.O_CREAT | os.O_EXCL
    if base not in create:
        raise ValueError(f"unsupported mode {mode!r}")
    access = os.O_RDWR if kind != base else os.O_RDONLY if base == "r" else os.O_WRONLY
    return access | create[base]
