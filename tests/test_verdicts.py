"""SPEC sections 6 and 7 end to end: every verdict step and the command contract,
through the real CLI (``--json --at``) against feeds synced over real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from feeds.writer import Vehicle
from keys import base45
from keys.fields import CST
from keys.keypair import KeyPair
from tests.support import DAY, T0, YEAR, CliResult, World, at, run_cli, standard_world

ROOT = Path(__file__).resolve().parents[1]
EXIT = {"VALID": 0, "CHECK": 3, "INVALID": 4, "ALERT": 5}
VERIFY_KEYS = {"verdict", "reasons", "certificate", "vehicles", "checked_at"}
REASON_KEYS = {"code", "severity", "message"}
CERT_KEYS = {
    "plate",
    "plate_type",
    "valid_through",
    "serial",
    "issued_at",
    "issuer",
    "kid",
    "vehicle_type",
}
VEHICLE_KEYS = {"plate", "plate_type", "valid_through", "status", "vehicle_type", "feed"}
CJK = re.compile("[\u4e00-\u9fff]")

# What tests.support.standard_world publishes, repeated to republish it.
GX = [
    Vehicle("桂A12345", "02", "2027-06", "A", "K33"),
    Vehicle("桂A00001", "02", "2027-06", "C", "K33"),
    Vehicle("桂B88888", "02", "2026-03", "A", "K33"),
    Vehicle("桂A54321", "02", None, "GI", "K33"),
]
GX_REVOKED = [b"revoked-serial-1"]
HOT = [Vehicle("粤B99999", "02", "2027-06", "C", "K33"), Vehicle("桂A00001", "02", None, "C")]

# SPEC section 6 table; X and Z are letters the table does not name.
LETTERS = {
    "G": "info",
    "I": "info",
    "B": "check",
    "D": "check",
    "H": "check",
    "O": "check",
    "Q": "invalid",
    **{letter: "alert" for letter in "CEJKLMNP"},
    "X": "check",
    "Z": "check",
}
VERDICT_FOR = {"info": "VALID", "check": "CHECK", "invalid": "INVALID", "alert": "ALERT"}


def letter_plate(letter: str) -> str:
    return f"桂C{ord(letter):05d}"


def cst(*args: int) -> int:
    return int(datetime(*args, tzinfo=CST).timestamp())  # type: ignore[misc]


def one_json(res: CliResult) -> dict[str, Any]:
    """Exactly one JSON object on stdout: the whole of it parses as one object."""
    obj = json.loads(res.out)
    assert isinstance(obj, dict), res.out
    return obj


def expect(res: CliResult, verdict: str, reasons: dict[str, str]) -> dict[str, Any]:
    """Verdict, the exact sorted list of codes, each severity, the exit code."""
    body = one_json(res)
    assert "error" not in body, body
    what = f"{res.out}{res.err}"
    assert sorted(r["code"] for r in body["reasons"]) == sorted(reasons), what
    assert {r["code"]: r["severity"] for r in body["reasons"]} == reasons, what
    assert body["verdict"] == verdict, what
    assert res.code == EXIT[verdict], what
    for reason in body["reasons"]:
        assert set(reason) == REASON_KEYS
        assert isinstance(reason["message"], str) and reason["message"]
    return body


def expect_error(res: CliResult, code: str) -> dict[str, Any]:
    body = one_json(res)
    assert set(body) == {"error"}, res.out
    assert set(body["error"]) == {"code", "message"}, res.out
    assert body["error"]["code"] == code, res.out
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert res.code == 2, res.out + res.err
    return body


def cert_yue(pki: Any, plate: str = "粤B12345", **kw: Any) -> str:
    return pki.certificate(plate, key=pki.yue, **kw)


def tampered(text: str) -> str:
    """The same certificate with one bit of its signature flipped."""
    data = bytearray(base45.decode(text[4:]))
    data[-1] ^= 0x01
    return "VI1:" + base45.encode(bytes(data))


def verify_at(world: World, text: str, when: str, *extra: str) -> CliResult:
    return run_cli("verify", "--json", "--at", when, *extra, text, data_dir=world.data_dir)


@pytest.fixture(scope="module")
def ro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Read-only world for many checks: the standard world, plus one 桂 vehicle per
    status letter and one valid through 2026-05. Never modified by a test."""
    w = standard_world(tmp_path_factory.mktemp("ro"))
    try:
        extra = [Vehicle(letter_plate(c), "02", "2027-06", c, "K33") for c in LETTERS]
        extra += [
            Vehicle("桂C99999", "02", "2027-06", "CGQ", "K33"),
            Vehicle("桂D20265", "02", "2026-05", "A", "K33"),
        ]
        w.feeds["gx"].publish_snapshot(GX + extra, GX_REVOKED)
        assert w.init().code == 0
        assert w.sync().code == 0
        yield w
    finally:
        w.close()


# --- 6.1 step 2: the trust list --------------------------------------------------------


