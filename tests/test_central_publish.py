"""The central side end to end: registry, publish, serve, and the real terminal sync."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from central import cli
from central.serve import StaticServer
from feeds.format import parse_manifest
from keys.cose import parse_sign1
from keys.wire import SIGNED_LIST_LIMIT
from tests.support import T0, at, run_cli

VICHECK = str(Path(sys.executable).parent / "vicheck")


def central(home: Path, *args: str, t: float = T0) -> int:
    return cli.main(["--home", str(home), "--at", at(t), *args])


def make_home(tmp: Path, vehicles: int = 2000) -> Path:
    home = tmp / "home"
    assert central(home, "init", "--province", "桂") == 0
    assert central(home, "trustlist") == 0
    gen = ["registry", "generate", "--province", "桂", "--vehicles", str(vehicles)]
    assert central(home, *gen, "--seed", "5", "--as-of", "2026-06") == 0
    return home


def root_key(home: Path) -> str:
    return (home / "keys" / "root.pub").read_text().strip()


def terminal(tmp: Path, home: Path, url: str, feeds: tuple[str, ...] = ("gx", "hot")) -> Path:
    data_dir = tmp / "terminal"
    args = ["init", "--root-key", root_key(home), "--server", url]
    for feed in feeds:
        args += ["--feed", feed]
    assert run_cli(*args, data_dir=data_dir).code == 0
    return data_dir


def manifest(home: Path, feed: str = "gx"):
    data = (home / "public" / "feeds" / feed / "manifest.cose").read_bytes()
    return parse_manifest(parse_sign1(data, SIGNED_LIST_LIMIT).payload)


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "registry.db", isolation_level=None)


@pytest.fixture
def world(tmp_path: Path):
    home = make_home(tmp_path)
    assert central(home, "publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot") == 0
    with StaticServer(home / "public") as server:
        yield home, server, terminal(tmp_path, home, server.url)


def sync(data_dir: Path) -> dict:
    result = run_cli("sync", "--json", data_dir=data_dir)
    assert result.code == 0, result.out
    return result.json


def test_snapshot_then_delta_then_rerun(world) -> None:
    home, _server, data_dir = world
    first = sync(data_dir)
    assert [f["method"] for f in first["feeds"]] == ["snapshot", "snapshot"]
    conn = db(home)
    plate, ptype = conn.execute("SELECT plate, plate_type FROM vehicles LIMIT 1").fetchone()
    gone = conn.execute("SELECT plate, plate_type FROM vehicles LIMIT 1 OFFSET 7").fetchone()
    conn.execute(
        "UPDATE vehicles SET status = 'C' WHERE plate = ? AND plate_type = ?", (plate, ptype)
    )
    conn.execute("DELETE FROM vehicles WHERE plate = ? AND plate_type = ?", gone)
    conn.execute(
        "INSERT INTO vehicles VALUES ('桂A99999', '02', 'K33', 0, '2026-05', '2028-05', 'A')"
    )
    assert central(home, "publish", t=T0 + 60) == 0
    second = sync(data_dir)
    assert [(f["method"], f["to_version"]) for f in second["feeds"]] == [("delta", 2), ("delta", 2)]
    stolen = run_cli("lookup", "--json", "--at", at(T0), plate, "--type", ptype, data_dir=data_dir)
    assert stolen.json["verdict"] == "ALERT"
    assert {v["feed"] for v in stolen.json["vehicles"]} == {"gx", "hot"}
    new = run_cli("lookup", "--json", "--at", at(T0), "桂A99999", data_dir=data_dir)
    assert new.json["verdict"] == "VALID"
    removed = run_cli("lookup", "--json", "--at", at(T0), gone[0], data_dir=data_dir)
    assert "NOT_IN_CACHE" in removed.codes
    # Rerun with nothing changed: a trivial delta, and the terminal follows it.
    assert central(home, "publish", t=T0 + 120) == 0
    assert manifest(home).deltas[-1].records == 0
    third = sync(data_dir)
    assert [f["status"] for f in third["feeds"]] == ["updated", "updated"]
    assert manifest(home).total == conn.execute("SELECT count(*) FROM vehicles").fetchone()[0]


def test_new_terminal_after_snapshot_rotation_and_old_files_pruned(world, tmp_path) -> None:
    home, server, data_dir = world
    sync(data_dir)
    for day in range(1, 10):
        assert central(home, "publish", "--keep-days", "3", t=T0 + day * 86400) == 0
    m = manifest(home)
    assert m.snapshot.to_version == 8  # a fresh snapshot after seven days
    names = {p.name for p in (home / "public" / "feeds" / "gx").iterdir()}
    listed = {m.snapshot.path, *(d.path for d in m.deltas)}
    assert listed <= names and "snapshot-1.cbor.gz" not in names
    assert sync(data_dir)["feeds"][0]["method"] == "snapshot"  # its version left the window
    other = terminal(tmp_path / "t2", home, server.url)
    assert sync(other)["feeds"][0]["method"] == "snapshot"


def test_bad_registry_row_publishes_nothing(world) -> None:
    home, _server, _data_dir = world
    before = (home / "public" / "feeds" / "gx" / "manifest.cose").read_bytes()
    db(home).execute(
        "INSERT INTO vehicles VALUES ('桂I12345', '02', 'K33', 0, '2026-05', '2028-05', 'A')"
    )
    proc = subprocess.run(
        [VICHECK, "central", "--home", str(home), "publish"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "桂I12345" in proc.stderr and "Traceback" not in proc.stderr
    assert (home / "public" / "feeds" / "gx" / "manifest.cose").read_bytes() == before
    assert not list((home / "public" / "feeds" / "gx").glob("delta-*"))


def test_feed_scope_cannot_change(world) -> None:
    home, _server, _data_dir = world
    assert central(home, "publish", "--feed", "gx", "--scope", "粤") == 2


def test_killed_publish_never_leaves_a_manifest_naming_a_missing_file(tmp_path: Path) -> None:
    home = make_home(tmp_path, vehicles=60_000)
    assert central(home, "publish", "--feed", "gx", "--scope", "桂") == 0
    feed_dir = home / "public" / "feeds" / "gx"
    for n, delay in enumerate((0.15, 0.3, 0.45, 0.7, 1.0)):
        db(home).execute(f"UPDATE vehicles SET status = 'G' WHERE plate LIKE '%{n}{n}'")
        env = dict(os.environ, VICHECK_CENTRAL_HOME=str(home))
        proc = subprocess.Popen(
            [VICHECK, "central", "--at", at(T0 + n), "publish", "--snapshot"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        m = manifest(home)
        for entry in (m.snapshot, *m.deltas):
            assert (feed_dir / entry.path).stat().st_size == entry.size
    assert central(home, "publish", t=T0 + 100) == 0
    with StaticServer(home / "public") as server:
        data_dir = terminal(tmp_path, home, server.url, ("gx",))
        report = sync(data_dir)
        assert report["feeds"][0]["to_version"] == manifest(home).version


# --- A feed key's authority (SPEC 1.1): what terminals would refuse, never published ---


def set_feed_covers(home: Path, covers: str | None) -> None:
    """Rewrite the feed key's covers line in keys.toml (None removes it)."""
    config = home / "keys.toml"
    lines = [line for line in config.read_text().splitlines() if not line.startswith("covers")]
    if covers is not None:
        at_feed = lines.index('role = "feed"')
        lines.insert(at_feed + 2, f"covers = {covers}")
    config.write_text("\n".join(lines) + "\n")


