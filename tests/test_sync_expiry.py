"""Expiry and the clock floor in sync (SPEC 3, 4.3 step 5): expired files are
applied, then stale; a future manifest raises the clock floor."""

from __future__ import annotations

import time
from datetime import datetime

from tests.support import (
    DAY,
    T0,
    YEAR,
    CliResult,
    World,
    at,
    run_cli,
)
from tests.support.sync import (
    SERIALS2,
    SNAP2,
    by_feed,
)


def test_expired_manifest_is_applied_then_stale(world: World) -> None:
    gx = world.feeds["gx"]
    gx.publish_snapshot(SNAP2, SERIALS2, generated_at=T0 - 3 * DAY, expires_at=T0 - DAY)
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"
    assert by_feed(result)["gx"]["to_version"] == 2
    stale = world.lookup("桂C11111", "02")
    assert stale.codes == ["CACHE_STALE"]
    assert stale.json["verdict"] == "CHECK"
    assert "CACHE_STALE" in world.verify(world.pki.certificate()).codes
    assert world.lookup("桂C11111", "02", t=T0 - 2 * DAY).codes == []
    assert "CACHE_STALE" not in world.lookup("粤B99999", "02").codes  # not covered by gx


def test_expired_trust_list_is_applied_then_stale(world: World) -> None:
    world.publish_trust_list(version=2, issued_at=T0 - 10 * DAY, expires_at=T0 - DAY)
    result = world.sync()
    assert result.code == 0, result.out
    assert result.json["trust_list"] == {"status": "updated", "version": 2}
    assert "TRUST_STALE" in world.verify(world.pki.certificate()).codes


def _checked_at(result: CliResult) -> float:
    return datetime.fromisoformat(result.json["checked_at"]).timestamp()


def test_clock_floor_from_future_manifest(world: World) -> None:
    future = int(time.time()) + 30 * DAY
    entries = [
        world.pki.entry(world.pki.gui, "cert", ["桂"]),
        world.pki.entry(world.pki.yue, "cert", ["粤"]),
        world.pki.entry(world.pki.feed, "feed", ["*"], not_after=future + YEAR),
    ]
    world.publish_trust_list(version=2, entries=entries)
    world.feeds["gx"].publish_snapshot(
        SNAP2, SERIALS2, generated_at=future, expires_at=future + DAY
    )
    result = world.sync()
    assert result.code == 0, result.out
    assert by_feed(result)["gx"]["status"] == "updated"
    cert = world.pki.certificate()
    unpinned = run_cli("verify", "--json", cert, data_dir=world.data_dir)
    assert _checked_at(unpinned) >= future
    looked = run_cli("lookup", "--json", "桂A12345", data_dir=world.data_dir)
    assert _checked_at(looked) >= future
    pinned = run_cli("verify", "--json", "--at", at(T0), cert, data_dir=world.data_dir)
    assert _checked_at(pinned) == T0
    assert pinned.json["checked_at"] == at(T0)