def test_no_trust_list_when_server_has_none(empty_world: World) -> None:
    w = empty_world
    w.feed("gx").publish_snapshot(GX, GX_REVOKED)
    w.feed("hot", "hotlist", ["*"]).publish_snapshot(HOT)
    assert w.init().code == 0
    sync = w.sync()
    assert sync.code == 6
    assert one_json(sync)["trust_list"]["status"] == "failed"
    for text in (
        w.pki.certificate(),
        w.pki.certificate("桂A00001"),
        w.pki.certificate(serial=b"revoked-serial-1"),
        w.pki.certificate("桂B88888", valid_through="2026-03"),
    ):
        body = expect(w.verify(text), "CHECK", {"NO_TRUST_LIST": "check"})
        assert body["certificate"] is None
        assert body["vehicles"] == []
    # A lookup never reports it: nothing is covered, no record, so NOT_COVERED alone.
    expect(w.lookup("桂A12345"), "CHECK", {"NOT_COVERED": "check"})


def test_no_trust_list_after_init_with_another_root_stops_before_status(world: World) -> None:
    other = KeyPair.from_seed(b"another-root")
    res = run_cli(
        "init",
        *("--root-key", other.public.hex(), "--server", world.server.url),
        *("--feed", "gx", "--feed", "hot"),
        data_dir=world.data_dir,
    )
    assert res.code == 0, res.out + res.err
    # Status records are still in the cache, but step 2 stops before step 6 and 7.
    for text in (
        world.pki.certificate("桂A00001"),
        world.pki.certificate(serial=b"revoked-serial-1"),
        world.pki.certificate("桂B88888", valid_through="2026-03"),
        world.pki.certificate("桂A99999"),
    ):
        body = expect(world.verify(text), "CHECK", {"NO_TRUST_LIST": "check"})
        assert body["certificate"] is None
    expect(world.lookup("桂A00001"), "ALERT", {"STATUS_C": "alert"})
    expect(world.lookup("桂A12345"), "VALID", {})


def test_trust_stale(world: World) -> None:
    world.publish_trust_list(version=2, issued_at=T0 - 2 * DAY, expires_at=T0 - 1)
    sync = world.sync()
    assert sync.code == 0, sync.out
    assert one_json(sync)["trust_list"] == {"status": "updated", "version": 2}
    good = world.pki.certificate()
    expect(world.verify(good, T0 - 2), "VALID", {})
    body = expect(world.verify(good, T0 - 1), "CHECK", {"TRUST_STALE": "check"})
    assert body["certificate"]["plate"] == "桂A12345"
    expect(world.verify(good), "CHECK", {"TRUST_STALE": "check"})
    # It continues: status reasons still come, and an unknown key is only "check".
    expect(
        world.verify(world.pki.certificate("桂A00001")),
        "ALERT",
        {"TRUST_STALE": "check", "STATUS_C": "alert"},
    )
    stranger = world.pki.certificate(key=KeyPair.from_seed(b"stranger"))
    expect(world.verify(stranger), "CHECK", {"TRUST_STALE": "check", "UNKNOWN_KEY": "check"})
    # Lookups never report it.
    expect(world.lookup("桂A12345"), "VALID", {})
    expect(world.lookup("桂A00001"), "ALERT", {"STATUS_C": "alert"})


# --- 6.1 step 6: revoked serials -------------------------------------------------------


def test_revoked_in_full_feed_still_evaluates_status(ro: World) -> None:
    pki = ro.pki
    revoked = b"revoked-serial-1"
    expect(ro.verify(pki.certificate(serial=revoked)), "INVALID", {"REVOKED": "invalid"})
    expect(
        ro.verify(pki.certificate("桂A00001", serial=revoked)),
        "ALERT",
        {"REVOKED": "invalid", "STATUS_C": "alert"},
    )
    expect(
        ro.verify(pki.certificate("桂A54321", serial=revoked)),
        "INVALID",
        {"REVOKED": "invalid", "STATUS_G": "info", "STATUS_I": "info"},
    )
    expect(
        ro.verify(pki.certificate("桂B88888", valid_through="2026-03", serial=revoked)),
        "INVALID",
        {"REVOKED": "invalid", "EXPIRED": "invalid"},
    )
    # Not revoked: another serial.
    expect(ro.verify(pki.certificate(serial=b"revoked-serial-2")), "VALID", {})


def test_revoked_in_hotlist_counts(world: World) -> None:
    world.feeds["hot"].publish_snapshot(HOT, [b"hot-revoked-01"])
    assert world.sync().code == 0
    pki = world.pki
    expect(
        world.verify(pki.certificate(serial=b"hot-revoked-01")), "INVALID", {"REVOKED": "invalid"}
    )
    expect(
        world.verify(cert_yue(pki, serial=b"hot-revoked-01")),
        "INVALID",
        {"REVOKED": "invalid", "NOT_COVERED": "info"},
    )
    # Stale feeds still revoke.
    expect(
        world.verify(pki.certificate(serial=b"hot-revoked-01"), T0 + 3 * DAY),
        "INVALID",
        {"REVOKED": "invalid", "CACHE_STALE": "check"},
    )
    # Only subscribed feeds count.
    assert world.init(["gx"]).code == 0
    expect(world.verify(pki.certificate(serial=b"hot-revoked-01")), "VALID", {})


