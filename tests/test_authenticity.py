"""Authenticity: SPEC 6.1 steps 3 to 5 (unknown key, signature, key revoked, scope,
window), through the CLI."""

from __future__ import annotations

from keys.certificate import read_qr_text
from keys.trustlist import (
    KeyEntry,
)
from tests.support import DAY, T0, YEAR, CliResult, World
from tests.support.certificates import (
    GUI,
    PAYLOAD,
    PKI,
    PROTECTED,
    STRANGER,
    VALID_COSE,
    cert_text,
    envelope,
    good_signature,
    qr,
    raw_entry,
    root_signed,
    tl_payload,
)


def publish(world: World, version: int, entries: list[KeyEntry]) -> None:
    world.publish_trust_list(version=version, entries=entries)
    result = world.sync()
    assert result.json["trust_list"] == {"status": "updated", "version": version}, result.out


def step5_result(result: CliResult, codes: list[str], plate: str = "桂A12345") -> None:
    """Step 5 stops after reporting: certificate filled, nothing about status."""
    assert result.code == 4, result.out + result.err
    body = result.json
    assert body["verdict"] == "INVALID"
    assert result.codes == sorted(codes)
    assert body["certificate"] is not None
    assert body["certificate"]["plate"] == plate
    assert body["vehicles"] == []


def test_unknown_key_fresh_and_stale(shared_world: World) -> None:
    text = cert_text(key=STRANGER)
    fresh = shared_world.verify(text)
    assert (fresh.code, fresh.json["verdict"], fresh.codes) == (4, "INVALID", ["UNKNOWN_KEY"])
    assert fresh.json["reasons"][0]["severity"] == "invalid"
    assert fresh.json["certificate"] is None
    assert fresh.json["vehicles"] == []
    # expires_at is T0 + 30 days: stale from that very second on.
    for t in (T0 + 30 * DAY, T0 + 90 * DAY):
        stale = shared_world.verify(text, t=t)
        assert (stale.code, stale.json["verdict"]) == (3, "CHECK")
        assert stale.codes == ["TRUST_STALE", "UNKNOWN_KEY"]
        assert {r["severity"] for r in stale.json["reasons"]} == {"check"}
        assert stale.json["certificate"] is None
    just_fresh = shared_world.verify(text, t=T0 + 30 * DAY - 1)
    assert (just_fresh.code, just_fresh.codes) == (4, ["UNKNOWN_KEY"])


def test_bad_signature(shared_world: World) -> None:
    assert VALID_COSE.count(b"12345") == 1
    flipped = VALID_COSE.replace(b"12345", b"12346")  # one payload byte, still well formed
    assert read_qr_text(qr(flipped)).certificate.plate == "桂A12346"
    texts = [
        qr(flipped),
        qr(VALID_COSE[:-1] + bytes([VALID_COSE[-1] ^ 1])),  # one signature bit
        # the 粤 key's signature, sent under the 桂 kid
        qr(envelope(signature=good_signature(PROTECTED, PAYLOAD, key=PKI.yue))),
    ]
    for text in texts:
        result = shared_world.verify(text)
        assert (result.code, result.json["verdict"], result.codes) == (
            4,
            "INVALID",
            ["BAD_SIGNATURE"],
        )
        assert result.json["certificate"] is None
        assert result.json["vehicles"] == []


def test_bad_signature_with_stale_trust_list(shared_world: World) -> None:
    flipped = VALID_COSE.replace(b"12345", b"12346")
    result = shared_world.verify(qr(flipped), t=T0 + 31 * DAY)
    assert (result.code, result.codes) == (4, ["BAD_SIGNATURE", "TRUST_STALE"])
    assert result.json["certificate"] is None


def test_key_revoked(world: World) -> None:
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"], revoked=True),
            PKI.entry(PKI.yue, "cert", ["粤"]),
            PKI.entry(PKI.feed, "feed", ["*"]),
        ],
    )
    step5_result(world.verify(cert_text()), ["KEY_REVOKED"])


def test_key_scope(shared_world: World) -> None:
    # The 粤 key signing a 桂 plate, for a stolen car with a revoked serial: still only
    # KEY_SCOPE, because step 5 stops before serials and status.
    text = cert_text({-1: "桂A00001", 7: b"revoked-serial-1"}, key=PKI.yue)
    step5_result(shared_world.verify(text), ["KEY_SCOPE"], plate="桂A00001")
    # The feed key (role feed, scope *) signing a certificate.
    step5_result(shared_world.verify(cert_text(key=PKI.feed)), ["KEY_SCOPE"])
    # The 粤 key on its own plate is fine.
    yue = shared_world.verify(cert_text({-1: "粤B12345"}, key=PKI.yue))
    assert "KEY_SCOPE" not in yue.codes
    assert yue.json["certificate"]["plate"] == "粤B12345"


