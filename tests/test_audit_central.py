"""The central side of the audit record: enrolment, the upload endpoint over real
HTTP (uvicorn on 127.0.0.1), its refusals, resends, and tampering with the central
SQLite found by ``central audit verify``, naming the entry."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cbor2
import httpx
import pytest
from nacl.signing import SigningKey

from audit.chain import Entry, encode, entry_hash, sign_head
from audit.device import device_of, public_key
from audit.wire import MAX_BODY_BYTES, Head, encode_upload
from cache.upload import upload_audit
from central.audit import AUDIT_DB
from central.serve import free_port
from devkit.audit import audit_app, enrol, entries_of, fill_log
from tests.support import T0, at, run_cli

VICHECK = str(Path(sys.executable).parent / "vicheck")


def central(home: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("central", "--home", str(home), "--at", at(T0), *args)
    return result.code, result.out, result.err


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def upload_body(key: SigningKey, entries: list[Entry], signer: SigningKey | None = None) -> bytes:
    device = device_of(key)
    last = entries[-1]
    head = Head(last.seq, entry_hash(last), sign_head(device, last, signer or key))
    return encode_upload(device, entries, head)


def post(url: str, device: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/audit/{device}", content=body, headers={"Content-Type": "application/json"}
    )


@pytest.fixture()
def terminal(tmp_path: Path) -> tuple[Path, SigningKey]:
    data_dir = tmp_path / "terminal"
    return data_dir, fill_log(data_dir, 12, T0)


def test_device_add_checks_the_id_against_the_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key, other = SigningKey.generate(), SigningKey.generate()
    device, hexkey = device_of(key), public_key(key).hex()
    code, out, _ = central(home, "device", "add", device, "--public-key", hexkey)
    assert code == 0 and json.loads(out)["added"] is True
    code, out, _ = central(home, "device", "add", device, "--public-key", hexkey)
    assert code == 0 and json.loads(out)["added"] is False  # once enrolled, a no-op
    wrong = public_key(other).hex()
    code, _, err = central(home, "device", "add", device, "--public-key", wrong)
    assert code == 2 and device_of(other) in err
    for bad in (["vt-XYZ", "--public-key", hexkey], [device, "--public-key", "abc"]):
        code, _, err = central(home, "device", "add", *bad)
        assert code == 2 and err.startswith("error:") and "Traceback" not in err
    code, out, _ = central(home, "device", "list")
    assert lines(out) == [{"device": device, "public_key": hexkey, "added_at": T0, "held": 0}]
    assert (home / AUDIT_DB).stat().st_mode & 0o777 == 0o600


def test_upload_is_stored_acknowledged_and_resend_is_harmless(
    tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    data_dir, key = terminal
    home = tmp_path / "home"
    device = enrol(home, key)
    entries = entries_of(data_dir)
    with audit_app(home) as url:
        first = post(url, device, upload_body(key, entries[:5]))
        assert (first.status_code, first.json()) == (200, {"held": 5})
        again = post(url, device, upload_body(key, entries[:5]))
        assert (again.status_code, again.json()) == (200, {"held": 5})
        overlap = post(url, device, upload_body(key, entries[3:9]))  # 4, 5 held; 6-9 new
        assert (overlap.status_code, overlap.json()) == (200, {"held": 9})
        with httpx.Client() as client:
            report = upload_audit(data_dir, url, client, lambda: float(T0))
    assert report is not None and report.to_json() == {"sent": 12, "held": 12}
    code, out, _ = central(home, "audit", "verify", device, "--json")
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["last"] == 12
    with sqlite3.connect(home / AUDIT_DB) as conn:
        stored = [bytes(b) for (b,) in conn.execute("SELECT body FROM entries ORDER BY seq")]
    assert stored == [encode(e) for e in entries]  # the exact bytes the terminal hashed


def test_refusals_answer_json_with_the_held_mark(
    tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    data_dir, key = terminal
    home = tmp_path / "home"
    device = enrol(home, key)
    entries = entries_of(data_dir)
    stranger = SigningKey.generate()
    forked_dir = tmp_path / "fork"
    fill_log(forked_dir, 4, T0 + 999, key=key)  # the same key, another history
    forked = entries_of(forked_dir)
    with audit_app(home) as url:
        assert post(url, device, upload_body(key, entries[:3])).json() == {"held": 3}
        cases = {
            "UNKNOWN_DEVICE": (404, device_of(stranger), upload_body(stranger, entries[:1])),
            "BAD_SIGNATURE": (403, device, upload_body(key, entries[3:5], signer=stranger)),
            "GAP": (409, device, upload_body(key, entries[5:7])),
            "FORK": (409, device, upload_body(key, forked)),
            "BAD_REQUEST": (400, device, b'{"device": 1}'),
        }
        for code, (status, name, body) in cases.items():
            answer = post(url, name, body)
            held = 0 if code == "UNKNOWN_DEVICE" else 3
            assert answer.status_code == status, (code, answer.text)
            assert answer.json()["error"] == code and answer.json()["held"] == held, answer.text
        mismatch = post(url, device_of(stranger), upload_body(key, entries[3:4]))
        assert mismatch.status_code == 400 and "address" in mismatch.json()["detail"]
        large = httpx.post(f"{url}/audit/{device}", content=b" " * (MAX_BODY_BYTES + 1), timeout=30)
        assert (large.status_code, large.json()["error"]) == (413, "TOO_LARGE")
        got = httpx.get(f"{url}/audit/{device}")
        assert got.status_code == 400 and got.json()["error"] == "BAD_REQUEST"
        assert httpx.get(f"{url}/elsewhere").status_code == 400
        # After all that, the chain continues exactly where it was.
        assert post(url, device, upload_body(key, entries[3:])).json() == {"held": 12}
    assert central(home, "audit", "verify", device)[0] == 0


def _stored(home: Path, key: SigningKey, data_dir: Path) -> str:
    device = enrol(home, key)
    with audit_app(home) as url:
        entries = entries_of(data_dir)
        for part in (entries[:4], entries[4:8], entries[8:]):  # three signed heads
            assert post(url, device, upload_body(key, part)).status_code == 200
    return device


def _rewrite(body: bytes, **changes: object) -> bytes:
    """An entry's bytes with fields changed, still canonical (a careful forger)."""
    from audit.chain import decode

    return encode(decode(body).replace(**changes))