# --- 6.1 step 7: vehicle status --------------------------------------------------------


def test_record_from_covering_full_feed(ro: World) -> None:
    body = expect(ro.verify(ro.pki.certificate()), "VALID", {})
    assert body["vehicles"] == [
        {
            "plate": "桂A12345",
            "plate_type": "02",
            "valid_through": "2027-06",
            "status": "A",
            "vehicle_type": "K33",
            "feed": "gx",
        }
    ]


def test_not_in_cache(ro: World) -> None:
    body = expect(ro.verify(ro.pki.certificate("桂A99999")), "CHECK", {"NOT_IN_CACHE": "check"})
    assert body["vehicles"] == []
    # The key is (plate, plate_type): the same number with another type is not in cache.
    expect(ro.verify(ro.pki.certificate("桂A12345", "01")), "CHECK", {"NOT_IN_CACHE": "check"})


def test_cache_stale_when_covering_feed_is_stale(ro: World) -> None:
    good = ro.pki.certificate()
    expires = T0 + 2 * DAY
    expect(ro.verify(good, expires - 1), "VALID", {})
    expect(ro.verify(good, expires), "CHECK", {"CACHE_STALE": "check"})
    expect(
        ro.verify(ro.pki.certificate("桂A99999"), expires),
        "CHECK",
        {"CACHE_STALE": "check", "NOT_IN_CACHE": "check"},
    )
    expect(ro.lookup("桂A12345", t=expires), "CHECK", {"CACHE_STALE": "check"})


def test_stale_hotlist_adds_nothing_but_its_records_count(world: World) -> None:
    world.feeds["hot"].publish_snapshot(HOT, expires_at=T0 - 1)
    assert world.sync().code == 0
    pki = world.pki
    expect(world.verify(pki.certificate()), "VALID", {})
    body = expect(world.verify(pki.certificate("桂A00001")), "ALERT", {"STATUS_C": "alert"})
    assert sorted(v["feed"] for v in body["vehicles"]) == ["gx", "hot"]
    # Not covered, and no fresh hotlist: check; the stale hotlist's record counts.
    body = expect(
        world.verify(cert_yue(pki, "粤B99999")),
        "ALERT",
        {"NOT_COVERED": "check", "STATUS_C": "alert"},
    )
    assert [v["feed"] for v in body["vehicles"]] == ["hot"]
    expect(world.lookup("桂A12345"), "VALID", {})


def test_stale_feed_of_another_province_adds_nothing(world: World) -> None:
    world.feed("gd", "full", ["粤"]).publish_snapshot(
        [Vehicle("粤B12345", "02", "2027-06", "A", "K33")], expires_at=T0 - 1
    )
    assert world.init().code == 0  # gx, hot, gd
    assert world.sync().code == 0
    pki = world.pki
    expect(world.verify(pki.certificate()), "VALID", {})
    expect(world.verify(pki.certificate("桂A00001")), "ALERT", {"STATUS_C": "alert"})
    expect(world.lookup("桂A12345"), "VALID", {})
    # It is stale for its own plates.
    expect(world.verify(cert_yue(pki)), "CHECK", {"CACHE_STALE": "check"})
    expect(
        world.verify(cert_yue(pki, "粤B54321")),
        "CHECK",
        {"CACHE_STALE": "check", "NOT_IN_CACHE": "check"},
    )


def test_not_covered_info_with_fresh_hotlist(ro: World) -> None:
    body = expect(ro.verify(cert_yue(ro.pki)), "VALID", {"NOT_COVERED": "info"})
    assert body["vehicles"] == []
    # Once the hotlist is stale (and gx, which does not cover 粤, too): check.
    expect(ro.verify(cert_yue(ro.pki), T0 + 3 * DAY), "CHECK", {"NOT_COVERED": "check"})


def test_not_covered_check_without_hotlist(world: World) -> None:
    assert world.init(["gx"]).code == 0
    expect(world.verify(cert_yue(world.pki)), "CHECK", {"NOT_COVERED": "check"})
    # The unsubscribed hotlist's records do not count either.
    body = expect(world.verify(cert_yue(world.pki, "粤B99999")), "CHECK", {"NOT_COVERED": "check"})
    assert body["vehicles"] == []


def test_hotlist_record_counts(ro: World) -> None:
    text = cert_yue(ro.pki, "粤B99999")
    body = expect(ro.verify(text), "ALERT", {"NOT_COVERED": "info", "STATUS_C": "alert"})
    assert body["vehicles"] == [
        {
            "plate": "粤B99999",
            "plate_type": "02",
            "valid_through": "2027-06",
            "status": "C",
            "vehicle_type": "K33",
            "feed": "hot",
        }
    ]
    expect(ro.verify(text, T0 + 3 * DAY), "ALERT", {"NOT_COVERED": "check", "STATUS_C": "alert"})


