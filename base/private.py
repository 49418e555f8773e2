"""Files only their owner may read: data dirs 0700, the files in them 0600.

A terminal's cache and sync log say which vehicles an officer looked for and when;
the central registry holds every vehicle of a province. Neither is for other users
of the machine, so every file vicheck keeps is created with its mode set
explicitly (never left to the umask, which an operator's shell may have at 0) and
an older install's 0755/0644 tree is brought down to 0700/0600 the first time it
is used.

Symbolic links are never followed when writing or changing modes: whoever may put
a link in a data dir (``logs/sync.jsonl -> ~/.bashrc``) would otherwise have
vicheck append to, truncate or chmod a file it was never meant to touch. Files are
opened with ``O_NOFOLLOW``, a link where a file or folder of ours should be is
refused with an ``OSError`` that names it, and repairs skip links.

It lives in ``base`` because it is the lowest layer: ``cache``, ``central`` and
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


def private_dir(path: PathLike, *, named: bool = False) -> None:
    """Create ``path`` (and missing parents) and make it 0700.

    Only the leaf is made private: the parents are the operator's (a home
    directory, /var/lib) and keep the modes they have or their defaults. A leaf
    that is a symbolic link (even to a folder) or not a folder is refused: what it
    points at is not ours to fill or chmod. Except when the operator ``named`` the
    folder itself (``--data-dir``, ``--out``): a link there is their own choice
    (a data dir on another disk), so it is followed, and nothing inside it is.
    """
    if named:
        path = os.path.realpath(path)
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise _link_refused(path)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", os.fspath(path))
    _repair(path, DIR_MODE)


def open_private(path: PathLike, mode: str = "r", **kwargs: Any) -> IO[Any]:
    """``open(path, mode, **kwargs)``, but a file it creates is 0600 from its first
    byte, an existing file is made 0600 before anything is written to it, and a
    symbolic link at ``path`` is refused (``OSError``) rather than followed."""
    return _fdopen(_open_nofollow(path, _flags(mode)), mode, **kwargs)


def _open_nofollow(path: PathLike, flags: int) -> int:
    """``os.open`` that never follows a link in the last component, and says so
    in words when it meets one (the bare ELOOP reads "too many levels")."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and os.path.islink(path)):
            raise _link_refused(path) from None
        raise


def _link_refused(path: PathLike) -> OSError:
    return OSError(errno.ELOOP, "is a symbolic link; vicheck does not follow it", os.fspath(path))


def _fdopen(fd: int, mode: str, **kwargs: Any) -> IO[Any]:
    try:
        _fix_fd(fd)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def private_file(path: PathLike) -> None:
    """Make sure ``path`` exists and is 0600 (created empty when missing), so that
    whatever fills it later, SQLite included, finds the mode already set. An
    existing file is not opened, so one we may only read stays usable; a symbolic
    link at ``path`` is refused (``OSError``): what opens it next would follow it."""
    if os.path.islink(path):
        raise _link_refused(path)  # whoever opens it next (SQLite) would follow it
    try:
        _repair(path, FILE_MODE)
    except FileNotFoundError:
        os.close(_open_nofollow(path, os.O_WRONLY | os.O_CREAT))
        _repair(path, FILE_MODE)


def write_private(path: PathLike, data: bytes, suffix: str = ".part") -> None:
    """Replace ``path`` with ``data`` atomically (temporary file ``path + suffix``,
    fsync, rename), 0600 throughout: a power cut leaves the old file or the new
    one, never half.

    The temporary file is always a new one (``O_EXCL``): a planted link there
    would otherwise have the write truncate its target and the rename make
    ``path`` itself a link. A stale regular file (a write killed halfway) is
    removed first; anything else there is refused."""
    tmp = os.fspath(path) + suffix
    with _fresh(tmp) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fresh(path: str) -> IO[bytes]:
    """A new, empty 0600 file at ``path``, opened for writing bytes."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    fd = _open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    handle: IO[bytes] = _fdopen(fd, "wb")
    return handle


def private_db(path: PathLike) -> None:
    """Before connecting to the SQLite file ``path``: create it 0600 if missing and
    make it and any sidecar left from before 0600. SQLite gives the -wal and -shm
    files it creates the database file's mode, so they follow."""
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        sidecar = os.fspath(path) + suffix
        if os.path.islink(sidecar):
            raise _link_refused(sidecar)  # SQLite would write its pages through it
        repair_file(sidecar)


def repair_file(path: PathLike) -> None:
    """Make an existing file 0600; a missing one is left missing."""
    with contextlib.suppress(FileNotFoundError):
        _repair(path, FILE_MODE)


def repair_tree(
    path: PathLike, names: Collection[str], prefixes: tuple[str, ...] = ()
) -> list[str]:
    """Bring an existing ``path`` to 0700 and its entries named by ``names`` or
    ``prefixes`` to 0700/0600 (see ``repair_entries``). Returns what could not be
    changed, for the caller to report."""
    kept = [] if _repair(path, DIR_MODE) else [os.fspath(path)]
    return kept + repair_entries(path, names, prefixes)


def repair_entries(
    path: PathLike, names: Collection[str], prefixes: tuple[str, ...] = ()
) -> list[str]:
    """Of what is in the folder ``path``, bring the entries named in ``names`` or
    starting with one of ``prefixes`` (with everything under them) to 0700 folders
    and 0600 files: what an older vicheck left at 0755/0644. ``path`` itself keeps
    its mode.

    Only vicheck's own entries are touched, so a data dir pointed at a folder that
    holds other things (a home directory) does not have those changed. Symbolic
    links are not followed: what they point at is not ours. Returns the paths
    whose mode could not be changed (another user's, a read-only file system).
    """
    kept: list[str] = []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name in names or entry.name.startswith(prefixes):
                _repair_entry(entry, kept)
    return kept


def _repair_entry(entry: os.DirEntry[str], kept: list[str]) -> None:
    try:
        if entry.is_symlink():
            return
        is_dir = entry.is_dir(follow_symlinks=False)
        if not _repair(entry.path, DIR_MODE if is_dir else FILE_MODE):
            kept.append(entry.path)
        if is_dir:
            with os.scandir(entry.path) as children:
                for child in children:
                    _repair_entry(child, kept)
    except FileNotFoundError:
        pass  # removed meanwhile (a finished sync's download folder): nothing to protect


def _repair(path: PathLike, want: int) -> bool:
    """chmod only when needed, never through a symbolic link (a link is skipped:
    what it points at is not ours). Repairing is best effort: a file another user
    owns is theirs to fix, and a read-only file system cannot be changed, so a
    check run there still works (creating a file, by contrast, never leaves it
    open). Returns False when the mode is wrong and could not be changed."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == want:
        return True
    try:
        if os.chmod in os.supports_follow_symlinks:
            os.chmod(path, want, follow_symlinks=False)
        else:
            os.chmod(path, want)  # Linux has no lchmod; lstat above said not a link
    except OSError as exc:
        if exc.errno not in _CANNOT_CHANGE:
            raise
        return False
    return True


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
