"""The sync client of SPEC 4.3: trust list first, then each subscribed feed.

Shaped like python-tuf's updater: fixed steps, each with its own size cap, each
fetching signed bytes and handing them to ``cache.trusted``, which holds every
accept/refuse rule and only moves forward; this module fetches, asks, writes what
was accepted, and reports. A failure in one feed is reported and the others still
sync; what was applied stays applied.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from os import PathLike
from pathlib import Path

import httpx

from base.private import private_dir
from cache.apply import DOWNLOAD_PREFIX, PARTIAL_DIR, CacheWriter, Progress, SyncBusy
from cache.fetch import (
    VALIDATOR_SUFFIX,
    Fetcher,
    FetchError,
    FetchPolicy,
    Stopped,
    Transfer,
    drop_partial,
    origin_of,
)
from cache.trusted import Plan, SyncRefusal, TrustedState
from cache.upload import UploadReport, upload_audit
from feeds.format import FeedFormatError, FileEntry, Manifest
from feeds.model import is_feed_id
from keys.wire import SIGNED_LIST_LIMIT

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEADLINE_ENV = "VICHECK_SYNC_DEADLINE"
"""Seconds a whole sync may take (default ``FetchPolicy.deadline``, 10 minutes)."""
BACKOFF_ENV = "VICHECK_SYNC_BACKOFF"
"""Seconds before the first retry of a file, doubling after (default 0.5: 0.5, 1, 2);
0 retries at once (what the tests use, so a refused file costs no waiting)."""
PARTIAL_SUFFIX = ".part"


class Status(StrEnum):
    """A step's outcome; the values are the SPEC's JSON strings (section 7)."""

    UPDATED = "updated"
    CURRENT = "current"
    FAILED = "failed"


class Method(StrEnum):
    """How a feed was brought up to date."""

    DELTA = "delta"
    SNAPSHOT = "snapshot"
    NONE = "none"


class Stage(StrEnum):
    """What a feed's sync is doing, for a UI's progress."""

    MANIFEST = "manifest"
    DOWNLOAD = "download"
    APPLY = "apply"
    DONE = "done"


@dataclass
class TrustListReport:
    status: Status
    version: int | None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status.value, "version": self.version}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class FeedReport:
    feed: str
    status: Status = Status.FAILED
    from_version: int | None = None
    to_version: int | None = None
    method: Method = Method.NONE
    bytes: int = 0
    error: str | None = None
    records: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "feed": self.feed,
            "status": self.status.value,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "method": self.method.value,
            "bytes": self.bytes,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class SyncReport:
    trust_list: TrustListReport
    feeds: list[FeedReport] = field(default_factory=list)
    audit: UploadReport | None = None
    """The audit upload's result; None when the data dir has recorded no check."""

    @property
    def ok(self) -> bool:
        failed = Status.FAILED
        return self.trust_list.status != failed and all(f.status != failed for f in self.feeds)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "trust_list": self.trust_list.to_json(),
            "feeds": [f.to_json() for f in self.feeds],
        }
        if self.audit is not None:
            out["audit"] = self.audit.to_json()
        return out


@dataclass(frozen=True)
class SyncEvent:
    """Progress for a UI: ``stage`` is manifest, download, apply or done."""

    feed: str
    stage: Stage
    done: int = 0
    total: int = 0


Listener = Callable[[SyncEvent], None]


def _ignore(_: SyncEvent) -> None:
    pass