TAMPERING: dict[str, tuple[Callable[[sqlite3.Connection], object], tuple[int, str]]] = {
    # what is done to the central SQLite -> (first seq named, problem code)
    "edit a middle entry": (
        lambda c: c.execute(
            "UPDATE entries SET body = ? WHERE seq = 6", (_edit(c, 6, verdict="VALID"),)
        ),
        (7, "PREV"),
    ),
    "edit an entry a head names": (
        lambda c: c.execute(
            "UPDATE entries SET body = ? WHERE seq = 8", (_edit(c, 8, plate="桂Z99999"),)
        ),
        (8, "HEAD"),
    ),
    "delete a middle entry": (lambda c: c.execute("DELETE FROM entries WHERE seq = 5"), (5, "SEQ")),
    "delete the newest entries": (
        lambda c: c.execute("DELETE FROM entries WHERE seq >= 10"),
        (10, "MISSING"),
    ),
    "reorder two entries": (
        lambda c: c.executescript(
            "UPDATE entries SET seq = -1 WHERE seq = 3; UPDATE entries SET seq = 3 WHERE seq = 4;"
            " UPDATE entries SET seq = 4 WHERE seq = -1;"
        ),
        (3, "ROW"),
    ),
    "insert an entry after the last": (lambda c: _append_forged(c), (13, "AFTER_HEAD")),
    "damage the bytes": (
        lambda c: c.execute("UPDATE entries SET body = x'a1' WHERE seq = 2"),
        (2, "DAMAGED"),
    ),
    "forge a head": (
        lambda c: c.execute("UPDATE heads SET signature = zeroblob(64) WHERE seq = 4"),
        (4, "SIGNATURE"),
    ),
}


def _edit(conn: sqlite3.Connection, seq: int, **changes: object) -> bytes:
    (body,) = conn.execute("SELECT body FROM entries WHERE seq = ?", (seq,)).fetchone()
    return _rewrite(bytes(body), **changes)


