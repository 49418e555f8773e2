"""Hostile feed files fail their feed alone, quickly and in bounded memory (issue 14).

Two layers are tested. The feed reader itself (``read_items`` plus the item checks
in ``cache.apply``) is fuzzed against a real SQLite cache, without HTTP, so that
hypothesis can afford hundreds of files: every hostile value in every field of
every item kind and of the header must come out as ``FeedFormatError`` with the
cache untouched, never as another exception. Then the real ``vicheck sync`` over a
real HTTP server shows what SPEC 4.3 and 7 promise for such a file: the delta path
falls back to the snapshot, a bad snapshot fails that feed alone, the feeds after
it still sync, the sync is logged, and the exit status is 6.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cache.apply import CacheWriter
from feeds import format as feedformat
from feeds.format import FeedFormatError, FileEntry, ItemChecker, Manifest, read_items
from feeds.writer import Vehicle, lift, remove, revoke, write_snapshot
from tests.support import DAY, T0, CliResult, World, db_dump, run_cli
from tests.support.sync import GX_V1, GX_V1_SERIALS, NEW

# --- Hostile CBOR, built as bytes ----------------------------------------------
#
# Values are generated as encodings, not Python objects, so that maps may have
# array, map or tag keys and tags may hold anything: shapes no Python value
# encodes to, which a decoder must still survive.


def head(major: int, n: int) -> bytes:
    """The shortest CBOR head of major type ``major`` with argument ``n``."""
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError(n)


TAGS = [0, 1, 2, 3, 4, 5, 6, 18, 21, 24, 25, 28, 29, 30, 32, 37, 258, 55799, 2**32, 2**64 - 1]
NEVER_VALID = st.one_of(
    st.integers(-(2**64), 2**64 - 1).map(cbor2.dumps),  # native ints of either sign
    st.integers(2**64, 2**200).map(cbor2.dumps),  # bignum (tag 2)
    st.integers(-(2**200), -(2**64) - 1).map(cbor2.dumps),  # negative bignum (tag 3)
    st.floats(width=64).map(cbor2.dumps),  # NaN and infinities included
    st.floats(width=16).map(lambda f: b"\xf9" + struct.pack(">e", f)),
    st.booleans().map(cbor2.dumps),
    st.sampled_from([b"\xf7", b"\xf0", b"\xf8\xff"]),  # undefined, simple values
)
"""Leaves that are never a valid field of any item or header: no text, bytes or
null (``vehicle_type`` may be any text, ``valid_through`` may be null)."""
ANY_LEAF = NEVER_VALID | st.sampled_from(
    # Inside containers anything goes; the bytes are too short to be a serial, so
    # no generated array is a good item by chance.
    [cbor2.dumps(v) for v in ("02", "A", "桂A12345", b"serial7", None, "")]
)


def containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    arrays = st.lists(children, max_size=4).map(lambda xs: head(4, len(xs)) + b"".join(xs))
    maps = st.lists(st.tuples(children, children), max_size=3).map(
        lambda kvs: head(5, len(kvs)) + b"".join(k + v for k, v in kvs)
    )
    tags = st.tuples(st.sampled_from(TAGS), children).map(lambda tv: head(6, tv[0]) + tv[1])
    return arrays | maps | tags


HOSTILE = NEVER_VALID | containers(st.recursive(ANY_LEAF, containers, max_leaves=12))
"""A value that no field of the SPEC accepts, however deeply it nests."""
THE_BUG = cbor2.dumps(cbor2.CBORTag(1, [1]))
"""The value of issue 14: a tag holding an array, whose hash raises RuntimeError."""

Path_ = tuple[int, ...]
"""Where a hostile value goes: the part (0 the header, then the items), then a key
or element inside it; a path of the part alone replaces the whole part."""


def encode(value: Any, target: Path_, hostile: bytes) -> bytes:
    """``value`` as CBOR, with the element at ``target`` replaced by ``hostile``
    (an index one past the end of an array appends it)."""
    if not target:
        return hostile
    index, rest = target[0], target[1:]
    if isinstance(value, dict):
        body = b"".join(
            cbor2.dumps(k) + (encode(v, rest, hostile) if k == index else cbor2.dumps(v))
            for k, v in value.items()
        )
        return head(5, len(value)) + body
    parts = [
        encode(v, rest, hostile) if i == index else cbor2.dumps(v) for i, v in enumerate(value)
    ]
    if index == len(value):
        parts.append(hostile)
    return head(4, len(parts)) + b"".join(parts)


def sequence(parts: list[Any], target: Path_ = (), hostile: bytes = b"") -> bytes:
    """A file's CBOR sequence: header then items, with one hostile value put in."""
    return b"".join(
        encode(part, target[1:], hostile) if target and n == target[0] else cbor2.dumps(part)
        for n, part in enumerate(parts)
    )


