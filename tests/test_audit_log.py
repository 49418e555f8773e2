"""The terminal's audit log (issue 13): every check leaves one committed, signed
entry; the answer never depends on it; and ``audit verify`` names the first entry
that was edited, removed, reordered or inserted in the SQLite file."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from audit.chain import GENESIS, decode, encode, entry_hash, sign_head, verify_head
from audit.device import DEVICE_KEY_NAME, device_of, load_key, public_key
from audit.store import AUDIT_DB, AuditLog
from audit.verify import verify_log
from terminal.synthetic.scenes import qr_image
from tests.support import T0, World, at, run_cli

ROOT = Path(__file__).resolve().parents[1]
VICHECK = Path(sys.executable).parent / "vicheck"


def entries(world: World) -> list[dict[str, object]]:
    out = run_cli("audit", "export", "--json", data_dir=world.data_dir)
    assert out.code == 0, out.err
    return [json.loads(line) for line in out.out.splitlines()]


def db(world: World) -> sqlite3.Connection:
    return sqlite3.connect(world.data_dir / AUDIT_DB, isolation_level=None)


def checks(world: World, n: int) -> None:
    for i in range(n):
        plate = ("桂A12345", "桂B88888", "桂A99999")[i % 3]
        assert run_cli("lookup", "--at", at(T0 + i), plate, data_dir=world.data_dir).code != 1


def verify(world: World) -> dict[str, object]:
    result = run_cli("audit", "verify", "--json", data_dir=world.data_dir)
    report: dict[str, object] = result.json
    assert result.code == (0 if report["ok"] else 7)
    return report


def problem(world: World) -> tuple[object, object]:
    report = verify(world)
    assert not report["ok"]
    found = report["problem"]
    assert isinstance(found, dict)
    return found["seq"], found["code"]


# --- what is recorded ----------------------------------------------------------------


def test_each_kind_of_check_appends_its_entry(world: World, tmp_path: Path) -> None:
    text = world.pki.certificate("桂A12345")
    picture = tmp_path / "code.png"
    cv2.imwrite(str(picture), qr_image(text))
    folder = tmp_path / "pictures"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), qr_image(world.pki.certificate("桂A99999")))
    when = at(T0)
    runs = [
        ("verify", "--at", when, "--officer", "010203", text),
        ("verify", "--at", when, "--image", str(picture)),
        ("lookup", "--at", when, "--type", "02", "桂B88888"),
        ("scan", "--at", when, "--officer", "A7", "--source", str(folder)),
        ("verify", "--at", when, "not a certificate"),
    ]
    answers = [run_cli(*args, "--json", data_dir=world.data_dir) for args in runs]
    assert [a.code for a in answers] == [0, 0, 4, 3, 4]
    got = entries(world)
    assert [e["seq"] for e in got] == [1, 2, 3, 4, 5]
    assert [e["how"] for e in got] == ["typed", "image", "lookup", "image", "typed"]
    assert [e["officer"] for e in got] == ["010203", None, None, "A7", None]
    assert [e["verdict"] for e in got] == [a.json["verdict"] for a in answers[:3]] + [
        json.loads(answers[3].out.splitlines()[0])["verdict"],
        "INVALID",
    ]
    first = got[0]
    assert first["plate"] == "桂A12345" and first["plate_type"] == "02"
    assert first["serial"] == answers[0].json["certificate"]["serial"]
    assert first["time"] == answers[0].json["checked_at"]
    assert first["trust_list"] == 1 and first["feeds"] == {"gx": 1, "hot": 1}
    assert got[2]["reasons"] == [r["code"] for r in answers[2].json["reasons"]]
    assert got[4]["plate"] is None and got[4]["reasons"] == ["FORMAT"]
    assert got[0]["prev"] == "00" * 32 and got[1]["prev"] == got[0]["hash"]
    assert verify(world)["ok"] is True


def test_a_usage_error_records_nothing(world: World) -> None:
    assert run_cli("lookup", "not a plate", data_dir=world.data_dir).code == 2
    bad = run_cli("verify", "--officer", "no/good", "x", data_dir=world.data_dir)
    assert bad.code == 2 and "officer" in bad.err
    assert entries(world) == []


def test_the_time_is_the_terminals_clock_with_its_floor(world: World) -> None:
    """Without --at the clock is floored (SPEC 4.3): a device clock years behind
    records the floor, as the check itself judged."""
    with sqlite3.connect(world.data_dir / "vicheck.db") as cache:
        floor = cache.execute("SELECT clock_floor FROM terminal").fetchone()[0]
        cache.execute("UPDATE terminal SET clock_floor = ?", (2**40,))
    try:
        answer = run_cli("lookup", "--json", "桂A12345", data_dir=world.data_dir)
    finally:
        with sqlite3.connect(world.data_dir / "vicheck.db") as cache:
            cache.execute("UPDATE terminal SET clock_floor = ?", (floor,))
    assert answer.json["checked_at"] == entries(world)[0]["time"]
    with db(world) as conn:
        assert conn.execute("SELECT time FROM entries").fetchone()[0] == 2**40


# --- the answer never depends on the record ----------------------------------------------


def _answers(world: World) -> list[tuple[int, str]]:
    text = world.pki.certificate("桂A12345")
    runs = [("verify", "--at", at(T0), text), ("lookup", "--json", "--at", at(T0), "桂A99999")]
    out = []
    for args in runs:
        result = run_cli(*args, data_dir=world.data_dir)
        out.append((result.code, result.out))
    return out


def test_a_log_that_cannot_be_written_changes_no_answer_and_is_said(world: World) -> None:
    before = _answers(world)
    (world.data_dir / AUDIT_DB).write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (world.data_dir / (AUDIT_DB + suffix)).unlink(missing_ok=True)
    after = _answers(world)
    assert after == before
    result = run_cli("lookup", "--lang", "en", "--at", at(T0), "桂A99999", data_dir=world.data_dir)
    assert "not in the audit log" in result.err and "logs/audit.jsonl" in result.err
    logged = (world.data_dir / "logs" / "audit.jsonl").read_text().splitlines()
    assert len(logged) == 3
    assert json.loads(logged[0])["event"] == "audit_not_recorded"


def test_a_full_disk_changes_no_answer_and_is_said(world: World) -> None:
    """RLIMIT_FSIZE 0: every write past a file's end fails (EFBIG), as on a full
    disk; the real console script, in its own process."""
    text = world.pki.certificate("桂A12345")
    args = [str(VICHECK), "--data-dir", str(world.data_dir), "--lang", "en", "verify", "--json"]
    args += ["--at", at(T0), text]

    def full() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    free = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    (world.data_dir / AUDIT_DB).unlink()
    for suffix in ("-wal", "-shm"):
        (world.data_dir / (AUDIT_DB + suffix)).unlink(missing_ok=True)
    # The cache is only read by a check; held open here, its -shm file stays at
    # its full size, so the check reads it without writing a byte.
    with sqlite3.connect(world.data_dir / "vicheck.db") as cache:
        cache.execute("SELECT count(*) FROM feeds").fetchone()
        stuck = subprocess.run(
            args, capture_output=True, text=True, timeout=60, check=False, preexec_fn=full
        )
    assert (stuck.returncode, stuck.stdout) == (free.returncode, free.stdout) == (0, free.stdout)
    assert "not in the audit log" in stuck.stderr and "cannot be written" in stuck.stderr
    assert "Traceback" not in stuck.stderr


# --- tampering, found and named ----------------------------------------------------------


def _rewrite(world: World, seq: int, **changes: object) -> None:
    with db(world) as conn:
        body = conn.execute("SELECT body FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
        changed = decode(body).replace(**changes)  # type: ignore[arg-type]
        conn.execute("UPDATE entries SET body = ? WHERE seq = ?", (encode(changed), seq))


def test_an_edited_entry_is_named(world: World) -> None:
    checks(world, 6)
    assert verify(world)["ok"] is True
    _rewrite(world, 3, verdict="VALID", reasons=())
    assert problem(world) == (3, "SIGNATURE")


def test_an_edited_entry_rechained_is_named(world: World) -> None:
    """Edit entry 3 and fix every later prev: without the device key no signature
    fits; with the key (someone who stole device.key) the edit still shows against
    the central copy, not here (docs/audit.md)."""
    checks(world, 5)
    _rewrite(world, 3, officer="999999")
    with db(world) as conn:
        for seq in (4, 5):
            prev = conn.execute("SELECT body FROM entries WHERE seq = ?", (seq - 1,)).fetchone()
            _rewrite(world, seq, prev=entry_hash(decode(prev[0])))
    assert problem(world) == (3, "SIGNATURE")


def test_a_damaged_row_is_named(world: World) -> None:
    checks(world, 4)
    with db(world) as conn:
        conn.execute("UPDATE entries SET body = x'a0' WHERE seq = 2")
    assert problem(world) == (2, "DAMAGED")
    assert run_cli("audit", "export", "--json", data_dir=world.data_dir).code == 7


def test_a_deleted_entry_is_named(world: World) -> None:
    checks(world, 5)
    with db(world) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 3")
    assert problem(world) == (3, "SEQ")


def test_the_newest_entry_deleted_is_named(world: World) -> None:
    checks(world, 4)
    with db(world) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 4")
    assert problem(world) == (4, "MISSING")


def test_reordered_entries_are_named(world: World) -> None:
    checks(world, 5)
    with db(world) as conn:
        rows = dict(conn.execute("SELECT seq, body FROM entries WHERE seq IN (2, 3)").fetchall())
        conn.execute("UPDATE entries SET body = ? WHERE seq = 2", (rows[3],))
        conn.execute("UPDATE entries SET body = ? WHERE seq = 3", (rows[2],))
    assert problem(world) == (2, "ROW")


def test_reordered_entries_renumbered_inside_are_named(world: World) -> None:
    """Entries 2 and 3 swapped with the seq inside each rewritten to fit its row."""
    checks(world, 5)
    with db(world) as conn:
        rows = dict(conn.execute("SELECT seq, body FROM entries WHERE seq IN (2, 3)").fetchall())
    _rewrite_body(world, 2, decode(rows[3]).replace(seq=2))
    _rewrite_body(world, 3, decode(rows[2]).replace(seq=3))
    assert problem(world) == (2, "PREV")


def _rewrite_body(world: World, seq: int, entry: object) -> None:
    with db(world) as conn:
        conn.execute("UPDATE entries SET body = ? WHERE seq = ?", (encode(entry), seq))  # type: ignore[arg-type]


def test_an_inserted_entry_is_named(world: World) -> None:
    """A forged entry 3 chained into place (later rows renumbered): signed by any
    key but the device's, it is named."""
    checks(world, 4)
    key = SigningKey(bytes(range(32)))
    device = device_of(load_key(world.data_dir))  # type: ignore[arg-type]
    with db(world) as conn:
        second = decode(conn.execute("SELECT body FROM entries WHERE seq = 2").fetchone()[0])
        forged = second.replace(seq=3, prev=entry_hash(second), verdict="VALID")
        conn.execute("UPDATE entries SET seq = seq + 10 WHERE seq >= 3")
        conn.execute("UPDATE entries SET seq = seq - 9 WHERE seq >= 13")
        conn.execute(
            "INSERT INTO entries VALUES (3, ?, ?, ?)",
            (forged.time, encode(forged), sign_head(device, forged, key)),
        )
    assert problem(world) == (3, "SIGNATURE")


