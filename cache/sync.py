"""The sync client of SPEC 4.3: trust list first, then each subscribed feed.

Shaped like python-tuf's updater: fixed steps, each with its own size cap, each
fetching signed bytes and handing them to ``cache.trusted``, which holds every
accept/refuse rule and only moves forward; this module fetches, asks, writes what
was accepted, and reports. A failure in one feed is reported and the others still
sync; what was applied stays applied.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from os import PathLike
from pathlib import Path

import httpx

from cache.apply import DOWNLOAD_PREFIX, CacheWriter, Progress, SyncBusy
from cache.fetch import Fetcher, FetchError
from cache.trusted import Plan, SyncRefusal, TrustedState
from feeds.format import FeedFormatError, FileEntry, Manifest
from feeds.model import is_feed_id
from keys.wire import SIGNED_LIST_LIMIT

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


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

    @property
    def ok(self) -> bool:
        failed = Status.FAILED
        return self.trust_list.status != failed and all(f.status != failed for f in self.feeds)

    def to_json(self) -> dict[str, object]:
        return {
            "trust_list": self.trust_list.to_json(),
            "feeds": [f.to_json() for f in self.feeds],
        }


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
) -> SyncReport:
    """Run one sync of ``data_dir`` from ``server``; never raises for a refusal."""
    writer = CacheWriter(data_dir)
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        with writer.locked():
            writer.collect_garbage()
            writer.repair_schema()
            session = _Session(writer, server.rstrip("/"), root_public, clock, listener, http)
            report = SyncReport(session.sync_trust_list())
            for feed in feeds:
                report.feeds.append(session.sync_feed(feed))
            _log(writer.data_dir, report, clock(), writer.warnings)
            return report
    except SyncBusy as exc:
        report = SyncReport(TrustListReport(Status.FAILED, _held_version(writer), str(exc)))
        report.feeds = [FeedReport(feed, error=str(exc)) for feed in feeds]
        return report
    finally:
        if own_client:
            http.close()
        writer.close()


LOG_NAME = "logs/sync.jsonl"


def _log(data_dir: Path, report: SyncReport, now: float, warnings: Sequence[str] = ()) -> None:
    """Append the report, and what went wrong without failing the sync, to the data
    dir's sync log: what a technician reads after a shift that went wrong. Logging
    never fails a sync."""
    entry: dict[str, object] = {"at": int(now), **report.to_json()}
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
        client: httpx.Client,
    ) -> None:
        self.writer = writer
        self.server = server
        self.clock = clock
        self.listener = listener
        self.client = client
        self.trusted = TrustedState(
            root_public, writer.store.trust_list(), writer.store.feed_states()
        )

    def now(self) -> int:
        return int(self.clock())

    # --- trust list ---------------------------------------------------------

    def sync_trust_list(self) -> TrustListReport:
        held = self.trusted.trust_list
        try:
            data = Fetcher(self.client).fetch_small(
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
        fetcher = Fetcher(self.client)
        workdir: Path | None = None
        try:
            if not is_feed_id(feed):  # a hand-edited config.json: never a path or a URL
                raise FeedFormatError(f"feed id {feed[:40]!r} does not match [a-z0-9-]{{1,32}}")
            workdir = Path(
                tempfile.mkdtemp(prefix=f"{DOWNLOAD_PREFIX}{feed}-", dir=self.writer.data_dir)
            )
            report = self._sync_feed(feed, held, fetcher, workdir)
        except Exception as exc:  # this feed fails alone, the others still sync (SPEC 7)
            # Never BaseException: KeyboardInterrupt and SystemExit stop the sync,
            # and the transactions of cache.apply leave the cache whole either way.
            report = FeedReport(feed, Status.FAILED, held, held, error=_describe(exc))
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            self.listener(SyncEvent(feed, Stage.DONE))
        report.bytes = fetcher.bytes
        return report

    def _sync_feed(
        self, feed: str, held: int | None, fetcher: Fetcher, workdir: Path
    ) -> FeedReport:
        """Bring ``feed`` up to its manifest; the report, or raise why not."""
        self.trusted.require_trust_list()
        base = f"{self.server}/feeds/{feed}"
        self.listener(SyncEvent(feed, Stage.MANIFEST))
        data = fetcher.fetch_small(f"{base}/manifest.cose", SIGNED_LIST_LIMIT)
        manifest = self.trusted.update_manifest(feed, data)
        if manifest is None:
            return FeedReport(feed, Status.CURRENT, held, held)
        files = _Downloads(fetcher, base, workdir, self.listener, feed)
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
            except Exception as exc:
                delta_error = exc
        chain = plan.snapshot_path()
        try:
            self._apply_snapshot(plan.manifest, chain, files)
        except Exception as exc:
            if delta_error is None:
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
        def emit(done: int) -> None:
            self.listener(SyncEvent(feed, Stage.APPLY, done, total))

        return emit


class _Downloads:
    """Each file of a manifest downloaded at most once per sync, then reused."""

    def __init__(
        self, fetcher: Fetcher, base: str, workdir: Path, listener: Listener, feed: str
    ) -> None:
        self.fetcher = fetcher
        self.base = base
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
                self.done[key] = self.fetcher.fetch_file(
                    f"{self.base}/{entry.path}",
                    # Local names never depend on the server's (any length is legal).
                    self.workdir / f"{len(self.done)}.part",
                    entry.size,
                    entry.sha256,
                    progress,
                )
            except FetchError as exc:
                self.failed[key] = exc
                raise
        return self.done[key]