def value_at(parts: list[Any], target: Path_) -> Any:
    value: Any = parts
    for index in target:
        if isinstance(value, dict) or index < len(value):
            value = value[index]
        else:
            return None  # one past the end: nothing was there
    return value


# --- A cache to apply files to ------------------------------------------------

SERIAL_A, SERIAL_B, SERIAL_C = b"serial-aaaa-0001", b"serial-bbbb-0002", b"serial-cccc-0003"
V1 = [Vehicle("桂A11111", "02", "2027-06", "C", "K33"), Vehicle("桂A22222", "02", None, "GI")]
V1_PARTS = [{1: "gx", 2: 1, 3: 4}, *(v.item() for v in V1), revoke(SERIAL_A), revoke(SERIAL_B)]
ADDED = Vehicle("桂A33333", "02", "2027-06", "A", "K33")
FILES: dict[str, list[Any]] = {
    # Both lead from V1 to the same version 2: each item kind, with a good value in
    # every field, so that only the hostile value can make a file bad.
    "snapshot": [
        {1: "gx", 2: 2, 3: 4},
        V1[0].item(),
        ADDED.item(),
        *map(revoke, [SERIAL_A, SERIAL_C]),
    ],
    "delta": [
        {1: "gx", 2: 1, 3: 2, 4: 4},
        ADDED.item(),
        remove("桂A22222", "02"),
        revoke(SERIAL_C),
        lift(SERIAL_B),
    ],
}
UNUSED = b"\0" * 32  # hashes and sizes are checked at download, not by the writer


def manifest(version: int, snapshot: FileEntry, deltas: tuple[FileEntry, ...] = ()) -> Manifest:
    return Manifest("gx", version, T0 - 3600, T0 + DAY, "full", ("桂",), snapshot, deltas, 4)


def write_gz(path: Path, data: bytes) -> tuple[bytes, int]:
    packed = gzip.compress(data, mtime=0)
    path.write_bytes(packed)
    return hashlib.sha256(packed).digest(), len(packed)


def writer_at_v1(data_dir: Path) -> CacheWriter:
    writer = CacheWriter(data_dir)
    path = data_dir / "v1.gz"
    write_gz(path, sequence(V1_PARTS))
    writer.apply_snapshot(manifest(1, FileEntry("v1", UNUSED, 0, 4, 1)), path, [], T0)
    return writer


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheWriter]:
    """A data dir holding version 1 of feed gx; every test here leaves it as it is."""
    writer = writer_at_v1(tmp_path_factory.mktemp("cache"))
    try:
        yield writer
    finally:
        writer.close()


def apply_snapshot(writer: CacheWriter, data: bytes) -> None:
    path = writer.data_dir / "fuzzed.gz"
    write_gz(path, data)
    writer.apply_snapshot(manifest(2, FileEntry("s", UNUSED, 0, 4, 2)), path, [], T0)


def apply_delta(writer: CacheWriter, data: bytes) -> None:
    path = writer.data_dir / "fuzzed.gz"
    write_gz(path, data)
    state = writer.feed_state("gx")
    assert state is not None and state.version == 1
    entry = FileEntry("d", UNUSED, 0, 4, 2, 1)
    snapshot = FileEntry("s", UNUSED, 0, 4, 2)
    writer.apply_deltas(state, manifest(2, snapshot, (entry,)), [(entry, path)], T0)