def _append_forged(conn: sqlite3.Connection) -> None:
    """An entry 13 that chains perfectly from 12, made without the device key."""
    from audit.chain import decode

    device, body = conn.execute("SELECT device, body FROM entries WHERE seq = 12").fetchone()
    last = decode(bytes(body))
    forged = last.replace(seq=13, prev=entry_hash(last), verdict="VALID", reasons=())
    conn.execute(
        "INSERT INTO entries (device, seq, time, body, received_at) VALUES (?, 13, ?, ?, 0)",
        (device, forged.time, encode(forged)),
    )


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_with_the_central_copy_is_found(
    name: str, tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    data_dir, key = terminal
    home = tmp_path / "home"
    device = _stored(home, key, data_dir)
    assert central(home, "audit", "verify")[0] == 0
    change, (seq, problem) = TAMPERING[name]
    with sqlite3.connect(home / AUDIT_DB) as conn:
        change(conn)
    code, out, _ = central(home, "audit", "verify", device, "--json")
    found = json.loads(out)
    assert code == 3 and found["ok"] is False, out
    assert (found["problem"]["seq"], found["problem"]["code"]) == (seq, problem), out
    code, text, _ = central(home, "audit", "verify")
    assert code == 3 and f"entry {seq} does not fit" in text


def test_export_is_one_json_object_a_line_within_the_times(
    tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    data_dir, key = terminal
    home = tmp_path / "home"
    device = _stored(home, key, data_dir)
    code, out, err = central(
        home, "audit", "export", "--device", device, "--from", at(T0 + 3), "--to", at(T0 + 6)
    )
    rows = lines(out)
    assert code == 0 and err == ""
    assert [r["seq"] for r in rows] == [4, 5, 6, 7]
    entries = entries_of(data_dir)
    for row in rows:
        entry = entries[int(str(row["seq"])) - 1]
        assert row["time"] == entry.time and row["plate"] == entry.plate
        assert row["verdict"] == entry.verdict and row["officer"] == "010203"
        assert row["hash"] == entry_hash(entry).hex() and row["prev"] == entry.prev.hex()
        assert bytes.fromhex(str(row["body"])) == encode(entry)
        assert row["feeds"] == [list(f) for f in entry.feeds]
    everything = lines(central(home, "audit", "export", "--device", device, "--json")[1])
    assert len(everything) == 12
    with sqlite3.connect(home / AUDIT_DB) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 2")
    code, out, err = central(home, "audit", "export", "--device", device)
    assert code == 3 and len(lines(out)) == 11 and "entry 2" in err
    assert central(home, "audit", "export", "--device", "vt-0000000000000000")[0] == 2
    assert central(home, "audit", "export", "--device", device, "--from", "yesterday")[0] == 2


def test_wire_entries_travel_as_their_exact_bytes(terminal: tuple[Path, SigningKey]) -> None:
    """What the central side stores is what the terminal hashed: base64 of the
    canonical CBOR, nothing re-encoded on the way (a guard for the format)."""
    data_dir, key = terminal
    entries = entries_of(data_dir)
    body = json.loads(upload_body(key, entries[:2]))
    raw = [base64.b64decode(item) for item in body["entries"]]
    assert raw == [encode(e) for e in entries[:2]]
    assert cbor2.loads(raw[0])[0] == 1


def test_audit_serve_alone_and_the_nginx_block(
    tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    """``central audit serve`` (uvicorn alone, for nginx) takes uploads; the nginx
    block proxies /audit/ to where it was told, under the same body bound."""
    data_dir, key = terminal
    home = tmp_path / "home"
    device = enrol(home, key)
    port = free_port()
    proc = subprocess.Popen(
        [VICHECK, "central", "--home", str(home), "audit", "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in proc.stderr.readline()  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = post(url, device, upload_body(key, entries_of(data_dir)))
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.05)
        assert (answer.status_code, answer.json()) == (200, {"held": 12})
    finally:
        proc.terminate()
        proc.wait(30)
    code, out, _ = central(home, "nginx-config", "--audit", "127.0.0.1:9999")
    assert code == 0 and "location /audit/ {" in out
    assert "proxy_pass http://127.0.0.1:9999;" in out
    assert f"client_max_body_size {MAX_BODY_BYTES};" in out
    assert central(home, "audit", "serve", "--port", "70000")[0] == 2


def test_a_store_that_cannot_write_answers_json_and_keeps_nothing(
    tmp_path: Path, terminal: tuple[Path, SigningKey]
) -> None:
    data_dir, key = terminal
    home = tmp_path / "home"
    device = enrol(home, key)
    with audit_app(home) as url:
        with sqlite3.connect(home / AUDIT_DB) as conn:
            conn.execute("DROP TABLE heads")  # a store that fails mid-transaction
        answer = post(url, device, upload_body(key, entries_of(data_dir)))
        assert answer.status_code == 503 and answer.json()["error"] == "UNAVAILABLE"
        with httpx.Client() as client:
            report = upload_audit(data_dir, url, client, lambda: float(T0))
    assert report is not None and report.error == "UNAVAILABLE" and report.held == 0
    with sqlite3.connect(home / AUDIT_DB) as conn:
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 0  # rolled back