def test_a_log_from_another_device_key_is_named(world: World) -> None:
    checks(world, 2)
    key_file = world.data_dir / DEVICE_KEY_NAME
    key_file.write_text(bytes(range(32)).hex() + "\n")
    assert problem(world) == (1, "DEVICE")
    answer = run_cli("lookup", "--lang", "en", "桂A12345", data_dir=world.data_dir)
    assert answer.code != 1 and "not in the audit log" in answer.err


# --- acknowledgement and pruning ---------------------------------------------------------


def _log(world: World) -> AuditLog:
    return AuditLog.open(world.data_dir, load_key(world.data_dir))


def test_prune_deletes_only_acknowledged_old_entries_and_the_rest_verifies(world: World) -> None:
    checks(world, 1)  # makes the device key
    day = 86_400
    with _log(world) as log:
        for i in range(2, 11):
            log.append(time=T0 + i * day, how="lookup", verdict="VALID", plate="桂A12345")
        assert log.prune(T0 + 100 * day, 30 * day) == 0  # nothing acknowledged yet
        assert log.acknowledge(6) == 6
        assert log.acknowledge(3) == 6  # never back
        assert log.acknowledge(99) == 10  # never past the newest
        log.acknowledge(6)
    with _log(world) as log:
        assert log.held == 10
    with db(world) as conn:
        conn.execute("UPDATE chain SET held = 6")
    with _log(world) as log:
        assert log.prune(T0 + 38 * day, 30 * day) == 6  # entries up to day 7, held <= 6
        assert [e.seq for e in log.since(0)] == [7, 8, 9, 10]
        assert log.base().seq == 6
        assert verify_log(log, public_key(load_key(world.data_dir))).ok  # type: ignore[arg-type]
        entry = log.append(time=T0 + 40 * day, how="typed", verdict="CHECK")
        assert entry.seq == 11
    assert verify(world)["ok"] is True
    with db(world) as conn:
        conn.execute("UPDATE chain SET base_hash = ?", (GENESIS,))
    assert problem(world) == (6, "BASE")