APPLY: dict[str, Callable[[CacheWriter, bytes], None]] = {
    "snapshot": apply_snapshot,
    "delta": apply_delta,
}


def targets(kind: str) -> list[Path_]:
    """Every place a hostile value can go: the header, each of its values, each item,
    each element of each item (its tag included), and one past each item's end."""
    header, *items = FILES[kind]
    places: list[Path_] = [(0,), *((0, key) for key in header)]
    for i, item in enumerate(items, start=1):
        places += [(i,), *((i, j) for j in range(len(item) + 1))]
    return places


def test_unfuzzed_files_apply(tmp_path: Path) -> None:
    """The control: without a hostile value both files are good, so each refusal
    below comes from the value put in."""
    for kind in ("snapshot", "delta"):
        (tmp_path / kind).mkdir()
        writer = writer_at_v1(tmp_path / kind)
        try:
            APPLY[kind](writer, sequence(FILES[kind]))
        finally:
            writer.close()
        dump = db_dump(tmp_path / kind)
        assert [row[3] for row in dump["feeds"]] == [2]
        assert [row[0] for row in dump["v:gx"]] == ["桂A11111", "桂A33333"]
        assert dump["s:gx"] == [(SERIAL_A,), (SERIAL_C,)]


@pytest.mark.parametrize("kind", ["snapshot", "delta"])
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(place=st.integers(min_value=0, max_value=1000), hostile=HOSTILE)
def test_hostile_value_anywhere_is_a_refused_file(
    cache: CacheWriter, kind: str, place: int, hostile: bytes
) -> None:
    places = targets(kind)
    target = places[place % len(places)]
    # An int equal to the header's (a version, a count) is no hostile value; nor is
    # one in an item's tag place that names another kind (a revoke made a lift).
    assume(hostile != cbor2.dumps(value_at(FILES[kind], target)))
    assume(not (target[0] > 0 and target[1:] == (0,) and hostile in (b"\0", b"\1", b"\2", b"\3")))
    before = db_dump(cache.data_dir)
    with pytest.raises(FeedFormatError):
        APPLY[kind](cache, sequence(FILES[kind], target, hostile))
    assert db_dump(cache.data_dir) == before


@pytest.mark.parametrize("kind", ["snapshot", "delta"])
def test_the_issue_14_value_in_every_place_is_a_refused_file(cache: CacheWriter, kind: str) -> None:
    """The exact value of the report, everywhere, without relying on the fuzzer."""
    before = db_dump(cache.data_dir)
    for target in targets(kind):
        with pytest.raises(FeedFormatError):
            APPLY[kind](cache, sequence(FILES[kind], target, THE_BUG))
    assert db_dump(cache.data_dir) == before


@pytest.mark.parametrize(
    "raw",
    [
        b"\xa1" + THE_BUG + b"\x01",  # a map keyed by a tag holding an array
        b"\xa1\x81\x01\x01",  # keyed by an array
        b"\xa1\xa1\x01\x01\x01",  # keyed by a map
        b"\xa2\x01\x01\xf9\x3c\x00\x01",  # keys 1 and 1.0: equal in Python, not in CBOR
        b"\xc1" * 300 + b"\x80",  # tags nested deep
        b"\x81" * 500 + b"\x80",  # arrays nested past the decoder's depth limit
        b"\x1b" + (2**64 - 1).to_bytes(8, "big"),  # the largest native int
    ],
)
def test_hostile_structures_as_a_field_are_refused(cache: CacheWriter, raw: bytes) -> None:
    for kind in ("snapshot", "delta"):
        for target in [(0,), (0, 2), (1,), (1, 0), (1, 2), (3, 1)]:
            with pytest.raises(FeedFormatError):
                APPLY[kind](cache, sequence(FILES[kind], target, raw))


