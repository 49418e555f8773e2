"""SPEC 4.3 sync, the rest: its log in the data dir, long legal file names and a
server's Content-Encoding, an unusable server URL refused at init.

The refusals, the snapshot and delta paths, the trust list, expiry and fuzzing have
their own modules (tests/test_sync_*.py); their helpers are in tests/support/sync.py.
"""

from __future__ import annotations

import json

from feeds.writer import (
    Vehicle,
    write_snapshot,
)
from tests.support import (
    World,
    run_cli,
)


def test_sync_is_logged_in_the_data_dir(world: World) -> None:
    log = world.data_dir / "logs" / "sync.jsonl"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    assert lines[0]["trust_list"]["status"] == "updated"
    assert {f["feed"]: f["status"] for f in lines[0]["feeds"]} == {
        "gx": "updated",
        "hot": "updated",
    }
    world.sync()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_long_legal_file_names_and_content_encoding(world: World) -> None:
    """A path of any legal length syncs; a server that labels .gz files with
    Content-Encoding: gzip does not change the bytes that are counted and hashed."""
    gx = world.feeds["gx"]
    name = "s" * 240 + ".cbor.gz"
    gx.version += 1
    gx.snapshot = write_snapshot(
        gx.directory, "gx", gx.version, [Vehicle("桂A77777", "02", "2027-06")], [], name=name
    )
    gx.deltas, gx.total = [], 1
    gx.write()
    world.server.behaviour["encoding"] = "gzip"
    result = world.sync()
    assert result.code == 0, result.out
    assert world.lookup("桂A77777").json["verdict"] == "VALID"


def test_unusable_server_url_is_refused_at_init(empty_world: World) -> None:
    bad = run_cli(
        "init",
        "--root-key",
        empty_world.pki.root.public.hex(),
        "--server",
        "http://[::1",
        "--feed",
        "gx",
        data_dir=empty_world.data_dir,
    )
    assert bad.code == 2 and "not an http(s) URL" in bad.err


def test_bad_feed_id_in_a_hand_edited_config_fails_that_feed_alone(world: World) -> None:
    """The review's case: ids like ``x/../../y`` or 300 characters in config.json gave
    exit 1, the other feeds never synced and nothing was logged."""
    config = world.data_dir / "config.json"
    body = json.loads(config.read_text(encoding="utf-8"))
    bad = ["x/../../y", "a" * 300, "GX"]
    body["feeds"] = ["gx", *bad, "hot"]
    config.write_text(json.dumps(body), encoding="utf-8")
    world.feeds["gx"].publish_delta([Vehicle("桂C22222", "02", "2028-01", "A", "K33")], 1)
    result = world.sync()
    assert result.code == 6, result.out + result.err
    reports = {f["feed"]: f for f in result.json["feeds"]}
    assert reports["gx"]["status"] == "updated" and reports["hot"]["status"] == "current"
    for feed in bad:
        assert reports[feed]["status"] == "failed"
        assert "does not match" in reports[feed]["error"]
    assert not [p for p in world.data_dir.parent.rglob("y")]  # nothing made outside
    log = (world.data_dir / "logs" / "sync.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == 2 and json.loads(log[-1])["feeds"][1]["status"] == "failed"
