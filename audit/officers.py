"""Who may sign in at this terminal, and the lock after wrong PINs.

PINs are kept only as argon2id hashes (argon2-cffi's ``PasswordHasher`` with its
defaults, RFC 9106's recommended low-memory profile), never in clear, in the
``officers`` table of ``audit.sqlite``. Five wrong PINs in a row, for any officer
number, lock sign-in for 30 s, doubling with each further lock up to an hour; the
state is in the database, so quitting the terminal does not reset it. An unknown
officer number costs the same hashing as a known one and counts as a wrong PIN,
so neither timing nor the lock tells which numbers exist.

argon2 is imported here only, when an ``Officers`` is made (the officer commands,
the sign-in screen); the rest of the module (the number's form, which
``--officer`` checks) is light, and a check never loads argon2
(tests/test_terminal_structure.py).
"""

from __future__ import annotations

import os
import re
import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from audit.store import AuditLogError, open_db
from base.sqlite import transaction

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MAX_FAILURES = 5
FIRST_LOCK = 30
"""Seconds of the first lock; each next one doubles."""
MAX_LOCK = 3600
_NUMBER = re.compile(r"[0-9A-Za-z]{1,16}")
_PIN = re.compile(r"[0-9]{4,12}")


class OfficerError(ValueError):
    """An officer number or PIN that cannot be used (bad form, unknown, taken)."""


def is_officer_number(text: str) -> bool:
    """1 to 16 letters and digits (a 警号 is six digits; auxiliary numbers may hold letters)."""
    return _NUMBER.fullmatch(text) is not None


def check_number(text: str) -> str:
    if not is_officer_number(text):
        raise OfficerError(f"{text!r} is not an officer number (1 to 16 letters and digits)")
    return text


def check_pin(pin: str) -> str:
    if _PIN.fullmatch(pin) is None:
        raise OfficerError("a PIN is 4 to 12 digits")
    return pin


class Attempt(NamedTuple):
    """What a sign-in attempt came to: ``ok``; else how many tries are left before
    the lock, and ``locked_for`` (seconds) when sign-in is locked."""

    ok: bool
    tries_left: int
    locked_for: int = 0


class Officer(NamedTuple):
    number: str
    added_at: int


class Officers:
    """The officer table and sign-in lock of one data dir."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        from argon2 import PasswordHasher

        self._conn = conn
        self._hasher: PasswordHasher = PasswordHasher()
        self._dummy: str | None = None

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str]) -> Officers:
        return cls(open_db(data_dir))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Officers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add(self, number: str, pin: str, now: float) -> None:
        """A new officer; ``OfficerError`` if the number is taken or malformed."""
        digest = self._hasher.hash(check_pin(pin))
        try:
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO officers (number, pin_hash, added_at) VALUES (?, ?, ?)",
                    (check_number(number), digest, int(now)),
                )
        except sqlite3.IntegrityError:
            raise OfficerError(f"officer {number} exists already; remove it first") from None
        except sqlite3.Error as exc:
            raise AuditLogError(f"cannot write the officer list: {exc}") from None

    def remove(self, number: str) -> None:
        with transaction(self._conn):
            gone = self._conn.execute("DELETE FROM officers WHERE number = ?", (number,))
        if gone.rowcount == 0:
            raise OfficerError(f"no officer {number} on this terminal")

    def all(self) -> list[Officer]:
        rows = self._conn.execute("SELECT number, added_at FROM officers ORDER BY number")
        return [Officer(str(n), int(t)) for n, t in rows]

    def locked_for(self, now: float) -> int:
        """Seconds sign-in stays locked (0: not locked)."""
        with transaction(self._conn):
            return self._lock_left(int(now))

    def sign_in(self, number: str, pin: str, now: float) -> Attempt:
        """Check ``pin`` for ``number`` unless sign-in is locked; count a wrong one
        (an unknown number is one) and lock after ``MAX_FAILURES``."""
        at = int(now)
        with transaction(self._conn):
            left = self._lock_left(at)
            if left:
                return Attempt(False, 0, left)
        row = self._conn.execute(
            "SELECT pin_hash FROM officers WHERE number = ?", (number,)
        ).fetchone()
        ok = self._matches(None if row is None else str(row[0]), pin)
        with transaction(self._conn):
            if ok:
                self._conn.execute("DELETE FROM signin")
                self._rehash(number, str(row[0]), pin)
                return Attempt(True, MAX_FAILURES)
            return self._failed(at)

    def _matches(self, digest: str | None, pin: str) -> bool:
        """argon2 verify; against a dummy hash for an unknown number (same cost)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        if digest is None:
            if self._dummy is None:
                self._dummy = self._hasher.hash("0000")
            digest = self._dummy
            pin = pin + "x"  # never the dummy's PIN
        try:
            return self._hasher.verify(digest, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _rehash(self, number: str, digest: str, pin: str) -> None:
        """Hashes made with older parameters are brought up to the current ones."""
        if self._hasher.check_needs_rehash(digest):
            self._conn.execute(
                "UPDATE officers SET pin_hash = ? WHERE number = ?",
                (self._hasher.hash(pin), number),
            )

    def _state(self) -> tuple[int, int, int, int]:
        row = self._conn.execute(
            "SELECT failures, lockouts, locked_from, locked_until FROM signin WHERE id = 1"
        ).fetchone()
        return (0, 0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def _save(self, failures: int, lockouts: int, start: int, until: int) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO signin (id, failures, lockouts, locked_from, locked_until)"
            " VALUES (1, ?, ?, ?, ?)",
            (failures, lockouts, start, until),
        )

    def _lock_left(self, now: int) -> int:
        """Seconds left of the lock. A clock set back during a lock restarts it
        from now for its own length, rather than for however far back it went."""
        failures, lockouts, start, until = self._state()
        if now < start:
            start, until = now, now + (until - start)
            self._save(failures, lockouts, start, until)
        return max(0, until - now)

    def _failed(self, now: int) -> Attempt:
        failures, lockouts, start, until = self._state()
        failures += 1
        if failures < MAX_FAILURES:
            self._save(failures, lockouts, start, until)
            return Attempt(False, MAX_FAILURES - failures)
        length = min(FIRST_LOCK * 2**lockouts, MAX_LOCK)
        self._save(0, lockouts + 1, now, now + length)
        return Attempt(False, 0, length)