@pytest.mark.parametrize("letter", sorted(LETTERS))
def test_status_letter_severity(ro: World, letter: str) -> None:
    severity = LETTERS[letter]
    verdict = VERDICT_FOR[severity]
    plate = letter_plate(letter)
    body = expect(ro.verify(ro.pki.certificate(plate)), verdict, {f"STATUS_{letter}": severity})
    assert [v["status"] for v in body["vehicles"]] == [letter]
    expect(ro.lookup(plate), verdict, {f"STATUS_{letter}": severity})


def test_status_several_letters_and_status_a(ro: World) -> None:
    expect(
        ro.verify(ro.pki.certificate("桂C99999")),
        "ALERT",
        {"STATUS_C": "alert", "STATUS_G": "info", "STATUS_Q": "invalid"},
    )
    expect(
        ro.verify(ro.pki.certificate("桂A54321")),
        "VALID",
        {"STATUS_G": "info", "STATUS_I": "info"},
    )
    # "A" is never reported.
    body = expect(ro.verify(ro.pki.certificate()), "VALID", {})
    assert body["vehicles"][0]["status"] == "A"


def test_status_code_once_for_two_records(ro: World) -> None:
    res = ro.verify(ro.pki.certificate("桂A00001"))
    body = expect(res, "ALERT", {"STATUS_C": "alert"})
    assert [r["code"] for r in body["reasons"]] == ["STATUS_C"]
    assert sorted((v["feed"], v["valid_through"]) for v in body["vehicles"]) == [
        ("gx", "2027-06"),
        ("hot", None),
    ]
    res = ro.lookup("桂A00001")
    body = expect(res, "ALERT", {"STATUS_C": "alert"})
    assert [r["code"] for r in body["reasons"]] == ["STATUS_C"]


# --- 6.1 step 8: inspection validity ---------------------------------------------------


def test_expired_when_latest_has_ended(ro: World) -> None:
    pki = ro.pki
    # Certificate and record both 2026-03.
    expect(
        ro.verify(pki.certificate("桂B88888", valid_through="2026-03")),
        "INVALID",
        {"EXPIRED": "invalid"},
    )
    # No record: the certificate alone.
    expect(
        ro.verify(pki.certificate("桂A99999", valid_through="2026-05")),
        "INVALID",
        {"EXPIRED": "invalid", "NOT_IN_CACHE": "check"},
    )
    # A null record leaves the certificate's month.
    expect(
        ro.verify(pki.certificate("桂A54321", valid_through="2026-03")),
        "INVALID",
        {"EXPIRED": "invalid", "STATUS_G": "info", "STATUS_I": "info"},
    )
    # The certificate's month is later than the record's: the latest counts.
    expect(ro.verify(pki.certificate("桂B88888", valid_through="2027-06")), "VALID", {})


def test_superseded_when_only_certificate_has_ended(ro: World) -> None:
    body = expect(
        ro.verify(ro.pki.certificate(valid_through="2026-03")),
        "VALID",
        {"SUPERSEDED": "info"},
    )
    assert body["certificate"]["valid_through"] == "2026-03"
    assert body["vehicles"][0]["valid_through"] == "2027-06"
    expect(
        ro.verify(ro.pki.certificate("桂A00001", valid_through="2026-03")),
        "ALERT",
        {"SUPERSEDED": "info", "STATUS_C": "alert"},
    )


@pytest.mark.parametrize(
    ("when", "ended"),
    [
        ("2026-05-31T23:59:59+08:00", False),
        ("2026-06-01T00:00:00+08:00", True),
        ("2026-05-31T15:59:59Z", False),
        ("2026-05-31T16:00:00Z", True),
        ("2026-05-31T15:59:59+00:00", False),
        ("2026-06-01T00:00:00.000+08:00", True),
    ],
)
def test_month_boundary_in_cst(ro: World, when: str, ended: bool) -> None:
    pki = ro.pki
    moment = datetime.fromisoformat(when)
    # Certificate 2026-05, record 2026-03: the latest is the certificate's.
    expired = verify_at(ro, pki.certificate("桂B88888", valid_through="2026-05"), when)
    if ended:
        body = expect(expired, "INVALID", {"EXPIRED": "invalid"})
    else:
        body = expect(expired, "VALID", {})
    assert datetime.fromisoformat(body["checked_at"]) == moment
    # Certificate 2026-05, record 2027-06: superseded from the same instant.
    superseded = verify_at(ro, pki.certificate(valid_through="2026-05"), when)
    expect(superseded, "VALID", {"SUPERSEDED": "info"} if ended else {})
    # A record valid through 2026-05 and no certificate: the lookup.
    res = run_cli("lookup", "--json", "--at", when, "桂D20265", data_dir=ro.data_dir)
    if ended:
        expect(res, "INVALID", {"EXPIRED": "invalid"})
    else:
        expect(res, "VALID", {})


# --- 6.2 lookups -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "桂A12345",
        "桂a12345",
        "桂Ａ１２３４５",
        "桂ａ１２３４５",
        "桂A·12345",
        "桂A・12345",
        "桂A 12345",
        "桂A\u300012345",
        " 桂A12345 ",
        "桂A-12345",
        "桂A.12345",
        "桂 a-1 2.3·45",
    ],
)
def test_lookup_normalises_plate(ro: World, typed: str) -> None:
    body = expect(ro.lookup(typed), "VALID", {})
    assert [(v["plate"], v["feed"]) for v in body["vehicles"]] == [("桂A12345", "gx")]
    body = expect(ro.lookup(typed, "02"), "VALID", {})
    assert len(body["vehicles"]) == 1


