"""Every case of ../shared/vectors/cases.json, served over real HTTP, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import VECTORS
from tests.support import FeedServer, run_cli

EXIT = {"VALID": 0, "CHECK": 3, "INVALID": 4, "ALERT": 5}


def _cases() -> dict:
    path = VECTORS / "cases.json"
    if not path.exists():
        return {"verify": [], "lookup": [], "feeds": [], "root_key": ""}
    return json.loads(path.read_text(encoding="utf-8"))


CASES = _cases()


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CASES["verify"]:
        pytest.skip("shared vectors not found")
    data_dir = tmp_path_factory.mktemp("vectors")
    server = FeedServer(VECTORS / "server")
    try:
        feeds = [a for f in CASES["feeds"] for a in ("--feed", f)]
        init = run_cli(
            "init",
            "--root-key",
            CASES["root_key"],
            "--server",
            server.url,
            *feeds,
            data_dir=data_dir,
        )
        assert init.code == 0, init.err
        sync = run_cli("sync", "--json", data_dir=data_dir)
        assert sync.code == 0, sync.out + sync.err
        report = sync.json
        assert report["trust_list"]["status"] == "updated"
        assert {f["feed"]: f["status"] for f in report["feeds"]} == {
            "gx": "updated",
            "hot": "updated",
        }
        # gx has a snapshot at 1 and a delta 1->2: a first sync takes the snapshot path.
        assert {f["feed"]: f["method"] for f in report["feeds"]} == {
            "gx": "snapshot",
            "hot": "snapshot",
        }
        assert run_cli("sync", "--json", data_dir=data_dir).json["feeds"][0]["status"] == "current"
    finally:
        server.close()
    return data_dir


@pytest.mark.parametrize("case", CASES["verify"], ids=lambda c: c["name"])
def test_verify_case(synced: Path, case: dict) -> None:
    result = run_cli("verify", "--json", "--at", case["at"], case["text"], data_dir=synced)
    assert result.json["verdict"] == case["verdict"]
    assert result.codes == sorted(case["codes"])
    assert result.code == EXIT[case["verdict"]]


@pytest.mark.parametrize(
    "case",
    CASES["lookup"],
    ids=lambda c: f"{c['plate']}-{c['type']}",
)
def test_lookup_case(synced: Path, case: dict) -> None:
    args = ["lookup", "--json", "--at", case["at"], case["plate"]]
    if case["type"]:
        args += ["--type", case["type"]]
    result = run_cli(*args, data_dir=synced)
    assert result.json["verdict"] == case["verdict"]
    assert result.codes == sorted(case["codes"])
    assert result.code == EXIT[case["verdict"]]


def test_vectors_from_stdin(synced: Path) -> None:
    case = next(c for c in CASES["verify"] if c["name"] == "scan engine line ending")
    result = run_cli(
        "verify", "--json", "--at", case["at"], "-", data_dir=synced, stdin=case["text"].encode()
    )
    assert result.json["verdict"] == case["verdict"]
