"""The audit format (docs/audit.md): one encoding per entry, a chain that names the
first entry that does not fit, a head only the device key can sign, and an upload
body both sides read the same way."""

from __future__ import annotations

import base64
import json

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from audit.chain import (
    GENESIS,
    AuditFormatError,
    Entry,
    decode,
    device_id,
    encode,
    entry_hash,
    head_message,
    is_device_id,
    sign_head,
    verify_chain,
    verify_head,
)
from audit.wire import (
    BAD_REQUEST,
    MAX_BODY_BYTES,
    TOO_LARGE,
    Head,
    WireError,
    batches,
    decode_answer,
    decode_upload,
    encode_answer,
    encode_upload,
)

KEY = SigningKey(bytes(range(32)))
DEVICE = device_id(bytes(KEY.verify_key))


def entry(seq: int = 1, prev: bytes = GENESIS, **fields: object) -> Entry:
    base: dict[str, object] = {
        "seq": seq,
        "time": 1_700_000_000 + seq,
        "officer": "010203",
        "how": "camera",
        "plate": "桂A12345",
        "plate_type": "02",
        "serial": "00112233445566778899aabbccddeeff",
        "verdict": "VALID",
        "reasons": (),
        "trust_list": 3,
        "feeds": (("gx", 7), ("hot", 2)),
        "prev": prev,
    }
    base.update(fields)
    return Entry(**base)  # type: ignore[arg-type]


def chain(n: int) -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        out.append(entry(seq, prev, verdict=("VALID", "CHECK")[seq % 2]))
        prev = entry_hash(out[-1])
    return out


# --- the encoding ---------------------------------------------------------------


def test_the_documented_example_encodes_to_its_bytes() -> None:
    """docs/audit.md's example, byte for byte: another implementation can check
    itself against it."""
    example = Entry(1, 1_700_000_000, None, "lookup", "桂A12345", "02", None, "VALID", (), 3,
                    (("gx", 1),), GENESIS)  # fmt: skip
    want = (
        "ac0001011a6553f10002f603666c6f6f6b75700469e6a1824131323334350562303206f607"
        "6556414c4944088009030a8182626778010b5820" + "00" * 32
    )
    assert encode(example).hex() == want
    assert decode(bytes.fromhex(want)) == example


@given(
    seq=st.integers(1, 2**63 - 1),
    time=st.integers(0, 2**63 - 1),
    officer=st.none() | st.text(min_size=1, max_size=64),
    how=st.sampled_from(["camera", "wedge", "typed", "lookup", "image"]),
    reasons=st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=5).map(tuple),
    feeds=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 2**40), max_size=4),
    prev=st.binary(min_size=32, max_size=32),
)
def test_decode_gives_back_what_was_encoded(
    seq: int, time: int, officer: str | None, how: str, reasons: tuple[str, ...],
    feeds: dict[str, int], prev: bytes,
) -> None:  # fmt: skip
    e = entry(seq, prev, time=time, officer=officer, how=how, reasons=reasons,
              feeds=tuple(sorted(feeds.items())))  # fmt: skip
    assert decode(encode(e)) == e


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: {**m, 12: 1},  # an extra key
        lambda m: {k: v for k, v in m.items() if k != 2},  # a missing key
        lambda m: {**m, 3: "telepathy"},  # an unknown how
        lambda m: {**m, 7: "FINE"},  # an unknown verdict
        lambda m: {**m, 0: 0},  # seq 0
        lambda m: {**m, 1: 1.5},  # a float time
        lambda m: {**m, 1: True},  # a bool for an int
        lambda m: {**m, 11: b"\0" * 31},  # a short prev
        lambda m: {**m, 10: [["hot", 2], ["gx", 7]]},  # feeds unsorted
        lambda m: {**m, 8: ["X", "X"]},  # a reason twice
        lambda m: {**m, 4: ""},  # an empty plate
        lambda m: {**m, "4": m[4]},  # a text key
    ],
)
def test_decode_refuses_what_is_not_an_entry(tamper: object) -> None:
    raw = cbor2.loads(encode(entry()))
    with pytest.raises(AuditFormatError):
        decode(cbor2.dumps(tamper(raw), canonical=True))  # type: ignore[operator]


def test_an_entry_is_immutable_and_checked_when_made_or_changed() -> None:
    e = entry()
    with pytest.raises(AttributeError):
        e.seq = 2  # type: ignore[misc]
    for bad in ({"how": "x"}, {"seq": 0}, {"prev": b""}, {"reasons": ["A"]}):
        with pytest.raises(AuditFormatError):
            e.replace(**bad)
    assert e.replace(verdict="ALERT").verdict == "ALERT" and e.verdict == "VALID"


def test_decode_refuses_a_second_encoding_of_the_same_entry() -> None:
    """Keys out of order, or an integer in a longer form, would give one entry two
    hashes: refused."""
    good = encode(entry())
    raw = cbor2.loads(good)
    reordered = cbor2.dumps(dict(reversed(list(raw.items()))))
    assert reordered != good and cbor2.loads(reordered) == raw
    longer = good.replace(b"\x00\x01", b"\x00\x18\x01", 1)  # seq 1 in two bytes
    for data in (reordered, longer, good + b"\x00", good[:-1]):
        with pytest.raises(AuditFormatError):
            decode(data)


# --- the chain and the head --------------------------------------------------------


def test_a_chain_that_fits_has_no_break() -> None:
    assert verify_chain(chain(5), prev=GENESIS, first_seq=1) is None
    assert verify_chain(chain(5)[2:], prev=entry_hash(chain(5)[1]), first_seq=3) is None