@pytest.mark.parametrize(
    ("plate", "plate_type"),
    [
        ("桂I12345", None),  # I is not an authority letter
        ("桂A1234", None),
        ("桂A123456", None),
        ("XA12345", None),
        ("A12345", None),
        ("桂AO2345", None),  # O is not a serial character
        ("桂A12345", "2"),
        ("桂A12345", "ABC"),
        ("桂A12345", "002"),
        ("桂A12345", "０２"),
        ("桂A12345", "0a"),
        ("桂A12345", ""),
        ("", None),
    ],
)
def test_lookup_bad_plate(ro: World, plate: str, plate_type: str | None) -> None:
    args = ["lookup", "--json", "--at", at(T0), plate]
    if plate_type is not None:
        args += ["--type", plate_type]
    expect_error(run_cli(*args, data_dir=ro.data_dir), "BAD_PLATE")


def test_lookup_not_covered_is_check_even_with_fresh_hotlist(ro: World) -> None:
    expect(ro.lookup("粤B12345"), "CHECK", {"NOT_COVERED": "check"})
    body = expect(ro.lookup("粤B99999"), "ALERT", {"NOT_COVERED": "check", "STATUS_C": "alert"})
    assert [v["feed"] for v in body["vehicles"]] == ["hot"]


def test_lookup_without_valid_through_is_expired(ro: World) -> None:
    expect(
        ro.lookup("桂A54321"),
        "INVALID",
        {"EXPIRED": "invalid", "STATUS_G": "info", "STATUS_I": "info"},
    )
    expect(
        ro.lookup("桂A54321", "02"),
        "INVALID",
        {"EXPIRED": "invalid", "STATUS_G": "info", "STATUS_I": "info"},
    )
    # A null in the hotlist beside a month in the full feed: the month counts.
    expect(ro.lookup("桂A00001"), "ALERT", {"STATUS_C": "alert"})
    expect(ro.lookup("桂B88888"), "INVALID", {"EXPIRED": "invalid"})


def test_hotlist_month_never_extends_validity(world: World) -> None:
    """SPEC 1.1, 6.1 step 8 and 6.2: only covering full feeds' months count. The
    review's attack: an alert record with a later month turned an expired
    certificate VALID (SUPERSEDED)."""
    world.feeds["hot"].publish_delta(
        [Vehicle("桂B88888", "02", "2099-12", "L", None), Vehicle("粤B77777", "02", None, "N")],
        2,
    )
    sync = world.sync()
    assert sync.code == 0, sync.out
    expect(
        world.verify(world.pki.certificate("桂B88888", valid_through="2026-03")),
        "ALERT",
        {"EXPIRED": "invalid", "STATUS_L": "alert"},
    )
    expect(world.lookup("桂B88888"), "ALERT", {"EXPIRED": "invalid", "STATUS_L": "alert"})
    # A vehicle found only in hotlists gets no step 8 (a null month is no EXPIRED).
    expect(world.lookup("粤B77777"), "ALERT", {"NOT_COVERED": "check", "STATUS_N": "alert"})


def test_lookup_type_tells_same_numbers_apart(world: World) -> None:
    world.feeds["gx"].publish_delta([Vehicle("桂A12345", "01", "2025-01", "A", "K33")], 1)
    sync = world.sync()
    assert sync.code == 0, sync.out
    body = expect(world.lookup("桂A12345"), "INVALID", {"EXPIRED": "invalid"})
    assert sorted(v["plate_type"] for v in body["vehicles"]) == ["01", "02"]
    body = expect(world.lookup("桂A12345", "02"), "VALID", {})
    assert [v["plate_type"] for v in body["vehicles"]] == ["02"]
    expect(world.lookup("桂A12345", "01"), "INVALID", {"EXPIRED": "invalid"})
    expect(world.lookup("桂A12345", "03"), "CHECK", {"NOT_IN_CACHE": "check"})
    # A certificate names its type: only its own record counts.
    expect(world.verify(world.pki.certificate()), "VALID", {})


def test_lookup_without_record_adds_no_expired(ro: World) -> None:
    expect(ro.lookup("桂A99999"), "CHECK", {"NOT_IN_CACHE": "check"})
    expect(ro.lookup("桂A99999", "02"), "CHECK", {"NOT_IN_CACHE": "check"})
    expect(ro.lookup("粤B12345", "02"), "CHECK", {"NOT_COVERED": "check"})


def test_lookup_json_shape(ro: World) -> None:
    res = ro.lookup("桂a-12345")
    body = expect(res, "VALID", {})
    assert set(body) == VERIFY_KEYS
    assert body["certificate"] is None
    assert all(set(v) == VEHICLE_KEYS for v in body["vehicles"])
    assert datetime.fromisoformat(body["checked_at"]).timestamp() == T0


# --- the clock -------------------------------------------------------------------------


