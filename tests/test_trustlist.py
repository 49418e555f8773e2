"""The trust list, SPEC section 3: its signature, its entries, its freshness, and
how sync takes (or refuses) a new one."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from cache.store import Store
from feeds.writer import Vehicle
from keys.cose import parse_sign1, sign1
from keys.keypair import KeyPair
from keys.trustlist import (
    TrustList,
    TrustListError,
    build_trust_list,
    verify_trust_list,
)
from tests.support import DAY, T0, World
from tests.support.certificates import (
    DROP,
    GUI,
    PKI,
    STRANGER,
    assert_format,
    cert_text,
    raw_entry,
    root_signed,
    tl_payload,
)


def test_trust_list_verifies() -> None:
    trust = verify_trust_list(PKI.trust_list(version=7), PKI.root.public)
    assert (trust.version, trust.issued_at, trust.expires_at) == (7, T0 - DAY, T0 + 30 * DAY)
    assert set(trust.keys) == {GUI.kid, PKI.yue.kid, PKI.feed.kid}
    gui = trust.key(GUI.kid)
    assert gui is not None
    assert (gui.public, gui.role, gui.scope, gui.revoked) == (GUI.public, "cert", ("桂",), False)
    assert trust.key(STRANGER.kid) is None


def test_trust_list_signed_by_non_root_key_is_refused() -> None:
    data = build_trust_list(
        version=2,
        issued_at=T0,
        expires_at=T0 + DAY,
        entries=PKI.default_entries(),
        root=GUI.signing_key,
    )
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)
    # Its own key would accept it: only the pinning refuses it.
    assert verify_trust_list(data, GUI.public).version == 2


def test_trust_list_with_root_kid_but_other_signer_is_refused() -> None:
    data = sign1(tl_payload([raw_entry(GUI)]), GUI.signing_key, PKI.root.kid)
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_trust_list_bad_signature_is_refused() -> None:
    data = bytearray(PKI.trust_list())
    data[-1] ^= 0x01  # last signature byte
    with pytest.raises(TrustListError):
        verify_trust_list(bytes(data), PKI.root.public)
    # A well-formed payload (version 9) under the signature made for version 1.
    good = parse_sign1(PKI.trust_list(version=1), 1 << 20)
    other = parse_sign1(PKI.trust_list(version=9), 1 << 20)
    assert other.payload != good.payload
    tampered = cbor2.dumps(cbor2.CBORTag(18, [good.protected, {}, other.payload, good.signature]))
    with pytest.raises(TrustListError):
        verify_trust_list(tampered, PKI.root.public)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(PKI.trust_list()[:-3], id="truncated"),
        pytest.param(PKI.trust_list() + b"\x00", id="trailing-byte"),
        pytest.param(root_signed(cbor2.dumps([1, 2, 3, []])), id="payload-array"),
        pytest.param(root_signed(cbor2.dumps({2: T0, 3: T0, 4: []})), id="no-version"),
        pytest.param(root_signed(cbor2.dumps({1: -1, 2: T0, 3: T0, 4: []})), id="version-neg"),
        pytest.param(root_signed(cbor2.dumps({1: "2", 2: T0, 3: T0, 4: []})), id="version-text"),
        pytest.param(root_signed(cbor2.dumps({1: 1, 2: T0, 3: T0, 4: {}})), id="keys-map"),
        pytest.param(root_signed(cbor2.dumps({1: 1, 2: T0, 4: []})), id="no-expiry"),
        pytest.param(
            root_signed(cbor2.dumps({1: 1, 2: T0, 3: T0, 4: []}) + b"\x00"), id="payload-trailing"
        ),
        pytest.param(root_signed(tl_payload([raw_entry(GUI)])) + b"\x00", id="cose-trailing"),
    ],
)
def test_malformed_trust_list_is_refused(data: bytes) -> None:
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_trust_list_over_one_mebibyte_is_refused() -> None:
    payload = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [raw_entry(GUI)], 99: b"x" * (1 << 20)})
    with pytest.raises(TrustListError):
        verify_trust_list(root_signed(payload), PKI.root.public)
    near = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [raw_entry(GUI)], 99: b"x" * 1000})
    assert verify_trust_list(root_signed(near), PKI.root.public).key(GUI.kid) is not None


def _key(n: int) -> KeyPair:
    return KeyPair.from_seed(b"entry-%d" % n)


BAD_ENTRIES: list[Any] = [
    pytest.param(raw_entry(_key(1), public=DROP), id="missing-public"),
    pytest.param(raw_entry(_key(2), kid=DROP), id="missing-kid"),
    pytest.param(raw_entry(_key(3), role=DROP), id="missing-role"),
    pytest.param(raw_entry(_key(4), scope=DROP), id="missing-scope"),
    pytest.param(raw_entry(_key(5), nb=DROP), id="missing-not-before"),
    pytest.param(raw_entry(_key(6), na=DROP), id="missing-not-after"),
    pytest.param(raw_entry(_key(7), public=_key(7).public[:31]), id="public-31-bytes"),
    pytest.param(raw_entry(_key(8), public=_key(8).public.hex()), id="public-text"),
    pytest.param(raw_entry(_key(9), kid=_key(9).kid[:7]), id="kid-7-bytes"),
    pytest.param(raw_entry(_key(10), kid=_key(11).kid), id="kid-not-matching-public"),
    pytest.param(raw_entry(_key(12), role="ocsp"), id="role-ocsp"),
    pytest.param(raw_entry(_key(13), role=b"cert"), id="role-bytes"),
    pytest.param(raw_entry(_key(14), role="CERT"), id="role-upper-case"),
    pytest.param(raw_entry(_key(15), scope=[""]), id="scope-empty-string"),
    pytest.param(raw_entry(_key(16), scope=["桂", ""]), id="scope-one-empty-string"),
    pytest.param(raw_entry(_key(17), scope="桂"), id="scope-text-not-array"),
    pytest.param(raw_entry(_key(18), scope=[b"\xe6\xa1\x82"]), id="scope-bytes"),
    pytest.param(raw_entry(_key(19), nb="0"), id="not-before-text"),
    pytest.param(raw_entry(_key(20), na=-1), id="not-after-negative"),
    pytest.param(raw_entry(_key(21), na=float(T0)), id="not-after-float"),
    pytest.param(raw_entry(_key(22), nb=True), id="not-before-bool"),
    pytest.param(raw_entry(_key(23), revoked="false"), id="revoked-text"),
    pytest.param(raw_entry(_key(24), revoked=0), id="revoked-int"),
    pytest.param(raw_entry(_key(25), revoked=None), id="revoked-null"),
    pytest.param([_key(26).kid, _key(26).public, "cert", ["*"], 0, T0], id="entry-array"),
    pytest.param(5, id="entry-int"),
    # SPEC 1.1: covers, read for role feed, is an array of non-empty text.
    pytest.param(raw_entry(_key(27), role="feed", covers="桂"), id="covers-text-not-array"),
    pytest.param(raw_entry(_key(28), role="feed", covers=["桂", ""]), id="covers-empty-string"),
    pytest.param(raw_entry(_key(29), role="feed", covers=[b"\xe6\xa1\x82"]), id="covers-bytes"),
    pytest.param(raw_entry(_key(30), role="feed", covers=None), id="covers-null"),
]


@pytest.mark.parametrize("bad", BAD_ENTRIES)
def test_malformed_key_entry_is_ignored(bad: Any) -> None:
    revoked_yue = raw_entry(PKI.yue, scope=["粤"], revoked=True)
    feed = PKI.entry(PKI.feed, "feed", ["gx", "hot"]).to_cbor()
    data = root_signed(tl_payload([raw_entry(GUI), bad, revoked_yue, feed]))
    trust = verify_trust_list(data, PKI.root.public)
    assert set(trust.keys) == {GUI.kid, PKI.yue.kid, PKI.feed.kid}
    assert trust.keys[GUI.kid] == PKI.entry(GUI, "cert", ["桂"])
    assert trust.keys[PKI.yue.kid].revoked is True
    assert trust.keys[PKI.feed.kid].scope == ("gx", "hot")


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(raw_entry(GUI), id="same-entry"),
        pytest.param(raw_entry(GUI, scope=["粤"], role="feed"), id="other-content"),
        pytest.param(raw_entry(GUI, role="ocsp"), id="twin-would-be-ignored"),
    ],
)
def test_kid_twice_refuses_the_list(second: dict[int, Any]) -> None:
    data = root_signed(tl_payload([raw_entry(GUI), raw_entry(PKI.yue), second]))
    with pytest.raises(TrustListError):
        verify_trust_list(data, PKI.root.public)


def test_unknown_trust_list_keys_and_extra_entry_keys_are_tolerated() -> None:
    entry = raw_entry(GUI)
    entry[8] = "future"
    payload = cbor2.dumps({1: 1, 2: T0, 3: T0 + DAY, 4: [entry], 5: "future"})
    assert verify_trust_list(root_signed(payload), PKI.root.public).key(GUI.kid) is not None


def test_key_entry_covers_plate() -> None:
    province = PKI.entry(GUI, "cert", ["桂"])
    city = PKI.entry(GUI, "cert", ["桂A"])
    everything = PKI.entry(GUI, "cert", ["*"])
    several = PKI.entry(GUI, "cert", ["桂B", "粤"])
    assert province.covers_plate("桂A12345") and province.covers_plate("桂B88888")
    assert not province.covers_plate("粤A12345")
    assert city.covers_plate("桂A12345")
    assert not city.covers_plate("桂B12345")
    assert everything.covers_plate("桂A12345") and everything.covers_plate("京12345应急")
    assert several.covers_plate("桂B12345") and several.covers_plate("粤Z1234港")
    assert not several.covers_plate("桂A12345")


def test_key_entry_covers_feed() -> None:
    gx = PKI.entry(PKI.feed, "feed", ["gx"])
    assert gx.covers_feed("gx")
    assert not gx.covers_feed("gx2")  # equality, never a prefix
    assert not gx.covers_feed("g")
    assert not gx.covers_feed("hot")
    star = PKI.entry(PKI.feed, "feed", ["*"])
    assert star.covers_feed("gx") and star.covers_feed("anything-else")
    both = PKI.entry(PKI.feed, "feed", ["gx", "hot"])
    assert both.covers_feed("hot") and not both.covers_feed("yue")


def test_key_entry_covers_scope() -> None:
    """SPEC 4.3 step 1 (1.1): each scope prefix starts with a covers entry, or covers
    is "*"; only "*" allows scope "*"; no covers allows no full feed."""
    gui = PKI.entry(PKI.feed, "feed", ["*"], covers=["桂"])
    assert gui.covers_scope(["桂"]) and gui.covers_scope(["桂A", "桂B"])
    assert not gui.covers_scope(["粤"]) and not gui.covers_scope(["桂", "粤"])
    assert not gui.covers_scope(["*"])
    star = PKI.entry(PKI.feed, "feed", ["*"], covers=["*"])
    assert star.covers_scope(["*"]) and star.covers_scope(["粤", "桂A"])
    none = PKI.entry(PKI.feed, "feed", ["*"], covers=[])
    assert not none.covers_scope(["桂"]) and not none.covers_scope(["*"])
    city = PKI.entry(PKI.feed, "feed", ["*"], covers=["桂A"])
    assert city.covers_scope(["桂A"]) and not city.covers_scope(["桂"])
    # No covers signs no full feed, not even an empty scope (the review's case).
    assert not none.covers_scope([]) and gui.covers_scope([])


def test_covers_round_trips_and_is_read_for_feed_keys_only() -> None:
    feed = PKI.entry(PKI.feed, "feed", ["gx"], covers=["桂", "粤A"])
    no_covers = PKI.entry(PKI.yue, "feed", ["hot"], covers=[])
    cert = raw_entry(GUI, covers="not even an array")  # ignored on a cert key
    data = root_signed(tl_payload([cert, feed.to_cbor(), no_covers.to_cbor()]))
    trust = verify_trust_list(data, PKI.root.public)
    assert trust.keys[PKI.feed.kid].covers == ("桂", "粤A")
    assert trust.keys[PKI.yue.kid].covers == ()
    assert 8 not in no_covers.to_cbor()  # absent means none
    assert trust.keys[GUI.kid] == PKI.entry(GUI, "cert", ["桂"])


def test_key_entry_window_includes_both_ends() -> None:
    entry = PKI.entry(GUI, "cert", ["桂"], not_before=1000, not_after=2000)
    assert entry.in_window(1000) and entry.in_window(2000) and entry.in_window(1500)
    assert not entry.in_window(999)
    assert not entry.in_window(2001)


def test_trust_list_freshness() -> None:
    trust = verify_trust_list(PKI.trust_list(expires_at=T0), PKI.root.public)
    assert isinstance(trust, TrustList)
    assert trust.is_fresh(T0 - 1)
    assert not trust.is_fresh(T0)


def test_trust_list_sync_rollback_and_equal_version(empty_world: World) -> None:
    w = empty_world
    w.publish_trust_list(version=5)
    w.feed("gx").publish_snapshot([Vehicle("桂A12345", "02", "2027-06", "A", "K33")])
    assert w.init().code == 0
    first = w.sync()
    assert first.code == 0, first.out
    assert first.json["trust_list"] == {"status": "updated", "version": 5}
    gui_cert = cert_text()
    assert w.verify(gui_cert).codes == []

    # A lower version, without the 桂 key: refused as a rollback.
    w.publish_trust_list(version=3, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    rollback = w.sync()
    assert rollback.code == 6
    report = rollback.json["trust_list"]
    assert (report["status"], report["version"]) == ("failed", 5)
    assert report.get("error")
    assert [f["status"] for f in rollback.json["feeds"]] == ["current"]
    store = Store.open(w.data_dir)
    try:
        held = store.trust_list()
        assert held is not None and held.version == 5 and held.key(GUI.kid) is not None
    finally:
        store.close()
    assert w.verify(gui_cert).codes == []

    # An equal version changes nothing, even with other contents.
    w.publish_trust_list(version=5, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    equal = w.sync()
    assert equal.code == 0, equal.out
    assert equal.json["trust_list"] == {"status": "current", "version": 5}
    assert w.verify(gui_cert).codes == []

    # A bad signature is refused and also changes nothing.
    data = bytearray(PKI.trust_list(version=9, entries=[]))
    data[-1] ^= 0x80
    (w.root / "trustlist.cose").write_bytes(bytes(data))
    bad = w.sync()
    assert bad.code == 6
    assert (bad.json["trust_list"]["status"], bad.json["trust_list"]["version"]) == ("failed", 5)
    assert w.verify(gui_cert).codes == []

    # A higher version is taken: the 桂 key is now unknown.
    w.publish_trust_list(version=6, entries=[PKI.entry(PKI.feed, "feed", ["*"])])
    newer = w.sync()
    assert newer.json["trust_list"] == {"status": "updated", "version": 6}
    assert w.verify(gui_cert).codes == ["UNKNOWN_KEY"]


def test_no_trust_list_ever_verified(empty_world: World) -> None:
    w = empty_world
    assert w.init(["gx"]).code == 0
    sync = w.sync()
    assert sync.code == 6
    assert sync.json["trust_list"]["status"] == "failed"
    result = w.verify(cert_text())
    assert (result.code, result.codes, result.json["verdict"]) == (3, ["NO_TRUST_LIST"], "CHECK")
    assert result.json["certificate"] is None
    assert_format(w.verify("VI1:hello"))
