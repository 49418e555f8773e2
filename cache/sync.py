"""The sync client of SPEC 4.3: trust list first, then each subscribed feed.

Shaped like python-tuf's updater: fixed steps, each with its own size cap and
version check, each refusing or advancing, with the trusted state only ever moving
forward. A failure in one feed is reported and the others still sync; what was
applied stays applied.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cache.apply import DOWNLOAD_PREFIX, CacheWriter, Progress, SyncBusy
from cache.fetch import Fetcher, FetchError
from cache.store import FeedState
from feeds.format import FeedFormatError, FileEntry, verify_manifest
from keys.trustlist import TrustList, TrustListError, verify_trust_list
from keys.wire import SIGNED_LIST_LIMIT

UPDATED, CURRENT, FAILED = "updated", "current", "failed"
METHOD_DELTA, METHOD_SNAPSHOT, METHOD_NONE = "delta", "snapshot", "none"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class SyncRefused(RuntimeError):
    """A step refused what the server offered; the message says why, for people."""


@dataclass
class TrustListReport:
    status: str
    version: int | None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status, "version": self.version}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class FeedReport:
    feed: str
    status: str = FAILED
    from_version: int | None = None
    to_version: int | None = None
    method: str = METHOD_NONE
    bytes: int = 0
    error: str | None = None
    records: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "feed": self.feed,
            "status": self.status,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "method": self.method,
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
        return self.trust_list.status != FAILED and all(f.status != FAILED for f in self.feeds)

    def to_json(self) -> dict[str, object]:
        return {
            "trust_list": self.trust_list.to_json(),
            "feeds": [f.to_json() for f in self.feeds],
        }


@dataclass(frozen=True)
class SyncEvent:
    """Progress for a UI: ``stage`` is manifest, download, apply or done."""

    feed: str
    stage: str
    done: int = 0
    total: int = 0


Listener = Callable[[SyncEvent], None]


def _ignore(_: SyncEvent) -> None:
    pass


def sync(
    data_dir: Path,
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
        report = SyncReport(TrustListReport(FAILED, _held_version(writer), str(exc)))
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
    if isinstance(exc, (SyncRefused, FetchError, FeedFormatError)):
        return str(exc)
    if isinstance(exc, (sqlite3.Error, OSError)):  # disk full, unwritable data dir, ...
        return f"cannot write the cache: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


class _Session:
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
        self.root_public = root_public
        self.clock = clock
        self.listener = listener
        self.client = client
        self.trust: TrustList | None = writer.store.trust_list()

    def now(self) -> int:
        return int(self.clock())

    # --- trust list ---------------------------------------------------------

    def sync_trust_list(self) -> TrustListReport:
        held = self.trust
        try:
            data = Fetcher(self.client).fetch_small(
                f"{self.server}/trustlist.cose", SIGNED_LIST_LIMIT
            )
            fetched = verify_trust_list(data, self.root_public)
        except (FetchError, TrustListError) as exc:
            return TrustListReport(FAILED, held and held.version, str(exc))
        if held is not None and fetched.version < held.version:
            return TrustListReport(
                FAILED,
                held.version,
                f"trust list version {fetched.version} is older than the held {held.version}",
            )
        if held is not None and fetched.version == held.version:
            return TrustListReport(CURRENT, held.version)
        self.writer.put_trust_list(fetched, self.now())
        self.trust = fetched
        return TrustListReport(UPDATED, fetched.version)

    # --- feeds --------------------------------------------------------------

    def sync_feed(self, feed: str) -> FeedReport:
        state = self.writer.feed_state(feed)
        report = FeedReport(feed, from_version=state and state.version)
        report.to_version = report.from_version
        fetcher = Fetcher(self.client)
        workdir = Path(
            tempfile.mkdtemp(prefix=f"{DOWNLOAD_PREFIX}{feed}-", dir=self.writer.data_dir)
        )
        try:
            self._sync_feed(feed, state, report, fetcher, workdir)
        except Exception as exc:  # this feed fails alone, the others still sync (SPEC 7)
            # Never BaseException: KeyboardInterrupt and SystemExit stop the sync,
            # and the transactions of cache.apply leave the cache whole either way.
            report.status, report.error = FAILED, _describe(exc)
        finally:
            report.bytes = fetcher.bytes
            shutil.rmtree(workdir, ignore_errors=True)
            self.listener(SyncEvent(feed, "done"))
        return report

    def _sync_feed(
        self,
        feed: str,
        state: FeedState | None,
        report: FeedReport,
        fetcher: Fetcher,
        workdir: Path,
    ) -> None:
        if self.trust is None:
            raise SyncRefused("no trust list to verify the manifest against")
        base = f"{self.server}/feeds/{feed}"
        self.listener(SyncEvent(feed, "manifest"))
        manifest = verify_manifest(
            fetcher.fetch_small(f"{base}/manifest.cose", SIGNED_LIST_LIMIT), feed, self.trust
        )
        if state is not None:
            if manifest.kind != state.kind:
                raise SyncRefused(f"feed {feed} is {state.kind}, the manifest says {manifest.kind}")
            if manifest.version < state.version:
                raise SyncRefused(
                    f"manifest version {manifest.version} of feed {feed} is older than"
                    f" the applied {state.version} (rollback)"
                )
            if manifest.version == state.version:
                report.status = CURRENT
                return
        files = _Downloads(fetcher, base, workdir, self.listener, feed)
        delta_error: Exception | None = None
        chain = manifest.chain(state.version) if state is not None else None
        if state is not None and chain:
            try:
                paths = [(entry, files.get(entry)) for entry in chain]
                self.writer.apply_deltas(
                    state, manifest, paths, self.now(), self._progress(feed, manifest.total)
                )
                report.status, report.method, report.to_version = (
                    UPDATED,
                    METHOD_DELTA,
                    manifest.version,
                )
                return
            except Exception as exc:
                delta_error = exc  # SPEC 4.3 step 2: any failure falls back to the snapshot
        chain = manifest.chain(manifest.snapshot.to_version)
        if chain is None:
            raise SyncRefused(
                f"feed {feed}: no deltas lead from snapshot version"
                f" {manifest.snapshot.to_version} to {manifest.version}"
            )
        try:
            snapshot = files.get(manifest.snapshot)
            paths = [(entry, files.get(entry)) for entry in chain]
            self.writer.apply_snapshot(
                manifest, snapshot, paths, self.now(), self._progress(feed, manifest.total)
            )
        except Exception as exc:
            if delta_error is None:
                raise
            raise SyncRefused(
                f"{_describe(exc)} (after the delta path failed: {_describe(delta_error)})"
            ) from None
        report.status, report.method, report.to_version = UPDATED, METHOD_SNAPSHOT, manifest.version

    def _progress(self, feed: str, total: int) -> Progress:
        def emit(done: int) -> None:
            self.listener(SyncEvent(feed, "apply", done, total))

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
                self.listener(SyncEvent(self.feed, "download", got, entry.size))

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