def test_clock_floor_from_applied_manifest(world: World) -> None:
    future = int(time.time()) + 400 * DAY
    pki = world.pki
    entries = [
        pki.entry(pki.gui, "cert", ["桂"]),
        pki.entry(pki.yue, "cert", ["粤"]),
        pki.entry(pki.feed, "feed", ["*"], not_after=future + YEAR),
    ]
    world.publish_trust_list(version=2, entries=entries)
    world.feeds["gx"].publish_snapshot(GX, GX_REVOKED, generated_at=future, expires_at=future + DAY)
    sync = world.sync()
    assert sync.code == 0, sync.out
    assert one_json(sync)["feeds"][0]["to_version"] == 2
    for args in (("verify", pki.certificate()), ("lookup", "桂A12345")):
        res = run_cli(args[0], "--json", args[1], data_dir=world.data_dir)
        body = one_json(res)
        checked = datetime.fromisoformat(body["checked_at"])
        assert checked.tzinfo is not None
        assert checked.timestamp() >= future, (args[0], body["checked_at"])
    # --at is taken as given, even far behind the floor.
    for when in (at(T0), "2026-06-01T01:00:00Z"):
        body = expect(verify_at(world, pki.certificate(), when), "VALID", {})
        assert datetime.fromisoformat(body["checked_at"]).timestamp() == T0


# --- the command contract (SPEC 7) -----------------------------------------------------


def test_verify_json_shape(ro: World) -> None:
    pki = ro.pki
    body = expect(ro.verify(pki.certificate("桂A00001")), "ALERT", {"STATUS_C": "alert"})
    assert set(body) == VERIFY_KEYS
    cert = body["certificate"]
    assert set(cert) == CERT_KEYS
    assert cert["plate"] == "桂A00001"
    assert cert["plate_type"] == "02"
    assert cert["valid_through"] == "2027-06"
    assert cert["serial"] == b"serial-0001".hex()
    assert re.fullmatch("[0-9a-f]+", cert["serial"])
    assert cert["kid"] == pki.gui.kid.hex()
    assert re.fullmatch("[0-9a-f]{16}", cert["kid"])
    issued = datetime.fromisoformat(cert["issued_at"])
    assert issued.tzinfo is not None and issued.timestamp() == T0 - 30 * DAY
    assert cert["issuer"] == "桂A车管所"
    assert cert["vehicle_type"] == "K33"
    assert all(set(v) == VEHICLE_KEYS for v in body["vehicles"])
    assert sorted(body["vehicles"], key=lambda v: v["feed"]) == [
        {
            "plate": "桂A00001",
            "plate_type": "02",
            "valid_through": "2027-06",
            "status": "C",
            "vehicle_type": "K33",
            "feed": "gx",
        },
        {
            "plate": "桂A00001",
            "plate_type": "02",
            "valid_through": None,
            "status": "C",
            "vehicle_type": None,
            "feed": "hot",
        },
    ]
    checked = datetime.fromisoformat(body["checked_at"])
    assert checked.tzinfo is not None and checked.timestamp() == T0
    # A serial with upper hex digits still prints in lower case; no vehicle type is null.
    text = pki.certificate(serial=bytes(range(0xF0, 0xFC)), vehicle_type=None)
    cert = expect(ro.verify(text), "VALID", {})["certificate"]
    assert cert["serial"] == "f0f1f2f3f4f5f6f7f8f9fafb"
    assert cert["vehicle_type"] is None


def test_certificate_null_unless_signature_verified(ro: World) -> None:
    pki = ro.pki
    for text in ("hello", "VI1:", "VI1:!!!", "VI1:" + pki.certificate()[4:-1]):
        body = expect(ro.verify(text), "INVALID", {"FORMAT": "invalid"})
        assert body["certificate"] is None and body["vehicles"] == []
    stranger = pki.certificate(key=KeyPair.from_seed(b"stranger"))
    body = expect(ro.verify(stranger), "INVALID", {"UNKNOWN_KEY": "invalid"})
    assert body["certificate"] is None
    body = expect(ro.verify(tampered(pki.certificate())), "INVALID", {"BAD_SIGNATURE": "invalid"})
    assert body["certificate"] is None
    # The signature verified, the key may not issue for 粤: filled.
    body = expect(ro.verify(pki.certificate("粤B12345")), "INVALID", {"KEY_SCOPE": "invalid"})
    assert body["certificate"]["plate"] == "粤B12345"
    assert body["certificate"]["kid"] == pki.gui.kid.hex()
    assert set(body["certificate"]) == CERT_KEYS
    body = expect(
        ro.verify(pki.certificate(issued_at=T0 + 301)), "INVALID", {"NOT_YET_VALID": "invalid"}
    )
    assert body["certificate"]["issued_at"] == at(T0 + 301)