def test_key_scope_city_prefix(world: World) -> None:
    publish(
        world,
        2,
        [PKI.entry(GUI, "cert", ["桂B"]), PKI.entry(PKI.feed, "feed", ["*"])],
    )
    step5_result(world.verify(cert_text()), ["KEY_SCOPE"])
    ok = world.verify(cert_text({-1: "桂B88888", -4: "2027-03"}))
    assert (ok.code, ok.codes) == (0, []), ok.out


def test_key_expired_window_ends_inclusive(world: World) -> None:
    nb, na = T0 - 100 * DAY, T0 - 10 * DAY
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"], not_before=nb, not_after=na),
            PKI.entry(PKI.feed, "feed", ["*"]),
        ],
    )
    for iat in (nb, nb + 1, na - 1, na):
        result = world.verify(cert_text({6: iat}))
        assert (result.code, result.codes) == (0, []), (iat, result.out)
    for iat in (nb - 1, na + 1, 0):
        step5_result(world.verify(cert_text({6: iat})), ["KEY_EXPIRED"])


def test_key_expired_with_default_window(shared_world: World) -> None:
    step5_result(shared_world.verify(cert_text({6: T0 - 2 * YEAR - 1})), ["KEY_EXPIRED"])
    ok = shared_world.verify(cert_text({6: T0 - 2 * YEAR}))
    assert (ok.code, ok.codes) == (0, [])


def test_not_yet_valid_after_300_seconds(shared_world: World) -> None:
    ok = shared_world.verify(cert_text({6: T0 + 300}))
    assert (ok.code, ok.codes) == (0, [])
    step5_result(shared_world.verify(cert_text({6: T0 + 301})), ["NOT_YET_VALID"])
    # The check follows the checking time, not the issuing time alone.
    later = shared_world.verify(cert_text({6: T0 + 3600}), t=T0 + 3300)
    assert (later.code, later.codes) == (0, [])


def test_far_future_iat_still_gets_a_verdict(shared_world: World) -> None:
    """SPEC 2: iat is any uint below 2^63; SPEC 6.1 step 5 makes a far-future one
    NOT_YET_VALID (and KEY_EXPIRED past not_after): INVALID, exit 4, the certificate
    filled — not exit 1 for "anything unexpected"."""
    for iat in (253402300800, 2**63 - 1):  # year 10000, and the largest uint
        result = shared_world.verify(cert_text({6: iat}))
        assert result.code == 4, (iat, result.out, result.err)
        assert result.codes == ["KEY_EXPIRED", "NOT_YET_VALID"]
        assert result.json["certificate"] is not None


def test_all_step5_reasons_together(world: World) -> None:
    nb, na = T0 - 100 * DAY, T0 - 10 * DAY
    publish(
        world,
        2,
        [
            PKI.entry(GUI, "cert", ["桂"]),
            PKI.entry(PKI.yue, "cert", ["粤"], revoked=True, not_before=nb, not_after=na),
            PKI.entry(PKI.feed, "feed", ["*"], revoked=True),
        ],
    )
    changes = {-1: "桂A00001", 7: b"revoked-serial-1", 6: T0 + 60 * DAY, -4: "2020-01"}
    every = ["KEY_EXPIRED", "KEY_REVOKED", "KEY_SCOPE", "NOT_YET_VALID"]
    step5_result(world.verify(cert_text(changes, key=PKI.yue)), every, plate="桂A00001")
    # Two at a time: revoked and expired, in scope, issued in the past.
    two = world.verify(cert_text({-1: "粤B12345", 6: na + 1}, key=PKI.yue))
    step5_result(two, ["KEY_EXPIRED", "KEY_REVOKED"], plate="粤B12345")
    # The feed key: wrong role and revoked.
    step5_result(world.verify(cert_text(key=PKI.feed)), ["KEY_REVOKED", "KEY_SCOPE"])
    # With a stale trust list, TRUST_STALE joins them (and nothing else does).
    stale = world.verify(cert_text(changes, key=PKI.yue), t=T0 + 40 * DAY)
    assert stale.code == 4
    assert stale.codes == sorted([*every, "TRUST_STALE"])
    assert stale.json["certificate"] is not None
    assert stale.json["vehicles"] == []


def test_ignored_entry_makes_its_key_unknown(world: World) -> None:
    entries = [
        raw_entry(GUI, scope=[""]),
        raw_entry(PKI.yue, scope=["粤"]),
        PKI.entry(PKI.feed, "feed", ["*"]).to_cbor(),
    ]
    (world.root / "trustlist.cose").write_bytes(root_signed(tl_payload(entries, version=2)))
    assert world.sync().json["trust_list"] == {"status": "updated", "version": 2}
    result = world.verify(cert_text())
    assert (result.code, result.codes) == (4, ["UNKNOWN_KEY"])
    assert "KEY_SCOPE" not in world.verify(cert_text({-1: "粤B12345"}, key=PKI.yue)).codes