def test_each_kind_of_tampering_names_the_first_entry_that_does_not_fit() -> None:
    c = chain(6)
    edited = [*c[:3], c[3].replace(verdict="ALERT"), *c[4:]]
    broken = verify_chain(edited, prev=GENESIS, first_seq=1)
    assert broken is not None and (broken.seq, broken.problem) == (5, "PREV")
    deleted = c[:2] + c[3:]
    broken = verify_chain(deleted, prev=GENESIS, first_seq=1)
    assert broken is not None and (broken.seq, broken.found, broken.problem) == (3, 4, "SEQ")
    swapped = [c[0], c[2], c[1], *c[3:]]
    broken = verify_chain(swapped, prev=GENESIS, first_seq=1)
    assert broken is not None and (broken.seq, broken.found) == (2, 3)
    renumbered = [*c[:2], c[2].replace(seq=3, prev=GENESIS), *c[3:]]
    broken = verify_chain(renumbered, prev=GENESIS, first_seq=1)
    assert broken is not None and (broken.seq, broken.problem) == (3, "PREV")
    assert "entry 3" in broken.describe()


def test_only_the_device_key_signs_a_head_that_verifies() -> None:
    last = chain(3)[-1]
    signature = sign_head(DEVICE, last, KEY)
    public = bytes(KEY.verify_key)
    assert verify_head(DEVICE, last, signature, public)
    other = SigningKey(bytes(32))
    assert not verify_head(DEVICE, last, sign_head(DEVICE, last, other), public)
    assert not verify_head(DEVICE, last.replace(plate="桂A99999"), signature, public)
    assert not verify_head(device_id(b"other"), last, signature, public)
    assert not verify_head(DEVICE, last, signature[:-1], public)


def test_the_head_message_is_domain_separated_and_fixed() -> None:
    message = head_message(DEVICE, 258, b"\xab" * 32)
    assert message == b"vicheck-audit-head-v1\0" + DEVICE.encode() + b"\0" + bytes(
        [0, 0, 0, 0, 0, 0, 1, 2]
    ) + b"\xab" * 32  # fmt: skip
    with pytest.raises(AuditFormatError):
        head_message("Not/A/Device", 1, b"\0" * 32)


def test_device_ids_are_url_safe_names_of_the_key() -> None:
    assert DEVICE.startswith("vt-") and len(DEVICE) == 19 and is_device_id(DEVICE)
    assert device_id(bytes(KEY.verify_key)) == DEVICE != device_id(bytes(32))
    assert not is_device_id("vt-ABCDEF0123456789") and not is_device_id("vt-../../etc")


# --- the upload body ---------------------------------------------------------------


def _upload(entries: list[Entry]) -> bytes:
    last = entries[-1]
    head = Head(last.seq, entry_hash(last), sign_head(DEVICE, last, KEY))
    return encode_upload(DEVICE, entries, head)


def test_an_upload_decodes_to_its_entries_and_head() -> None:
    entries = chain(4)[1:]
    upload = decode_upload(_upload(entries), DEVICE)
    assert upload.device == DEVICE and list(upload.entries) == entries
    assert verify_head(DEVICE, upload.entries[-1], upload.head.signature, bytes(KEY.verify_key))


def _edit(body: bytes, change: object) -> bytes:
    obj = json.loads(body)
    change(obj)  # type: ignore[operator]
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.update(device="vt-0000000000000000"),  # not the URL's
        lambda o: o.update(entries=[]),
        lambda o: o["entries"].reverse(),  # descending
        lambda o: o["entries"].pop(1),  # a gap
        lambda o: o["entries"].__setitem__(0, "!!!"),  # not base64
        lambda o: o["entries"].__setitem__(0, base64.b64encode(b"\xa0").decode()),
        lambda o: o["head"].update(seq=2),  # head not the last entry
        lambda o: o["head"].update(hash="00" * 32),
        lambda o: o["head"].update(signature="AB" * 64),  # upper-case hex
        lambda o: o.pop("head"),
    ],
)
def test_an_upload_that_is_not_the_format_is_a_bad_request(change: object) -> None:
    with pytest.raises(WireError) as refused:
        decode_upload(_edit(_upload(chain(3)), change), DEVICE)
    assert refused.value.code == BAD_REQUEST


def test_bounds_are_too_large() -> None:
    with pytest.raises(WireError) as refused:
        decode_upload(b" " * (MAX_BODY_BYTES + 1))
    assert refused.value.code == TOO_LARGE
    with pytest.raises(WireError) as refused:
        decode_upload(b"[]")
    assert refused.value.code == BAD_REQUEST


def test_batches_keep_within_the_bounds_and_the_order() -> None:
    entries = chain(25_000)
    sent = list(batches(entries))
    assert [len(b) for b in sent] == [10_000, 10_000, 5_000]
    assert [e for b in sent for e in b] == entries
    assert len(_upload(sent[0])) <= MAX_BODY_BYTES


def test_answers_both_ways() -> None:
    assert decode_answer(200, encode_answer(17)).held == 17
    refusal = decode_answer(409, encode_answer(11, "GAP", "expected entry 12"))
    assert (refusal.held, refusal.error, refusal.detail) == (11, "GAP", "expected entry 12")
    for status, body in [(200, b"<html>"), (502, b"Bad Gateway"), (409, b'{"held": 3}'),
                         (200, b'{"held": -1}'), (200, b'{"held": true}')]:  # fmt: skip
        with pytest.raises(WireError):
            decode_answer(status, body)