def test_verify_reads_stdin_and_strips_whitespace(ro: World) -> None:
    good = ro.pki.certificate()
    for raw in (good + "\r\n", good + "\n", "  \t" + good + " \r\n", "\r\n" + good):
        res = run_cli(
            "verify", "--json", "--at", at(T0), "-", data_dir=ro.data_dir, stdin=raw.encode()
        )
        expect(res, "VALID", {})
    for raw in (b"", b"\r\n", b"   \n"):
        res = run_cli("verify", "--json", "--at", at(T0), "-", data_dir=ro.data_dir, stdin=raw)
        expect(res, "INVALID", {"FORMAT": "invalid"})
    # The argument is stripped the same way; empty text is FORMAT.
    expect(verify_at(ro, good + "\r\n", at(T0)), "VALID", {})
    expect(verify_at(ro, "", at(T0)), "INVALID", {"FORMAT": "invalid"})
    expect(verify_at(ro, "  ", at(T0)), "INVALID", {"FORMAT": "invalid"})


def test_not_initialised(tmp_path: Path) -> None:
    blank = tmp_path / "blank"
    blank.mkdir()
    for data_dir in (blank, tmp_path / "missing"):
        for args in (
            ("verify", "--json", "--at", at(T0), "VI1:XYZ"),
            ("verify", "--json", "VI1:XYZ"),
            ("lookup", "--json", "--at", at(T0), "桂A12345"),
            ("lookup", "--json", "桂A12345"),
            ("sync", "--json"),
        ):
            expect_error(run_cli(*args, data_dir=data_dir), "NOT_INITIALISED")


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "--json", "--at", "2026-06-01T09:00:00", "TEXT"),
        ("verify", "--json", "--at", "2026-06-01", "TEXT"),
        ("verify", "--json", "--at", "garbage", "TEXT"),
        ("verify", "--json", "--at", "", "TEXT"),
        ("lookup", "--json", "--at", "2026-06-01T09:00:00", "桂A12345"),
        ("lookup", "--json", "--at", "yesterday", "桂A12345"),
        ("verify", "--json", "--at", "2026-06-01T09:00:00+08:00", "--image", "/nonexistent/x.png"),
        ("verify", "--json", "--image", "/nonexistent/x.png"),
    ],
    ids=[
        "at-no-offset",
        "at-date-only",
        "at-garbage",
        "at-empty",
        "lookup-at-no-offset",
        "lookup-at-garbage",
        "image-missing-with-at",
        "image-missing",
    ],
)
def test_bad_input(ro: World, args: tuple[str, ...]) -> None:
    expect_error(run_cli(*args, data_dir=ro.data_dir), "BAD_INPUT")


def test_init_bad_input(tmp_path: Path) -> None:
    root = KeyPair.from_seed(b"root").public.hex()
    server = "http://127.0.0.1:9"
    bad_feeds = ["GX", "a_b", "a" * 33, "", "gx ", "ｇｘ"]
    bad_keys = ["zz", root[:-2], root + "00", "g" * 64, ""]
    cases = [(root, f) for f in bad_feeds] + [(k, "gx") for k in bad_keys]
    for key, feed in cases:
        data_dir = tmp_path / "d"
        res = run_cli(
            "init", "--json", "--root-key", key, "--server", server, "--feed", feed,
            data_dir=data_dir,
        )  # fmt: skip
        expect_error(res, "BAD_INPUT")
        assert not (data_dir / "config.json").exists(), (key, feed)
    # A good feed id among bad ones is still refused; 32 characters is the most.
    res = run_cli(
        "init", "--json", "--root-key", root, "--server", server,
        "--feed", "gx", "--feed", "GX", data_dir=tmp_path / "d",
    )  # fmt: skip
    expect_error(res, "BAD_INPUT")
    res = run_cli(
        "init", "--json", "--root-key", root, "--server", server,
        "--feed", "a" * 32, "--feed", "gx-2", data_dir=tmp_path / "d",
    )  # fmt: skip
    assert res.code == 0, res.out + res.err
    one_json(res)


def test_language_flag(ro: World) -> None:
    good = ro.pki.certificate()
    res = run_cli("verify", "--lang", "zh_CN", "--at", at(T0), good, data_dir=ro.data_dir)
    assert res.code == 0
    assert "有效" in res.out and "桂A12345" in res.out
    res = run_cli("verify", "--lang", "en", "--at", at(T0), good, data_dir=ro.data_dir)
    assert res.code == 0
    assert "VALID" in res.out and "桂A12345" in res.out and "有效" not in res.out
    missing = ro.pki.certificate("桂A99999")
    for lang, chinese in (("zh_CN", True), ("en", False)):
        res = verify_at(ro, missing, at(T0), "--lang", lang)
        body = expect(res, "CHECK", {"NOT_IN_CACHE": "check"})
        assert bool(CJK.search(body["reasons"][0]["message"])) is chinese, body
        res = run_cli(
            "lookup", "--json", "--lang", lang, "--at", at(T0), "桂C00067", data_dir=ro.data_dir
        )
        body = expect(res, "ALERT", {"STATUS_C": "alert"})
        assert bool(CJK.search(body["reasons"][0]["message"])) is chinese, body