def test_head_and_since_give_what_an_upload_needs(world: World) -> None:
    checks(world, 3)
    with _log(world) as log:
        seq, digest, signature = log.head()
        newest = log.since(0)
        assert seq == 3 and digest == entry_hash(newest[-1]) and signature is not None
        assert log.signature(3) == signature
        assert verify_head(log.device, newest[-1], signature, public_key(log._key))  # type: ignore[arg-type]
        assert [e.seq for e in log.since(1, limit=1)] == [2]


# --- the device key ------------------------------------------------------------------------


def test_init_makes_the_device_key_once(world: World) -> None:
    key_file = world.data_dir / DEVICE_KEY_NAME
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    shown = run_cli("device", "--json", data_dir=world.data_dir).json
    assert world.init().code == 0
    assert key_file.read_text() == first
    key = load_key(world.data_dir)
    assert key is not None
    assert shown == {"device": device_of(key), "public_key": public_key(key).hex()}
    text = run_cli("device", "--lang", "en", data_dir=world.data_dir).out
    assert shown["device"] in text and shown["public_key"] in text


def test_an_older_data_dir_gets_its_key_at_the_first_check(world: World) -> None:
    (world.data_dir / DEVICE_KEY_NAME).unlink()
    checks(world, 1)
    assert (world.data_dir / DEVICE_KEY_NAME).exists()
    assert verify(world)["ok"] is True


