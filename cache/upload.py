"""Send the audit entries the central side does not hold yet (``vicheck sync``).

After the feeds, ``cache.sync`` calls ``upload_audit``: the entries past the
acknowledged mark go to ``POST {server}/audit/{device}`` in batches within the wire
bounds (``audit.wire.batches``), oldest first, each with the head signature the
terminal stored when its last entry was appended, so no key is needed here. Only
a 200 moves the mark (``AuditLog.acknowledge``); then entries acknowledged and
older than the retention are pruned. Anything else (offline, a refusal, an answer
that is not the format) leaves every entry where it is for the next sync, and is
reported, never raised: the feeds' result stands whatever happens here.

Killed at any point, nothing is lost or doubled: the terminal's entries leave only
through a prune after an acknowledgement, and the central side takes a resend of
what it holds as identical, answering the same ``held``.

The server is not trusted with the terminal's entries: an acknowledgement counts
only up to the last entry of the upload it answers (a ``held`` beyond it, however
large, cannot mark entries that were never sent as held, so they are never
pruned unsent), a ``held`` beyond the terminal's own newest entry is reported
(``CENTRAL_AHEAD``: this log was rolled back or replaced), and each upload has a
bound on its whole duration, so a server that trickles its answer a byte at a time
cannot hold the sync past its deadline.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import httpx

from audit.chain import entry_hash, is_device_id
from audit.store import AUDIT_DB, DEFAULT_RETENTION, AuditLog, AuditLogError
from audit.wire import (
    CONTENT_TYPE,
    GAP,
    MAX_ANSWER_BYTES,
    MAX_ENTRIES,
    Answer,
    Head,
    WireError,
    batches,
    decode_answer,
    encode_upload,
)
from cache.fetch import Stopped, Transfer

RETENTION_ENV: Final = "VICHECK_AUDIT_RETENTION_DAYS"
"""Days acknowledged entries stay on the terminal (default 30); 0 prunes them at
the acknowledgement."""
OFFLINE: Final = "OFFLINE"
"""The server could not be reached (or the sync's deadline or a cancel came first)."""
AUDIT_LOG: Final = "AUDIT_LOG"
"""The terminal's own audit log could not be read or written."""
CENTRAL_AHEAD: Final = "CENTRAL_AHEAD"
"""The central side holds entries past this log's newest: the log was rolled back
to an older copy, or replaced (docs/audit.md, "What verifying shows")."""
NOT_HELD: Final = "NOT_HELD"
"""A 200 whose ``held`` does not cover the upload it answers."""
DAY: Final = 24 * 3600
REQUEST_DEADLINE: Final = 120.0
"""Longest one upload may take, body out and answer in (s), within the sync's own
deadline: the central side gives a body 60 s (central.audit.BODY_TIMEOUT), then
commits one transaction. Per-read timeouts alone do not bound it: a server that
sends its answer a byte every few seconds never lets a read time out."""


@dataclass
class UploadReport:
    """``sent``: entries the central side newly acknowledged in this sync; ``held``:
    the highest seq it holds (the terminal's acknowledged mark); ``error`` and
    ``detail`` when it stopped short (the entries not acknowledged wait)."""

    sent: int = 0
    held: int = 0
    error: str | None = None
    detail: str | None = None
    pruned: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"sent": self.sent, "held": self.held}
        if self.error is not None:
            out["error"] = self.error
            out["detail"] = self.detail or ""
        return out


def retention_seconds(warnings: list[str] | None = None) -> int:
    """The retention in force: ``$VICHECK_AUDIT_RETENTION_DAYS``, else 30 days; a
    malformed value is ignored, with a warning."""
    text = os.environ.get(RETENTION_ENV)
    if not text:
        return DEFAULT_RETENTION
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text) * DAY
    if warnings is not None:
        warnings.append(f"{RETENTION_ENV}={text[:40]!r} ignored: not a whole number of days")
    return DEFAULT_RETENTION


def upload_audit(
    data_dir: str | os.PathLike[str],
    server: str,
    transfer: Transfer | httpx.Client,
    now: Callable[[], float],
    retention: int | None = None,
) -> UploadReport | None:
    """Upload what the central side lacks; None when this data dir has never
    recorded a check (no log: nothing to say, no request made)."""
    if not os.path.exists(os.path.join(data_dir, AUDIT_DB)):
        return None
    moving = transfer if isinstance(transfer, Transfer) else Transfer(transfer)
    report = UploadReport()
    try:
        with AuditLog.open(data_dir) as log:
            report.held = log.held
            device = log.chain_device()
            if device is not None and not is_device_id(device):  # an edited chain row
                raise AuditLogError(f"the chain row names {device[:40]!r}, not a device id")
            if device is not None:
                _send(log, device, server.rstrip("/"), moving, report)
            report.pruned = log.prune(
                now(), retention_seconds() if retention is None else retention
            )
    except (AuditLogError, sqlite3.Error, OSError, ValueError, TypeError, OverflowError) as exc:
        # The last three: a chain row edited to hold text, or a number past any seq
        # SQLite can bind. The file is the officer's to break; the sync, and the
        # feeds it brought, stand regardless.
        report.error, report.detail = AUDIT_LOG, f"{type(exc).__name__}: {str(exc)[:200]}"
    return report