def test_language_from_environment(ro: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    good = ro.pki.certificate()
    missing = ro.pki.certificate("桂A99999")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    res = run_cli("verify", "--at", at(T0), good, data_dir=ro.data_dir)
    assert res.code == 0 and "有效" in res.out and "桂A12345" in res.out
    body = expect(verify_at(ro, missing, at(T0)), "CHECK", {"NOT_IN_CACHE": "check"})
    assert CJK.search(body["reasons"][0]["message"])
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    res = run_cli("verify", "--at", at(T0), good, data_dir=ro.data_dir)
    assert res.code == 0 and "VALID" in res.out and "有效" not in res.out
    body = expect(verify_at(ro, missing, at(T0)), "CHECK", {"NOT_IN_CACHE": "check"})
    assert not CJK.search(body["reasons"][0]["message"])


def test_text_mode_prints_verdict_and_plate(ro: World) -> None:
    pki = ro.pki
    cases = [
        (("verify", pki.certificate()), "VALID", "桂A12345"),
        (("verify", pki.certificate("桂A00001")), "ALERT", "桂A00001"),
        (("verify", pki.certificate("桂A99999")), "CHECK", "桂A99999"),
        (("lookup", "桂b-88888"), "INVALID", "桂B88888"),
        (("lookup", "桂a·12345"), "VALID", "桂A12345"),
    ]
    for (command, arg), verdict, plate in cases:
        res = run_cli(command, "--lang", "en", "--at", at(T0), arg, data_dir=ro.data_dir)
        assert res.code == EXIT[verdict], res.out
        assert verdict in res.out and plate in res.out, res.out


# --- as a user runs it -----------------------------------------------------------------

_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from vicheck.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(sys.argv[1:])
    print(json.dumps({"rc": rc, "out": out.getvalue(), "modules": sorted(sys.modules)}))
    """
)
# pathlib (with urllib.parse and ipaddress it costs ~4 ms, a tenth of the budget) too:
# the check path works with str paths. argon2 hashes officers' PINs, at sign-in only: a
# check records its officer (--officer) without it.
HEAVY = (
    "textual", "cv2", "pyzbar", "httpx", "sqlite_utils", "central", "segno", "pathlib", "argon2",
    "onnxruntime", "rapidocr_onnxruntime",  # the plate reader's OCR (issue 16)
    "starlette", "uvicorn",  # the central side's audit endpoint (issue 13)
)  # fmt: skip
PLATE_READING = ("terminal.plates", "terminal.plate_cli")
"""Plate reading (issue 16) is loaded for ``plate`` and ``verify --car`` only."""


def test_verify_and_lookup_import_no_heavy_modules(ro: World) -> None:
    runs = [
        ("verify", "--json", "--at", at(T0), ro.pki.certificate("桂A00001")),
        ("lookup", "--json", "--at", at(T0), "--officer", "010203", "桂A00001"),
    ]
    for args in runs:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, "--data-dir", str(ro.data_dir), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        probe = json.loads(proc.stdout.strip().splitlines()[-1])
        assert probe["rc"] == 5, probe["out"]
        assert json.loads(probe["out"])["verdict"] == "ALERT"
        heavy = [m for m in probe["modules"] if m.split(".")[0] in HEAVY]
        heavy += [m for m in probe["modules"] if m.startswith(PLATE_READING)]
        assert heavy == [], (args[0], heavy)


def test_console_script_matches_in_process(ro: World) -> None:
    script = Path(sys.executable).parent / "vicheck"
    assert script.exists(), script
    env = {**os.environ, "VICHECK_DATA_DIR": str(ro.data_dir)}
    runs = [
        ("verify", "--json", "--at", at(T0), ro.pki.certificate("桂A00001")),
        (
            "verify",
            "--json",
            "--at",
            at(T0),
            ro.pki.certificate("桂B88888", valid_through="2026-03"),
        ),
        ("lookup", "--json", "--at", at(T0), "桂A99999"),
        ("verify", "--json", "--at", at(T0), ro.pki.certificate()),
    ]
    for args in runs:
        proc = subprocess.run(
            [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        mine = run_cli(*args, data_dir=ro.data_dir)
        assert proc.returncode == mine.code, proc.stdout + proc.stderr
        assert json.loads(proc.stdout) == mine.json
    assert [json.loads(run_cli(*a, data_dir=ro.data_dir).out)["verdict"] for a in runs] == [
        "ALERT",
        "INVALID",
        "CHECK",
        "VALID",
    ]


def test_closed_stdin_is_bad_input(world: World) -> None:
    import subprocess
    import sys
    from pathlib import Path

    vicheck = str(Path(sys.executable).parent / "vicheck")
    import os

    done = subprocess.run(  # the child starts with its stdin closed, as under some init systems
        [vicheck, "--data-dir", str(world.data_dir), "verify", "--json", "-"],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"]["code"] == "BAD_INPUT"


@pytest.mark.parametrize("text", ["-x", "--not-an-option", "-VI1:ABC"])
def test_text_starting_with_a_dash_is_judged_as_text(world: World, text: str) -> None:
    result = run_cli("verify", "--json", "--at", at(T0), text, data_dir=world.data_dir)
    assert (result.code, result.codes) == (4, ["FORMAT"])
    assert run_cli("verify", "--json", text, "--at", at(T0), data_dir=world.data_dir).code == 4
