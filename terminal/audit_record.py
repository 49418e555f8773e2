"""Record a check in the audit log without ever changing its answer.

Every check (the command line's and the terminal's) hands its result here before
it is shown: the entry is committed first, so a check that was answered always
has its entry. When the entry cannot be written (disk full, a read-only data dir,
a damaged log) the check still answers exactly as it would have; the failure is
said (stderr, or the terminal's notice) and appended to ``logs/audit.jsonl``,
never silent.

On the check path: standard library, cbor2 and PyNaCl only (audit.store).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time as _time
from collections.abc import Callable
from typing import TYPE_CHECKING

from audit.chain import Entry
from audit.device import ensure_key
from audit.store import AuditLog
from base.private import open_private, private_dir
from terminal.strings import Catalogue

if TYPE_CHECKING:
    from terminal.verdict import Checker, CheckResult

LOG_NAME = os.path.join("logs", "audit.jsonl")
"""Where a failure to record is written down (beside logs/sync.jsonl)."""


class Recorder:
    """Appends one entry per check to one data dir's log; opened on first use and
    kept open (the terminal records all shift long). Thread-safe: the terminal's
    check workers may finish at once."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        catalogue: Catalogue,
        warn: Callable[[str], None],
        wall: Callable[[], float] = _time.time,
    ) -> None:
        self.data_dir = os.fspath(data_dir)
        self.catalogue = catalogue
        self.warn = warn
        self._wall = wall
        self._log: AuditLog | None = None
        self._lock = threading.Lock()

    def record(
        self, result: CheckResult, how: str, checker: Checker, officer: str | None = None
    ) -> Entry | None:
        """The entry of ``result``, committed; None (said and logged) when it could
        not be written. Never raises for a failure to record."""
        with self._lock:
            try:
                return self._append(result, how, checker, officer)
            # Whatever goes wrong in recording (a full disk, a damaged log, a time no
            # entry can hold, a bug) must not change the check's answer: it is said
            # and logged with its type instead, never swallowed.
            except Exception as exc:
                self._close()
                self._failed(f"{type(exc).__name__}: {exc}", result)
                return None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _append(
        self, result: CheckResult, how: str, checker: Checker, officer: str | None
    ) -> Entry:
        if self._log is None:
            self._log = AuditLog.open(self.data_dir, ensure_key(self.data_dir))
        # Memoised: the view the check used, unless a sync committed in between.
        view = checker.store.view()
        cert = result.certificate
        return self._log.append(
            time=int(result.checked_at),
            how=how,
            verdict=result.verdict.name,
            officer=officer,
            plate=result.plate,
            plate_type=result.plate_type,
            serial=None if cert is None else cert.serial.hex(),
            reasons=[r.code for r in result.reasons],
            trust_list=None if view.trust_list is None else view.trust_list.version,
            feeds=[(s.feed, s.version) for s in view.feed_states(checker.feeds)],
        )

    def _close(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            with contextlib.suppress(sqlite3.Error):
                log.close()

    def _failed(self, detail: str, result: CheckResult) -> None:
        logged = log_failure(self.data_dir, self._wall(), detail, result.checked_at)
        key = "audit.not_recorded" if logged else "audit.not_recorded_nor_logged"
        self.warn(self.catalogue.text(key, detail=detail))


def log_failure(data_dir: str, now: float, detail: str, checked_at: float) -> bool:
    """One JSON line in ``logs/audit.jsonl``; False when that cannot be written either."""
    line: dict[str, object] = {"at": int(now), "event": "audit_not_recorded"}
    line.update(check_at=int(checked_at), detail=detail)
    try:
        private_dir(os.path.join(data_dir, "logs"))
        with open_private(os.path.join(data_dir, LOG_NAME), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError:
        return False
    return True