def _send(
    log: AuditLog, device: str, server: str, transfer: Transfer, report: UploadReport
) -> None:
    """Batches from the acknowledged mark until none is left or one is not
    acknowledged. A GAP whose ``held`` is below the mark (the central copy was
    restored from an older backup) restarts once from there, if the terminal still
    has those entries."""
    url = f"{server}/audit/{device}"
    start = log.held
    restarted = False
    while True:
        pending = log.since(start, limit=MAX_ENTRIES)
        if not pending:
            return
        newest = max(log.newest(), pending[-1].seq)
        for batch in batches(pending):
            last = batch[-1]
            head = Head(last.seq, entry_hash(last), log.signature(last.seq))
            answer = _post(url, encode_upload(device, batch, head), transfer)
            if answer.error is not None:
                lower = answer.held < start and answer.held >= log.base().seq
                if answer.error == GAP and lower and not restarted:
                    start, restarted = answer.held, True
                    break
                report.error, report.detail = answer.error, answer.detail
                return
            before = log.held
            # What this upload carried is all a 200 can vouch for: a larger ``held``
            # (a resend after a kill, or a lie) must not mark unsent entries held.
            report.held = log.acknowledge(min(answer.held, last.seq))
            report.sent += max(report.held - before, 0)
            if answer.held > newest:
                report.error = CENTRAL_AHEAD
                report.detail = (
                    f"the server holds entries up to {answer.held}, this log only up to"
                    f" {newest}: it was rolled back to an older copy or replaced"
                )
                return
            if report.held < last.seq:  # a 200 that does not cover the batch
                report.error = NOT_HELD
                report.detail = f"the server answered held {answer.held}, not {last.seq}"
                return
            start = report.held


def _post(url: str, body: bytes, transfer: Transfer) -> Answer:
    """One upload; a network failure, the deadline or a cancel is ``OFFLINE``, an
    answer not in the format ``BAD_ANSWER``: either way nothing is acknowledged."""
    try:
        transfer.check_stop()
    except Stopped as exc:
        return Answer(0, OFFLINE, str(exc))
    limit = min(transfer.remaining(), REQUEST_DEADLINE)
    with _guarded(transfer, limit) as expired:
        try:
            request = transfer.client.build_request(
                "POST",
                url,
                content=body,
                headers={"Content-Type": CONTENT_TYPE, "Accept-Encoding": "identity"},
                timeout=transfer.timeout(),
                extensions={"trace": transfer.trace},
            )
            response = transfer.client.send(request, stream=True, follow_redirects=False)
            try:
                stream = response.extensions.get("network_stream")
                if stream is not None:  # a kept-alive connection: shut it too when due
                    transfer.track(stream.get_extra_info("socket"))
                data = _read(response, transfer, expired)
            finally:
                response.close()
        except (Stopped, httpx.HTTPError, httpx.InvalidURL) as exc:
            if expired.is_set():
                detail = f"{url} gave no whole answer within {limit:.1f} s"
                return Answer(0, OFFLINE, detail + " (the upload's bound, or the sync's deadline)")
            if isinstance(exc, Stopped):
                return Answer(0, OFFLINE, str(exc))
            return Answer(0, OFFLINE, f"cannot reach {url}: {exc or type(exc).__name__}")
    try:
        return decode_answer(response.status_code, data)
    except WireError as exc:
        return Answer(0, exc.code, exc.detail)


def _read(response: httpx.Response, transfer: Transfer, expired: threading.Event) -> bytes:
    """The answer's body, at most ``MAX_ANSWER_BYTES`` + 1 read (more is refused);
    stopped by the sync's deadline or cancel, or the upload's own bound."""
    chunks, size = [], 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            break
        transfer.check_stop()
        if expired.is_set():
            raise Stopped("the upload's time bound passed")
    return b"".join(chunks)


@contextlib.contextmanager
def _guarded(transfer: Transfer, seconds: float) -> Iterator[threading.Event]:
    """Within the block, the sync's sockets are shut down ``seconds`` from now (only
    a shutdown ends a read blocked or trickled on them, kept-alive ones the feeds
    opened included, which an upload may reuse); the event given says the time ran
    out. A cancel is the sync's own watcher's (``Transfer.cancellable``)."""
    expired, done = threading.Event(), threading.Event()

    def guard() -> None:
        if not done.wait(max(seconds, 0.0)):
            expired.set()
            transfer.shut_down()

    thread = threading.Thread(target=guard, name="vicheck-upload-guard", daemon=True)
    thread.start()
    try:
        yield expired
    finally:
        done.set()
        thread.join()