def test_refusal_messages_stay_short() -> None:
    """A refusal names the bad value for people without pasting kilobytes of it."""
    with pytest.raises(FeedFormatError) as caught:
        ItemChecker().vehicle([0, "桂A12345", [0] * 2000, "2027-06", "A", None])
    assert len(str(caught.value)) < 200


# --- One huge item (defect 4) ----------------------------------------------------

HUGE = 256 << 20
"""The size of the report: a 256 MiB byte string, about 261 KB gzipped."""
HUGE_HEADER = {1: "gx", 2: 2, 3: 4}


@pytest.fixture(scope="module")
def huge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.cbor.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip wrapper
    block = bytes(1 << 20)
    with open(path, "wb") as out:
        out.write(compressor.compress(cbor2.dumps(HUGE_HEADER) + head(2, HUGE)))
        for _ in range(HUGE // len(block)):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    return path


class Counting(io.RawIOBase):
    """A stream that counts the bytes it hands out."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.served += len(data)
        return data


def test_huge_item_is_refused_after_reading_at_most_bound_plus_chunk(huge_file: Path) -> None:
    limit, chunk = feedformat.ITEM_LIMIT, feedformat.CHUNK
    with gzip.open(huge_file, "rb") as raw:
        stream = Counting(raw)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            with pytest.raises(FeedFormatError, match="longer than"):
                for _ in read_items(stream, lambda header: 4):
                    pass
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert stream.served <= len(cbor2.dumps(HUGE_HEADER)) + limit + chunk
    assert peak < 4 * (limit + chunk)  # a chunk, its leftover, and the copies made of them
    assert elapsed < 10  # loose: 35 s before the bound, milliseconds after


def blob(length: int) -> bytes:
    """A byte string whose encoding is exactly ``length`` bytes long."""
    body = length - len(head(2, length))
    assert len(head(2, body)) + body == length
    return head(2, body) + bytes(body)


@pytest.mark.parametrize("where", ["header", "middle", "last"])
@pytest.mark.parametrize("chunked", [False, True])
def test_item_over_the_bound_is_refused_and_at_the_bound_read(
    where: str, chunked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound is on an item's encoded length, wherever the item is and whether it
    fits in one read or spans several; an item of exactly the bound is read."""
    limit = feedformat.ITEM_LIMIT
    if chunked:  # reads far shorter than an item, so every item spans several
        monkeypatch.setattr(feedformat, "CHUNK", 100)

    def data(length: int) -> bytes:
        return {
            "header": blob(length),
            "middle": cbor2.dumps({}) + blob(length) + cbor2.dumps(1),
            "last": cbor2.dumps({}) + cbor2.dumps(1) + blob(length),
        }[where]

    count = 0 if where == "header" else 2
    assert len(list(read_items(io.BytesIO(data(limit)), lambda h: count))) == count
    with pytest.raises(FeedFormatError, match="longer than"):
        list(read_items(io.BytesIO(data(limit + 1)), lambda h: count))


def test_items_split_across_reads_are_decoded() -> None:
    """A stream that hands out a few bytes at a time still yields every item."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.data.read(min(size, 3))

    _header, *items = FILES["delta"]
    assert list(read_items(Trickle(sequence(FILES["delta"])), lambda h: 4)) == items


# --- Through the real sync ------------------------------------------------------


def fast_close(world: World) -> None:
    """Shut the test server down without waiting out its 0.5 s poll."""
    httpd = world.server.httpd
    stopper = threading.Thread(target=httpd.shutdown)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(httpd.server_address[:2], timeout=1).close()
        stopper.join(0.01)
    world.close()


@pytest.fixture
def world(world: World) -> Iterator[World]:
    yield world
    fast_close(world)


PLACES: dict[str, Path_] = {
    # Where THE_BUG goes in a file whose item 1 is a vehicle and whose last a revoke
    # (-1 stands for the last item).
    "header-version": (0, 2),
    "plate": (1, 1),
    "plate_type": (1, 2),
    "valid_through": (1, 3),
    "status": (1, 4),
    "vehicle_type": (1, 5),
    "serial": (-1, 1),
}


def bug_at(parts: list[Any], place: str) -> bytes:
    target = PLACES[place]
    if target[0] < 0:
        target = (len(parts) - 1, *target[1:])
    return sequence(parts, target, THE_BUG)


def serve(
    world: World, data: bytes, *, records: int, to: int, start: int | None = None
) -> FileEntry:
    """Gzip and serve ``data`` as gx's snapshot (``start`` None) or delta."""
    gx = world.feeds["gx"]
    name = f"snapshot-{to}.cbor.gz" if start is None else f"delta-{start}-{to}.cbor.gz"
    sha, size = write_gz(gx.directory / name, data)
    return FileEntry(name, sha, size, records, to, start)


def publish_gx(world: World, snapshot: FileEntry, deltas: list[FileEntry], total: int) -> None:
    gx = world.feeds["gx"]
    gx.version, gx.snapshot, gx.deltas, gx.total = snapshot.to_version, snapshot, deltas, total
    gx.write()


def publish_hotlist_v2(world: World) -> None:
    """A new hotlist version, with a vehicle the old one lacks: it must get synced."""
    world.feeds["hot"].publish_snapshot(
        [
            Vehicle("桂A00001", "02", None, "C"),
            Vehicle("粤B77777", "02", None, "J"),
            Vehicle("粤B99999", "02", "2027-06", "C", "K33"),
        ]
    )


def log_lines(world: World) -> list[dict[str, Any]]:
    path = world.data_dir / "logs" / "sync.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def feeds_of(result: CliResult) -> dict[str, dict[str, Any]]:
    return {f["feed"]: f for f in result.json["feeds"]}


def sync_after_gx(world: World) -> CliResult:
    """Sync once; check that the hotlist synced after gx whatever gx did, and that
    the sync was logged as reported."""
    publish_hotlist_v2(world)
    logged = len(log_lines(world))
    result = world.sync()
    assert result.code in (0, 6), result.out + result.err
    assert "Traceback" not in result.err
    hot = feeds_of(result)["hot"]
    assert hot["status"] == "updated" and hot["to_version"] == 2, hot
    assert world.lookup("粤B77777", "02").json["verdict"] == "ALERT"
    lines = log_lines(world)
    assert len(lines) == logged + 1
    assert lines[-1]["feeds"] == result.json["feeds"]
    return result


def expect_gx_failed_alone(world: World) -> dict[str, Any]:
    """Exit 6, gx failed with a message, gx's cache exactly as before."""
    before = db_dump(world.data_dir)
    result = sync_after_gx(world)
    assert result.code == 6, result.out + result.err
    gx = feeds_of(result)["gx"]
    assert gx["status"] == "failed" and gx["method"] == "none", gx
    assert gx["from_version"] == gx["to_version"] == 1
    assert isinstance(gx.get("error"), str) and gx["error"].strip()
    after = db_dump(world.data_dir)
    for key in ("v:gx", "s:gx", "trust"):
        assert after[key] == before[key]
    assert [r for r in after["feeds"] if r[0] == "gx"] == [
        r for r in before["feeds"] if r[0] == "gx"
    ]
    return gx


@pytest.mark.parametrize("place", sorted(PLACES))
def test_tagged_value_in_delta_falls_back_to_snapshot(world: World, place: str) -> None:
    parts = [{1: "gx", 2: 1, 3: 2, 4: 2}, NEW.item(), revoke(b"revoked-serial-2")]
    delta = serve(world, bug_at(parts, place), records=2, to=2, start=1)
    serials = [*GX_V1_SERIALS, b"revoked-serial-2"]
    snapshot = write_snapshot(world.feeds["gx"].directory, "gx", 2, [*GX_V1, NEW], serials)
    publish_gx(world, snapshot, [delta], total=7)
    result = sync_after_gx(world)
    assert result.code == 0, result.out + result.err
    gx = feeds_of(result)["gx"]
    assert (gx["status"], gx["method"], gx["to_version"]) == ("updated", "snapshot", 2)
    assert world.lookup("桂C11111", "02").json["verdict"] == "VALID"


@pytest.mark.parametrize("place", sorted(PLACES))
def test_tagged_value_in_snapshot_fails_that_feed_alone(world: World, place: str) -> None:
    parts = [{1: "gx", 2: 2, 3: 6}, *(v.item() for v in [*GX_V1, NEW]), *map(revoke, GX_V1_SERIALS)]
    publish_gx(world, serve(world, bug_at(parts, place), records=6, to=2), [], total=6)
    expect_gx_failed_alone(world)


def test_huge_item_in_a_served_snapshot_fails_that_feed_alone(
    world: World, huge_file: Path
) -> None:
    gx = world.feeds["gx"]
    data = huge_file.read_bytes()
    (gx.directory / "snapshot-2.cbor.gz").write_bytes(data)
    sha = hashlib.sha256(data).digest()
    publish_gx(world, FileEntry("snapshot-2.cbor.gz", sha, len(data), 4, 2), [], total=4)
    assert "longer than" in expect_gx_failed_alone(world)["error"]


# --- The safety net in cache.sync: a bug met by one feed's file ---------------------

MARKER = Vehicle("桂Z99999", "02", "2028-01")
"""A vehicle whose record makes the item checker raise, as a bug would."""


@pytest.fixture
def buggy_checker(monkeypatch: pytest.MonkeyPatch) -> list[type[BaseException]]:
    """Fault injection: the vehicle check raises what the list holds, for MARKER
    only. No known input reaches such a bug any more; this is what one would do."""
    raised: list[type[BaseException]] = [RuntimeError]
    real = ItemChecker.vehicle

    def vehicle(self: ItemChecker, item: Any) -> Any:
        if item[1] == MARKER.plate:
            raise raised[0]("injected fault")
        return real(self, item)

    monkeypatch.setattr(ItemChecker, "vehicle", vehicle)
    return raised


def test_unexpected_error_on_delta_path_falls_back_to_snapshot(
    world: World, buggy_checker: list[type[BaseException]]
) -> None:
    gx = world.feeds["gx"]
    gx.publish_delta([MARKER], 1)
    snapshot = write_snapshot(gx.directory, "gx", 2, [*GX_V1, NEW], GX_V1_SERIALS)
    publish_gx(world, snapshot, gx.deltas, total=6)
    result = sync_after_gx(world)
    assert result.code == 0, result.out + result.err
    assert feeds_of(result)["gx"]["method"] == "snapshot"
    assert world.lookup("桂C11111", "02").json["verdict"] == "VALID"


def test_unexpected_error_on_snapshot_path_fails_that_feed_alone(
    world: World, buggy_checker: list[type[BaseException]]
) -> None:
    world.feeds["gx"].publish_snapshot([*GX_V1, MARKER], GX_V1_SERIALS)
    error = expect_gx_failed_alone(world)["error"]
    assert "RuntimeError" in error and "injected fault" in error


@pytest.mark.parametrize("path", ["delta", "snapshot"])
def test_keyboard_interrupt_is_never_swallowed_and_cache_stays_whole(
    world: World, buggy_checker: list[type[BaseException]], path: str
) -> None:
    buggy_checker[0] = KeyboardInterrupt
    gx = world.feeds["gx"]
    if path == "delta":
        gx.publish_delta([MARKER], 1)
    else:
        gx.publish_snapshot([*GX_V1, MARKER], GX_V1_SERIALS)
    before = db_dump(world.data_dir)
    result = run_cli("sync", "--json", data_dir=world.data_dir)
    assert result.code == 130, result.out + result.err
    assert db_dump(world.data_dir) == before
    buggy_checker[0] = RuntimeError
    gx.publish_snapshot([*GX_V1, NEW], GX_V1_SERIALS)
    assert world.sync().code == 0  # the interrupted sync left nothing in the way