def sync(
    data_dir: str | PathLike[str],
    server: str,
    root_public: bytes,
    feeds: Sequence[str],
    clock: Callable[[], float],
    listener: Listener = _ignore,
    client: httpx.Client | None = None,
    *,
    policy: FetchPolicy | None = None,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """Run one sync of ``data_dir`` from ``server``; never raises for a refusal.

    ``policy`` sets retries, backoff, the minimum rate and the deadline;
    ``deadline`` (seconds for the whole sync, else ``$VICHECK_SYNC_DEADLINE``, else
    the policy's) overrides the latter. Redirects are followed by ``cache.fetch``,
    only within the server's origin. ``cancel``, set from another thread, ends the
    sync soon after (a blocked read included): each unfinished step fails as
    cancelled, an apply under way rolls back, and the downloads are kept for the
    next sync."""
    writer = CacheWriter(data_dir)
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        with writer.locked():
            writer.collect_garbage()
            writer.repair_schema()
            policy = _policy(policy, deadline, writer.warnings)
            transfer = Transfer(http, policy, origin_of(server), cancel=cancel or threading.Event())
            session = _Session(writer, server.rstrip("/"), root_public, clock, listener, transfer)
            watching = transfer.cancellable() if cancel is not None else contextlib.nullcontext()
            with watching:
                report = SyncReport(session.sync_trust_list())
                for feed in feeds:
                    report.feeds.append(session.sync_feed(feed))
                # After the feeds, never failing them (cache/upload.py).
                report.audit = upload_audit(writer.data_dir, server, transfer, clock)
            _prune_unsubscribed(writer.data_dir / PARTIAL_DIR, feeds)
            _log(writer.data_dir, report, clock(), writer.warnings, transfer.retries)
            return report
    except SyncBusy as exc:
        report = SyncReport(TrustListReport(Status.FAILED, _held_version(writer), str(exc)))
        report.feeds = [FeedReport(feed, error=str(exc)) for feed in feeds]
        return report
    finally:
        if own_client:
            http.close()
        writer.close()


def _policy(policy: FetchPolicy | None, deadline: float | None, warnings: list[str]) -> FetchPolicy:
    """The policy in force: the one given, else the default with what the environment
    sets (deadline, first backoff); ``deadline`` given overrides either. A malformed
    environment value is ignored, with a warning."""
    chosen = policy
    if chosen is None:
        chosen = FetchPolicy()
        first = _env_seconds(BACKOFF_ENV, warnings, allow_zero=True)
        if first is not None:
            steps = len(chosen.backoff)
            chosen = replace(chosen, backoff=tuple(first * 2**i for i in range(steps)))
        if deadline is None:
            deadline = _env_seconds(DEADLINE_ENV, warnings, allow_zero=False)
    return chosen if deadline is None else replace(chosen, deadline=deadline)


def _env_seconds(name: str, warnings: list[str], *, allow_zero: bool) -> float | None:
    """A number of seconds from the environment, or None (unset or malformed)."""
    text = os.environ.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if (value == 0 and allow_zero) or 0 < value < float("inf"):
        return value
    warnings.append(f"{name}={text[:40]!r} ignored: not a positive number")
    return None


def _partial_name(feed: str, sha256: bytes) -> str:
    """A partial download's name: its feed and the SHA-256 it must end up with, so a
    later sync continues it only while a manifest still names that hash."""
    return f"{feed}-{sha256.hex()}{PARTIAL_SUFFIX}"


def _partials(folder: Path, feed: str) -> dict[str, Path]:
    """The feed's partial downloads in ``folder``, by hex SHA-256."""
    out: dict[str, Path] = {}
    with contextlib.suppress(FileNotFoundError):
        for path in folder.glob(f"{feed}-*{PARTIAL_SUFFIX}"):
            stem = path.name.removesuffix(PARTIAL_SUFFIX)
            if stem[:-65] == feed and stem[-65] == "-":
                out[stem[-64:]] = path
    return out


def _prune_unsubscribed(folder: Path, feeds: Sequence[str]) -> None:
    """Drop partial downloads of feeds no longer subscribed (no manifest names them),
    and the folder once empty: a sync that left nothing to continue leaves no trace."""
    with contextlib.suppress(FileNotFoundError):
        for path in folder.glob(f"*{PARTIAL_SUFFIX}"):
            stem = path.name.removesuffix(PARTIAL_SUFFIX)
            if stem[:-65] not in feeds:
                drop_partial(path)
        for path in folder.iterdir():  # a validator whose partial is gone, or a stranger
            name = path.name.removesuffix(VALIDATOR_SUFFIX)
            if not name.endswith(PARTIAL_SUFFIX) or not (folder / name).exists():
                path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: kept for the next sync
        folder.rmdir()


LOG_NAME = "logs/sync.jsonl"


def _log(
    data_dir: Path,
    report: SyncReport,
    now: float,
    warnings: Sequence[str] = (),
    retries: Sequence[dict[str, object]] = (),
) -> None:
    """Append the report, what went wrong without failing the sync, and each retry
    made, to the data dir's sync log: what a technician reads after a shift that
    went wrong. Logging never fails a sync."""
    entry: dict[str, object] = {"at": int(now), **report.to_json(), "retries": list(retries)}
    if warnings:
        entry["warnings"] = list(warnings)
    _append_log(data_dir, entry)


def log_event(data_dir: Path, event: str, now: float, **fields: object) -> bool:
    """Append one ``{"at", "event", ...}`` line to the sync log: what an administrator
    did to the cache besides syncing (a clock floor reset), for the same technician
    who reads the syncs. Returns False when the log cannot be written."""
    return _append_log(data_dir, {"at": int(now), "event": event, **fields})


def _append_log(data_dir: Path, entry: dict[str, object]) -> bool:
    """One JSON line at the end of ``logs/sync.jsonl``, folder 0700 and file 0600
    whatever the umask; False when it cannot be written."""
    from base.private import open_private, private_dir

    path = Path(data_dir) / LOG_NAME
    try:
        private_dir(path.parent)
        with open_private(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError:
        return False
    return True


def _held_version(writer: CacheWriter) -> int | None:
    trust = writer.store.trust_list()
    return None if trust is None else trust.version


def _describe(exc: Exception) -> str:
    """Why a feed failed, for people. A refusal says it in its own words; anything
    else is a bug met by this feed's data, so its type is named too, for the report."""
    if isinstance(exc, (SyncRefusal, FetchError, FeedFormatError)):
        return str(exc)
    if isinstance(exc, (sqlite3.Error, OSError)):  # disk full, unwritable data dir, ...
        return f"cannot write the cache: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


class _Session:
    """One sync's fetching and writing; what to accept is ``self.trusted``'s."""

    def __init__(
        self,
        writer: CacheWriter,
        server: str,
        root_public: bytes,
        clock: Callable[[], float],
        listener: Listener,
        transfer: Transfer,
    ) -> None:
        self.writer = writer
        self.server = server
        self.clock = clock
        self.listener = listener
        self.transfer = transfer
        self.partial_dir = writer.data_dir / PARTIAL_DIR
        self.named: dict[str, set[str]] = {}
        """Per feed, the hashes its verified manifest still needs (partials to keep)."""
        self.trusted = TrustedState(
            root_public, writer.store.trust_list(), writer.store.feed_states()
        )

    def now(self) -> int:
        return int(self.clock())

    # --- trust list ---------------------------------------------------------

    def sync_trust_list(self) -> TrustListReport:
        held = self.trusted.trust_list
        try:
            data = Fetcher(self.transfer).fetch_small(
                f"{self.server}/trustlist.cose", SIGNED_LIST_LIMIT
            )
            fetched = self.trusted.update_trust_list(data)
        except (FetchError, SyncRefusal) as exc:
            return TrustListReport(Status.FAILED, None if held is None else held.version, str(exc))
        if fetched is None:
            assert held is not None  # an equal version needs one held
            return TrustListReport(Status.CURRENT, held.version)
        self.writer.put_trust_list(fetched, self.now())
        return TrustListReport(Status.UPDATED, fetched.version)

    # --- feeds --------------------------------------------------------------

    def sync_feed(self, feed: str) -> FeedReport:
        state = self.trusted.feed(feed)
        held = None if state is None else state.version
        fetcher = Fetcher(self.transfer)
        workdir: Path | None = None
        files: _Downloads | None = None
        try:
            if not is_feed_id(feed):  # a hand-edited config.json: never a path or a URL
                raise FeedFormatError(f"feed id {feed[:40]!r} does not match [a-z0-9-]{{1,32}}")
            workdir = Path(
                tempfile.mkdtemp(prefix=f"{DOWNLOAD_PREFIX}{feed}-", dir=self.writer.data_dir)
            )
            files = _Downloads(fetcher, workdir, self.listener, feed, self.partial_dir)
            report = self._sync_feed(feed, held, files)
        except Exception as exc:  # this feed fails alone, the others still sync (SPEC 7)
            # Never BaseException: KeyboardInterrupt and SystemExit stop the sync,
            # and the transactions of cache.apply leave the cache whole either way.
            report = FeedReport(feed, Status.FAILED, held, held, error=_describe(exc))
            if files is not None:
                files.keep()
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            self.listener(SyncEvent(feed, Stage.DONE))
        self._prune(feed, report.status)
        report.bytes = fetcher.bytes
        return report

    def _prune(self, feed: str, status: Status) -> None:
        """Keep the partial downloads a failed feed's manifest still names; drop the
        rest, and all of them once the feed is up to date. A feed whose manifest was
        never verified in this sync keeps its partials: nothing says they are stale."""
        if feed not in self.named:
            return
        keep = self.named[feed] if status == Status.FAILED else set()
        for sha, path in _partials(self.partial_dir, feed).items():
            if sha not in keep:
                drop_partial(path)

    def _sync_feed(self, feed: str, held: int | None, files: _Downloads) -> FeedReport:
        """Bring ``feed`` up to its manifest; the report, or raise why not. Past the
        deadline (or cancelled) a feed is not begun: its manifest is not even asked."""
        self.transfer.check_stop()
        self.trusted.require_trust_list()
        base = f"{self.server}/feeds/{feed}"
        self.listener(SyncEvent(feed, Stage.MANIFEST))
        data = files.fetcher.fetch_small(f"{base}/manifest.cose", SIGNED_LIST_LIMIT)
        manifest = self.trusted.update_manifest(feed, data)
        if manifest is None:
            self.named[feed] = set()
            return FeedReport(feed, Status.CURRENT, held, held)
        entries = [manifest.snapshot, *manifest.deltas]
        self.named[feed] = {entry.sha256.hex() for entry in entries}
        files.base = base
        method = self._apply(self.trusted.plan(manifest), files)
        state = self.writer.feed_state(feed)
        assert state is not None  # just written
        self.trusted.applied(state)
        return FeedReport(feed, Status.UPDATED, held, manifest.version, method)

    def _apply(self, plan: Plan, files: _Downloads) -> Method:
        """SPEC 4.3 step 2: the delta chain when there is one, else (or when it fails
        for any reason) the snapshot and the deltas from it."""
        delta_error: Exception | None = None
        if plan.deltas is not None:
            try:
                self._apply_deltas(plan.manifest, plan.deltas, files)
                return Method.DELTA
            except Stopped:
                raise  # the snapshot cannot be fetched either: stop here
            except Exception as exc:
                delta_error = exc
        chain = plan.snapshot_path()
        try:
            self._apply_snapshot(plan.manifest, chain, files)
        except Exception as exc:
            if delta_error is None or isinstance(exc, Stopped):
                raise
            raise SyncRefusal(
                f"{_describe(exc)} (after the delta path failed: {_describe(delta_error)})"
            ) from None
        return Method.SNAPSHOT

    def _apply_deltas(
        self, manifest: Manifest, chain: Sequence[FileEntry], files: _Downloads
    ) -> None:
        state = self.trusted.feed(manifest.feed)
        assert state is not None  # a delta chain starts from an applied state
        paths = [(entry, files.get(entry)) for entry in chain]
        self.writer.apply_deltas(
            state, manifest, paths, self.now(), self._progress(manifest.feed, manifest.total)
        )

    def _apply_snapshot(
        self, manifest: Manifest, chain: Sequence[FileEntry], files: _Downloads
    ) -> None:
        snapshot = files.get(manifest.snapshot)
        paths = [(entry, files.get(entry)) for entry in chain]
        self.writer.apply_snapshot(
            manifest, snapshot, paths, self.now(), self._progress(manifest.feed, manifest.total)
        )

    def _progress(self, feed: str, total: int) -> Progress:
        """Progress of an apply, which a cancel stops (its transaction rolls back, its
        files are kept); the deadline does not: what arrived in time is applied."""

        def emit(done: int) -> None:
            self.transfer.check_cancel()
            self.listener(SyncEvent(feed, Stage.APPLY, done, total))

        return emit


class _Downloads:
    """Each file of a manifest downloaded at most once per sync, then reused; from
    ``base``, the feed's URL, set once its manifest is verified."""

    def __init__(
        self,
        fetcher: Fetcher,
        workdir: Path,
        listener: Listener,
        feed: str,
        partial_dir: Path,
    ) -> None:
        self.fetcher = fetcher
        self.partial_dir = partial_dir
        self.base = ""
        self.workdir = workdir
        self.listener = listener
        self.feed = feed
        self.done: dict[tuple[str, bytes, int], Path] = {}
        self.failed: dict[tuple[str, bytes, int], FetchError] = {}

    def get(self, entry: FileEntry) -> Path:
        key = (entry.path, entry.sha256, entry.size)
        if key in self.failed:
            raise self.failed[key]
        if key not in self.done:

            def progress(got: int) -> None:
                self.listener(SyncEvent(self.feed, Stage.DOWNLOAD, got, entry.size))

            try:
                private_dir(self.partial_dir)
                held = self.partial_dir / _partial_name(self.feed, entry.sha256)
                # A UI's first event of a file: what a resumed download already holds.
                progress(min(held.stat().st_size if held.exists() else 0, entry.size))
                self.done[key] = self.fetcher.fetch_file(
                    f"{self.base}/{entry.path}",
                    # Local names never depend on the server's (any length is legal).
                    self.workdir / f"{len(self.done)}.part",
                    entry.size,
                    entry.sha256,
                    progress,
                    held,
                )
            except FetchError as exc:
                self.failed[key] = exc
                raise
        return self.done[key]

    def keep(self) -> None:
        """The feed failed: its whole, checked files go back among the partials, so
        a next sync under the same manifest does not download them again (one that
        is whole needs no request; its hash is checked again)."""
        for (_, sha256, _), path in self.done.items():
            with contextlib.suppress(OSError):
                os.replace(path, self.partial_dir / _partial_name(self.feed, sha256))
