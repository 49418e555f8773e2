"""Fuzzing the QR-text parser: any text, random bytes, mutated certificates and
wrong claim types end in a verdict, never an exception (through the verdict engine
the CLI calls)."""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cache.store import Store
from keys.cose import parse_sign1
from terminal.clock import Clock
from terminal.verdict import Checker, CheckResult
from tests.support import T0, World
from tests.support.certificates import (
    GUI,
    PAYLOAD,
    VALID_COSE,
    qr,
    signed_cose,
)
from tests.support.plates import INVALID_PLATES, VALID_PLATES

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
AUTH_FAILURES = {"FORMAT", "UNKNOWN_KEY", "BAD_SIGNATURE"}


def check(world: World, text: str) -> CheckResult:
    """The verdict engine the CLI uses, on the world's data dir, at T0."""
    store = Store.open(world.data_dir)
    try:
        return Checker(store, ["gx", "hot"], Clock(at=T0)).verify(text)
    finally:
        store.close()


def codes_of(result: CheckResult) -> list[str]:
    return sorted(r.code for r in result.reasons)


@FUZZ
@given(text=st.one_of(st.text(), st.text().map(lambda s: "VI1:" + s)))
def test_fuzz_arbitrary_text(world: World, text: str) -> None:
    result = check(world, text)
    assert isinstance(result, CheckResult)
    assert codes_of(result) == ["FORMAT"]
    assert result.verdict.name == "INVALID"
    assert result.certificate is None


@FUZZ
@given(data=st.binary(max_size=1100))
def test_fuzz_base45_of_random_bytes(world: World, data: bytes) -> None:
    result = check(world, qr(data))
    assert isinstance(result, CheckResult)
    codes = codes_of(result)
    assert len(codes) == 1 and codes[0] in AUTH_FAILURES
    assert result.certificate is None


@st.composite
def mutated_cose(draw: st.DrawFn) -> bytes:
    """One edit of the valid certificate's COSE bytes: anywhere, or aimed at the kid
    (for UNKNOWN_KEY) or at the payload (for BAD_SIGNATURE)."""
    data = bytearray(VALID_COSE)
    kind = draw(st.sampled_from(["replace", "truncate", "insert", "delete", "kid", "payload"]))
    if kind == "replace":
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        data.insert(draw(st.integers(0, len(data))), draw(st.integers(0, 255)))
    elif kind == "delete":
        del data[draw(st.integers(0, len(data) - 1))]
    else:
        part = GUI.kid if kind == "kid" else PAYLOAD
        start = VALID_COSE.index(part)
        data[draw(st.integers(start, start + len(part) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(data=mutated_cose())
def test_fuzz_mutated_certificate(world: World, data: bytes) -> None:
    result = check(world, qr(data))
    assert isinstance(result, CheckResult)
    codes = codes_of(result)
    event(f"codes: {codes}")
    if data == VALID_COSE:
        assert (result.verdict.name, codes) == ("VALID", [])
        return
    # Anything else that still checks out must carry exactly the signed bytes.
    if not codes:
        parsed = parse_sign1(data, 1024)
        original = parse_sign1(VALID_COSE, 1024)
        assert (parsed.protected, parsed.payload, parsed.signature) == (
            original.protected,
            original.payload,
            original.signature,
        )
        return
    assert len(codes) == 1 and codes[0] in AUTH_FAILURES, codes
    assert result.verdict.name == "INVALID"
    assert result.certificate is None


_WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.integers(0, 9), st.integers(0, 9), max_size=1),
)
_MONTH = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 9999), st.integers(1, 12))
_CLAIM_STRATEGIES = {
    1: (st.text(max_size=12), st.one_of(_WRONG, st.binary(max_size=4), st.integers())),
    6: (
        st.integers(0, 2**63 - 1),
        st.one_of(
            _WRONG, st.integers(-(2**64), -1), st.integers(2**63, 2**64 - 1), st.text(max_size=3)
        ),
    ),
    7: (
        st.binary(min_size=8, max_size=16),
        st.one_of(
            _WRONG,
            st.binary(max_size=7),
            st.binary(min_size=17, max_size=24),
            st.text(min_size=8, max_size=16),
        ),
    ),
    -1: (
        st.sampled_from(VALID_PLATES),
        st.one_of(
            _WRONG,
            st.sampled_from(INVALID_PLATES),
            st.sampled_from(VALID_PLATES).map(str.encode),
        ),
    ),
    -2: (
        st.from_regex(r"\A[0-9]{2}\Z"),
        st.one_of(_WRONG, st.text(max_size=3).filter(lambda s: not s.isascii() or len(s) != 2)),
    ),
    -4: (
        _MONTH,
        st.one_of(_WRONG, _MONTH.map(lambda m: m[2:]), st.sampled_from(["2026-13", "2026-6"])),
    ),
}
_OPTIONAL_STRATEGIES = {
    -3: (st.text(max_size=4), st.one_of(_WRONG, st.integers(), st.binary(max_size=3))),
    -5: (st.integers(0, 2**63 - 1), st.one_of(_WRONG, st.integers(max_value=-1), st.text())),
}


@st.composite
def claim_sets(draw: st.DrawFn) -> tuple[dict[int, Any], bool]:
    """Claims, none to three of them wrong or missing; the second value says whether
    any is."""
    spoilt = draw(st.sets(st.sampled_from([*_CLAIM_STRATEGIES, *_OPTIONAL_STRATEGIES]), max_size=3))
    out: dict[int, Any] = {}
    for key, (good, wrong) in _CLAIM_STRATEGIES.items():
        if key not in spoilt:
            out[key] = draw(good)
        elif draw(st.booleans()):
            out[key] = draw(wrong)  # else: missing
    for key, (good, wrong) in _OPTIONAL_STRATEGIES.items():
        if key in spoilt:
            out[key] = draw(wrong)
        elif draw(st.booleans()):
            out[key] = draw(good)  # else: absent, which is fine
    return out, bool(spoilt)


@FUZZ
@given(case=claim_sets())
def test_fuzz_claim_types(world: World, case: tuple[dict[int, Any], bool]) -> None:
    """A payload signed by a trusted key is FORMAT exactly when a claim is missing or
    of a wrong type; otherwise the signature is checked and the certificate filled."""
    body, broken = case
    result = check(world, qr(signed_cose(cbor2.dumps(body))))
    codes = codes_of(result)
    event(f"broken: {broken}")
    if broken:
        assert codes == ["FORMAT"], body
        assert result.certificate is None
    else:
        assert "FORMAT" not in codes, body
        assert result.certificate is not None
        assert (result.certificate.plate, result.certificate.serial) == (body[-1], body[7])
        assert result.certificate.kid == GUI.kid
