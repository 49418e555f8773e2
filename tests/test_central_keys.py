"""Keys, the trust list from keys.toml, and issuing certificates that terminals accept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from central import cli
from keys.trustlist import verify_trust_list
from tests.support import T0, at, run_cli

VICHECK = str(Path(sys.executable).parent / "vicheck")


def central(home: Path, *args: str, t: float = T0) -> int:
    return cli.main(["--home", str(home), "--at", at(t), *args])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert central(home, "init", "--province", "桂") == 0
    return home


def root(home: Path) -> bytes:
    return bytes.fromhex((home / "keys" / "root.pub").read_text())


def trust(home: Path):
    return verify_trust_list((home / "public" / "trustlist.cose").read_bytes(), root(home))


def test_keygen_writes_private_key_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert central(home, "keygen", "--role", "cert", "--name", "gx-2026") == 0
    assert (home / "keys" / "gx-2026.key").stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex((home / "keys" / "gx-2026.pub").read_text())) == 32
    assert central(home, "keygen", "--role", "cert", "--name", "gx-2026") == 2


def test_trust_list_version_always_increases(home: Path) -> None:
    assert central(home, "trustlist") == 0
    first = trust(home)
    assert [e.role for e in first.keys.values()] == ["cert", "feed"]
    assert central(home, "trustlist", t=T0 + 60) == 0
    assert trust(home).version == first.version + 1
    (home / "trustlist.version").unlink()  # lost state: the published list still counts
    assert central(home, "trustlist", t=T0 + 120) == 0
    assert trust(home).version == first.version + 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('scope = ["*"]\nnot_before', "key 'feed': a feed key needs a scope"),
        ('role = "signer"', "key 'feed': role must be cert or feed"),
        ('scope = ["GX"]', "key 'feed': scope entry 'GX' is not a feed id"),
        ('public = "keys/nothing.pub"', "key 'feed': cannot read keys/nothing.pub"),
        ('public = "keys/cert.pub"', "key 'feed': the same public key as key '桂-cert'"),
    ],
)
def test_bad_keys_configuration_is_refused_naming_the_key(
    home: Path, change: str, message: str
) -> None:
    config = home / "keys.toml"
    text = config.read_text()
    feed_part = text[text.index('name = "feed"') :]
    if change.startswith('scope = ["*"]'):
        bad = feed_part.replace('scope = ["*"]\n', "")
    else:
        field = change.split(" = ")[0]
        line = next(line for line in feed_part.splitlines() if line.startswith(field + " = "))
        bad = feed_part.replace(line, change)
    config.write_text(text.replace(feed_part, bad))
    proc = subprocess.run(
        [VICHECK, "central", "--home", str(home), "trustlist"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (home / "public" / "trustlist.cose").exists()


def test_issue_qr_decodes_and_verifies(tmp_path: Path, home: Path) -> None:
    from pyzbar import pyzbar  # noqa: I001 (the real decoders, as the terminal uses them)
    import cv2

    from central.serve import StaticServer

    assert central(home, "trustlist") == 0
    csv = tmp_path / "r.csv"
    csv.write_text(
        "plate,plate_type,vehicle_type,operating,registered,valid_through,status\n"
        "桂A12345,02,K33,0,2022-06,2026-06,A\n"
        "桂B00001,02,K33,0,2022-06,2026-06,C\n"
    )
    assert central(home, "registry", "import", str(csv)) == 0
    assert central(home, "publish", "--feed", "gx", "--scope", "桂") == 0
    out = tmp_path / "issued"
    proc = subprocess.run(
        [
            VICHECK,
            "central",
            "--home",
            str(home),
            "--at",
            at(T0),
            "issue",
            "桂a·12345",
            "--basis",
            "2",
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    issued = json.loads(proc.stdout)
    assert issued["valid_through"] == "2028-06"  # year 4 renewed by a mark: on to year 6
    image = cv2.imread(issued["png"])
    decoded = pyzbar.decode(image)
    assert [d.data.decode() for d in decoded] == [issued["text"]]
    assert "机动车检验标志电子凭证" in Path(issued["page"]).read_text()
    assert central(home, "publish", t=T0 + 60) == 0
    with StaticServer(home / "public") as server:
        data_dir = tmp_path / "terminal"
        init = ["init", "--root-key", root(home).hex(), "--server", server.url, "--feed", "gx"]
        assert run_cli(*init, data_dir=data_dir).code == 0
        assert run_cli("sync", data_dir=data_dir).code == 0
        check = run_cli("verify", "--json", "--at", at(T0 + 120), issued["text"], data_dir=data_dir)
        assert check.json["verdict"] == "VALID", check.out
        assert check.json["vehicles"][0]["valid_through"] == "2028-06"
        # Revoked, published, synced: the same code is now INVALID.
        assert central(home, "revoke", issued["serial"], t=T0 + 180) == 0
        assert central(home, "publish", t=T0 + 240) == 0
        assert run_cli("sync", data_dir=data_dir).code == 0
        check = run_cli("verify", "--json", "--at", at(T0 + 300), issued["text"], data_dir=data_dir)
        assert "REVOKED" in check.codes
    # No certificate for a stolen vehicle, nor a 免检 one for a cycle that needs a station.
    assert central(home, "issue", "桂B00001", "--basis", "4") == 2
    assert central(home, "issue", "桂A12345", "--basis", "2", t=T0 + 400) == 2
    assert central(home, "issue", "桂A99999", "--basis", "3") == 2