# --- killed mid-check ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_check_killed_at_any_point_loses_or_doubles_no_entry(world: World) -> None:
    """SIGKILL ``vicheck verify`` processes at random points: every check that
    answered has its entry, none has two, and the chain still verifies."""
    import random
    import time

    rng = random.Random(13)
    text = world.pki.certificate("桂A12345")
    answered: set[str] = set()
    killed, took = 0, 0.0
    for i in range(40):
        officer = f"{i:06d}"
        proc = subprocess.Popen(
            [str(VICHECK), "--data-dir", str(world.data_dir), "verify", "--json",
             "--officer", officer, "--at", at(T0), text],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        start = time.monotonic()
        try:  # every fourth runs to its end (and times a run); the others are cut short
            proc.wait(timeout=60 if i % 4 == 0 else rng.uniform(0.0, took))
            took = max(took, time.monotonic() - start) if i % 4 == 0 else took
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed += 1
        out = proc.stdout.read() if proc.stdout else b""
        if proc.returncode >= 0:  # not killed: it answered, in full
            assert proc.returncode == 0 and json.loads(out)["verdict"] == "VALID"
            answered.add(officer)
    recorded = [e["officer"] for e in entries(world)]
    assert len(recorded) == len(set(recorded)), "an entry recorded twice"
    assert answered <= set(recorded), "an answered check without its entry"
    assert verify(world)["ok"] is True
    assert killed >= 10 and len(answered) >= 10, (killed, len(answered))


def test_a_device_key_planted_as_a_link_is_refused(world: World, tmp_path: Path) -> None:
    key_file = world.data_dir / DEVICE_KEY_NAME
    planted = tmp_path / "planted.key"
    planted.write_text(bytes(range(32)).hex() + "\n")
    key_file.unlink()
    key_file.symlink_to(planted)
    answer = run_cli("lookup", "--lang", "en", "--at", at(T0), "桂A12345", data_dir=world.data_dir)
    assert answer.code == 0 and "not in the audit log" in answer.err
    shown = run_cli("device", data_dir=world.data_dir)
    assert shown.code == 2 and "symbolic link" in shown.err


def test_entries_without_a_device_key_are_named(world: World) -> None:
    checks(world, 2)
    (world.data_dir / DEVICE_KEY_NAME).unlink()
    assert problem(world) == (1, "DEVICE")


def test_two_writers_at_once_interleave_whole_entries(world: World) -> None:
    """The terminal's app and a command-line check on one data dir: each append is
    one transaction, so seqs stay contiguous and the chain whole."""
    import threading

    checks(world, 1)
    key = load_key(world.data_dir)

    def write(officer: str) -> None:
        with AuditLog.open(world.data_dir, key) as log:
            for _ in range(40):
                log.append(time=T0, how="typed", verdict="VALID", officer=officer)

    threads = [threading.Thread(target=write, args=(o,)) for o in ("A1", "B2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = entries(world)
    assert [e["seq"] for e in got] == list(range(1, 82))
    assert sorted(e["officer"] for e in got[1:]) == ["A1"] * 40 + ["B2"] * 40
    assert verify(world)["ok"] is True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_byte_changed_in_any_row_is_found_at_or_before_it(
    shared_log: tuple[Path, bytes], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """One byte of one stored body or signature changed, anywhere: verify fails,
    naming that row or (a seq the byte now claims) one before it."""
    source, public = shared_log
    copy = tmp_path_factory.mktemp("tampered")
    (copy / AUDIT_DB).write_bytes((source / AUDIT_DB).read_bytes())
    with sqlite3.connect(copy / AUDIT_DB, isolation_level=None) as conn:
        seq = data.draw(st.integers(1, 8), label="row")
        column = data.draw(st.sampled_from(["body", "signature"]), label="column")
        value = bytearray(conn.execute(f"SELECT {column} FROM entries WHERE seq = ?",
                                       (seq,)).fetchone()[0])  # fmt: skip
        at_byte = data.draw(st.integers(0, len(value) - 1), label="byte")
        value[at_byte] ^= data.draw(st.integers(1, 255), label="xor")
        conn.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (bytes(value), seq))
    with AuditLog.open(copy) as log:
        result = verify_log(log, public)
    assert result.finding is not None
    assert result.finding.seq <= seq


@pytest.fixture(scope="module")
def shared_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A log of eight entries (closed, so its file holds them all)."""
    folder = tmp_path_factory.mktemp("log")
    key = SigningKey(bytes(range(32)))
    with AuditLog.open(folder, key) as log:
        for i in range(8):
            log.append(time=T0 + i, how="lookup", verdict="CHECK", plate="桂A12345",
                       reasons=["NOT_IN_CACHE"], trust_list=1, feeds=[("gx", 3)])  # fmt: skip
    return folder, bytes(key.verify_key)


def test_the_log_and_the_key_are_private_and_repaired(world: World) -> None:
    from terminal.config import DATA_DIR_NAMES

    assert {AUDIT_DB, f"{AUDIT_DB}-wal", f"{AUDIT_DB}-shm", DEVICE_KEY_NAME} <= set(DATA_DIR_NAMES)
    old = os.umask(0)
    try:
        checks(world, 1)
        for name in (AUDIT_DB, DEVICE_KEY_NAME):
            assert (world.data_dir / name).stat().st_mode & 0o777 == 0o600
            os.chmod(world.data_dir / name, 0o644)
        checks(world, 1)  # any command repairs an older install's modes
    finally:
        os.umask(old)
    for name in (AUDIT_DB, DEVICE_KEY_NAME):
        assert (world.data_dir / name).stat().st_mode & 0o777 == 0o600