def test_init_gives_the_feed_key_its_province(tmp_path: Path) -> None:
    home = make_home(tmp_path, vehicles=10)
    text = (home / "keys.toml").read_text()
    assert 'covers = ["桂"]' in text
    trust = (home / "public" / "trustlist.cose").read_bytes()
    from keys.trustlist import load_trust_list

    feed = next(e for e in load_trust_list(trust).keys.values() if e.role == "feed")
    assert feed.covers == ("桂",)


@pytest.mark.parametrize("covers", [None, '["粤"]', '["桂A"]'])
def test_publish_refuses_a_full_feed_beyond_its_keys_covers(tmp_path: Path, covers) -> None:
    home = make_home(tmp_path, vehicles=10)
    set_feed_covers(home, covers)
    assert central(home, "trustlist", t=T0 + 1) == 0
    publish_gx = ["publish", "--feed", "gx", "--scope", "桂"]
    proc = subprocess.run(
        [VICHECK, "central", "--home", str(home), "--at", at(T0 + 2), *publish_gx],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "covers" in proc.stderr and "Traceback" not in proc.stderr
    assert not (home / "public" / "feeds" / "gx" / "manifest.cose").exists()
    # The hotlist alone needs no covers.
    assert central(home, "publish", "--hotlist", "hot", t=T0 + 3) == 0


def test_publish_refuses_without_a_trust_list_naming_its_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert central(home, "init", "--province", "桂") == 0
    assert central(home, "publish", "--feed", "gx", "--scope", "桂") == 2
    assert central(home, "trustlist") == 0
    assert central(home, "keygen", "--role", "feed", "--name", "stranger") == 0
    assert central(home, "publish", "--feed", "gx", "--scope", "桂", "--key", "stranger") == 2
    assert central(home, "publish", "--feed", "gx", "--scope", "桂") == 0


def test_trustlist_refuses_a_feed_key_for_a_published_full_feed_without_covers(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path, vehicles=10)
    assert central(home, "publish", "--feed", "gx", "--scope", "桂", "--hotlist", "hot") == 0
    before = (home / "public" / "trustlist.cose").read_bytes()
    set_feed_covers(home, None)
    proc = subprocess.run(
        [VICHECK, "central", "--home", str(home), "--at", at(T0 + 60), "trustlist"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "full feed gx" in proc.stderr and "Traceback" not in proc.stderr
    assert (home / "public" / "trustlist.cose").read_bytes() == before
    set_feed_covers(home, '["桂"]')
    assert central(home, "trustlist", t=T0 + 61) == 0


def test_covers_belongs_to_feed_keys_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert central(home, "init", "--province", "桂") == 0
    config = home / "keys.toml"
    config.write_text(config.read_text().replace('role = "cert"', 'role = "cert"\ncovers = ["桂"]'))
    assert central(home, "trustlist") == 2
    config.write_text(config.read_text().replace('covers = ["桂"]\n', "", 1))
    config.write_text(config.read_text().replace('covers = ["桂"]', 'covers = ["GX"]'))
    assert central(home, "trustlist") == 2
