"""The trust list in sync (SPEC 3 and 4.3): a failure keeps the held list and feeds
still sync; with none ever held, feeds fail; a new list revoking the feed key fails
the next update."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from feeds.writer import (
    Vehicle,
)
from keys.keypair import KeyPair
from keys.trustlist import build_trust_list
from tests.support import (
    DAY,
    T0,
    World,
    db_dump,
)
from tests.support.sync import (
    GX_V1,
    GX_V1_SERIALS,
    NEW,
    SNAP2,
    assert_answers_from,
    assert_error_text,
    by_feed,
    flip_byte,
    install_trust_list,
    rows,
)


def _trust_503(world: World) -> None:
    world.server.behaviour["fail"] = {"trustlist.cose"}


def _trust_404(world: World) -> None:
    (world.root / "trustlist.cose").unlink()


def _trust_bad_signature(world: World) -> None:
    world.publish_trust_list(version=2)
    flip_byte(world.root / "trustlist.cose", (world.root / "trustlist.cose").stat().st_size - 1)


def _trust_not_root(world: World) -> None:
    data = build_trust_list(
        version=2,
        issued_at=T0 - DAY,
        expires_at=T0 + 30 * DAY,
        entries=world.pki.default_entries(),
        root=KeyPair.from_seed(b"not-root").signing_key,
    )
    (world.root / "trustlist.cose").write_bytes(data)


def _trust_garbage(world: World) -> None:
    (world.root / "trustlist.cose").write_bytes(b"\xa0")


def _trust_rollback(world: World) -> None:
    install_trust_list(world, version=2)
    world.publish_trust_list(version=1)


TRUST_FAILURES: dict[str, Callable[[World], None]] = {
    "503": _trust_503,
    "404": _trust_404,
    "bad-signature": _trust_bad_signature,
    "not-signed-by-root": _trust_not_root,
    "garbage": _trust_garbage,
    "rollback": _trust_rollback,
}


@pytest.mark.parametrize("case", sorted(TRUST_FAILURES))
def test_trust_list_failure_keeps_held_list_and_feeds_sync(world: World, case: str) -> None:
    TRUST_FAILURES[case](world)
    before = db_dump(world.data_dir)
    held = before["trust"][0][0]
    world.feeds["gx"].publish_delta([NEW], 1)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    trust = result.json["trust_list"]
    assert trust["status"] == "failed"
    assert trust["version"] == held
    assert_error_text(trust)
    feeds = by_feed(result)
    assert feeds["gx"]["status"] == "updated"
    assert feeds["gx"]["method"] == "delta"
    assert feeds["gx"]["to_version"] == 2
    assert feeds["hot"]["status"] == "current"
    after = db_dump(world.data_dir)
    assert after["trust"] == before["trust"]
    assert after["v:gx"] == rows(SNAP2)


@pytest.mark.parametrize("case", ["503", "bad-signature"])
def test_no_trust_list_ever_held_feeds_fail(empty_world: World, case: str) -> None:
    world = empty_world
    world.publish_trust_list()
    world.feed("gx").publish_snapshot(GX_V1, GX_V1_SERIALS)
    world.feed("hot", "hotlist", ["*"]).publish_snapshot([Vehicle("粤B99999", "02", None, "C")])
    assert world.init().code == 0
    TRUST_FAILURES[case](world)
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    trust = result.json["trust_list"]
    assert trust["status"] == "failed" and trust["version"] is None
    assert_error_text(trust)
    for name, report in by_feed(result).items():
        assert report["status"] == "failed", name
        assert_error_text(report)
        assert report["from_version"] is None and report["to_version"] is None
        assert report["method"] == "none"
    assert db_dump(world.data_dir) == before
    assert world.verify(world.pki.certificate()).codes == ["NO_TRUST_LIST"]
    # Once a good trust list is served, everything syncs.
    world.server.behaviour.clear()
    world.publish_trust_list()
    assert world.sync().code == 0


def test_new_trust_list_revoking_feed_key_fails_next_update(world: World) -> None:
    entries = [
        world.pki.entry(world.pki.gui, "cert", ["桂"]),
        world.pki.entry(world.pki.yue, "cert", ["粤"]),
        world.pki.entry(world.pki.feed, "feed", ["*"], revoked=True),
    ]
    world.publish_trust_list(version=2, entries=entries)
    world.feeds["gx"].publish_delta([NEW], 1)
    before = db_dump(world.data_dir)
    result = world.sync()
    assert result.code == 6, result.out
    assert result.json["trust_list"] == {"status": "updated", "version": 2}
    feeds = by_feed(result)
    # SPEC 4.3 step 1 verifies every manifest before comparing versions: hot's too.
    for name in ("gx", "hot"):
        assert feeds[name]["status"] == "failed", feeds[name]
        assert_error_text(feeds[name])
        assert feeds[name]["from_version"] == feeds[name]["to_version"] == 1
    after = db_dump(world.data_dir)
    assert after["trust"][0][0] == 2
    assert {k: v for k, v in after.items() if k != "trust"} == {
        k: v for k, v in before.items() if k != "trust"
    }
    assert_answers_from(world, before)
