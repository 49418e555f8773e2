"""The upload's body and answer (``POST {server}/audit/{device}``, docs/audit.md).

One module for the format both sides speak: the terminal encodes uploads and
decodes answers, the central side decodes uploads and encodes answers, so a rule
(a bound, a field, an error code) is written once. JSON, because it is what an
HTTP service and an investigator's tools read without help; each entry travels as
base64 of its canonical bytes, so the central side stores and hashes exactly what
the terminal hashed and signed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from audit.chain import (
    HASH_SIZE,
    SIGNATURE_SIZE,
    AuditFormatError,
    Entry,
    decode,
    encode,
    entry_hash,
    is_device_id,
    verify_chain,
)
from keys.cbor import is_uint

MAX_ENTRIES: Final = 10_000
"""Most entries in one upload; the terminal sends more in several."""
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""Largest upload body; the central side refuses more unread (``TOO_LARGE``)."""
MAX_ANSWER_BYTES: Final = 64 * 1024
"""Largest answer the terminal reads: an answer is a number and a sentence, and a
server sending more (a proxy's page, a hostile one) is refused after this much."""
MAX_DETAIL: Final = 500
"""Longest ``detail`` the terminal keeps from an answer."""
MAX_STRUCTURE: Final = 16
"""Most ``[`` and ``{`` in an upload body (it needs three: the body, ``entries``,
``head``). Counted before parsing: JSON's arrays and objects cost 60 to 70 bytes of
memory per 2 to 3 bytes of body, so an 8 MiB body of ``[{},{},...]`` would make
json.loads build 200 MB and spend seconds of CPU for anyone who can reach the
endpoint; base64, hex and device ids contain neither character."""
MAX_COMMAS: Final = MAX_ENTRIES + 16
"""Most ``,`` in an upload body: one between entries, a few between members. With
``MAX_STRUCTURE`` this bounds what the parser builds to the entries' strings."""
ERROR_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
"""What an answer's ``error`` may be: the codes below and any later one spelled
like them. Anything else (a server's markup, escapes) is not an answer."""
CONTENT_TYPE: Final = "application/json"

# The refusals of docs/audit.md ("Errors"), with the HTTP status of each.
BAD_REQUEST: Final = "BAD_REQUEST"
TOO_LARGE: Final = "TOO_LARGE"
UNKNOWN_DEVICE: Final = "UNKNOWN_DEVICE"
BAD_SIGNATURE: Final = "BAD_SIGNATURE"
GAP: Final = "GAP"
FORK: Final = "FORK"
STATUS: Final = {
    BAD_REQUEST: 400,
    TOO_LARGE: 413,
    UNKNOWN_DEVICE: 404,
    BAD_SIGNATURE: 403,
    GAP: 409,
    FORK: 409,
}
_OVERHEAD: Final = 512
"""Room in a body for everything but the entries (device, head, punctuation)."""


class WireError(ValueError):
    """A body that is not the format; ``code`` is the refusal to answer with."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Head:
    """The newest entry's seq and hash, and the device key's signature over them
    (``audit.chain.head_message``)."""

    seq: int
    hash: bytes
    signature: bytes


@dataclass(frozen=True)
class Upload:
    device: str
    entries: tuple[Entry, ...]
    head: Head


@dataclass(frozen=True)
class Answer:
    """``held``: the highest seq the central side holds for the device (0: none).
    ``error`` and ``detail`` only on a refusal."""

    held: int
    error: str | None = None
    detail: str | None = None


def encode_upload(device: str, entries: Sequence[Entry], head: Head) -> bytes:
    """The body of one upload: ``entries`` contiguous and ascending, ``head`` the
    signature of the chain ending at the last of them."""
    body = {
        "device": device,
        "entries": [base64.b64encode(encode(e)).decode("ascii") for e in entries],
        "head": {"seq": head.seq, "hash": head.hash.hex(), "signature": head.signature.hex()},
    }
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def decode_upload(body: bytes, device: str | None = None) -> Upload:
    """An upload's body, checked for everything that needs no stored state: the
    bounds, every entry's encoding, entries contiguous and chaining among
    themselves, the head naming the last. ``device``, when given (the URL's), must
    be the body's. ``WireError`` with the refusal's code otherwise; the signature
    and the fit with what is held are the receiver's to check."""
    if len(body) > MAX_BODY_BYTES:
        raise WireError(TOO_LARGE, f"an upload is at most {MAX_BODY_BYTES} bytes")
    if body.count(b"[") + body.count(b"{") > MAX_STRUCTURE or body.count(b",") > MAX_COMMAS:
        raise WireError(BAD_REQUEST, "not an upload: more arrays, objects or items than one holds")
    obj = _json_object(body, BAD_REQUEST)
    named, items, head = obj.get("device"), obj.get("entries"), obj.get("head")
    if not is_device_id(named):
        raise WireError(BAD_REQUEST, "device is not a device id")
    if device is not None and named != device:
        raise WireError(BAD_REQUEST, f"the body names {named}, the address {device}")
    if not isinstance(items, list) or not items:
        raise WireError(BAD_REQUEST, "entries is a list of at least one entry")
    if len(items) > MAX_ENTRIES:
        raise WireError(TOO_LARGE, f"an upload holds at most {MAX_ENTRIES} entries")
    entries = tuple(_entry(i, item) for i, item in enumerate(items))
    broken = verify_chain(entries, prev=entries[0].prev, first_seq=entries[0].seq)
    if broken is not None:
        raise WireError(BAD_REQUEST, f"entries do not chain: {broken.describe()}")
    parsed = _head(head)
    if parsed.seq != entries[-1].seq or parsed.hash != entry_hash(entries[-1]):
        raise WireError(BAD_REQUEST, "head is not the last entry's seq and hash")
    return Upload(str(named), entries, parsed)


def _json_object(body: bytes, code: str) -> dict[str, Any]:
    try:
        obj = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, an int too long
        raise WireError(code, f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(obj, dict):
        raise WireError(code, "not a JSON object")
    return obj


def _entry(index: int, item: object) -> Entry:
    if not isinstance(item, str):
        raise WireError(BAD_REQUEST, f"entries[{index}] is not a base64 string")
    try:
        return decode(base64.b64decode(item, validate=True))
    except (binascii.Error, ValueError) as exc:  # AuditFormatError is a ValueError
        raise WireError(BAD_REQUEST, f"entries[{index}]: {exc}") from None


def _head(head: object) -> Head:
    if not isinstance(head, dict):
        raise WireError(BAD_REQUEST, "head is an object")
    seq, digest, signature = head.get("seq"), head.get("hash"), head.get("signature")
    raw_hash, raw_sig = _hex(digest, HASH_SIZE), _hex(signature, SIGNATURE_SIZE)
    if not is_uint(seq) or seq < 1 or raw_hash is None or raw_sig is None:
        raise WireError(BAD_REQUEST, "head is {seq, hash (64 hex), signature (128 hex)}")
    return Head(seq, raw_hash, raw_sig)


def _hex(text: object, size: int) -> bytes | None:
    if not isinstance(text, str) or len(text) != 2 * size or text != text.lower():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def encode_answer(held: int, error: str | None = None, detail: str | None = None) -> bytes:
    """200's ``{"held": n}``, or a refusal's ``{"error", "detail", "held"}``."""
    body: dict[str, Any] = {"held": held}
    if error is not None:
        body = {"error": error, "detail": detail or "", "held": held}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def decode_answer(status: int, body: bytes) -> Answer:
    """The central side's answer; ``WireError("BAD_ANSWER", ...)`` when it is not
    the format (a proxy's HTML page, a truncated body): the terminal then knows
    nothing new and keeps its entries."""
    if len(body) > MAX_ANSWER_BYTES:
        raise WireError("BAD_ANSWER", f"an answer is at most {MAX_ANSWER_BYTES} bytes")
    obj = _json_object(body, "BAD_ANSWER")
    held = obj.get("held")
    if not is_uint(held):  # a seq, as entries have them: never a bool, float or 2**63
        raise WireError("BAD_ANSWER", f"HTTP {status}: no held sequence number")
    if status == 200 and "error" not in obj:
        return Answer(held)
    error, detail = obj.get("error"), obj.get("detail", "")
    if status == 200 or not isinstance(error, str) or not isinstance(detail, str):
        raise WireError("BAD_ANSWER", f"HTTP {status}: a refusal without its error code")
    if ERROR_CODE.fullmatch(error) is None:
        raise WireError("BAD_ANSWER", f"HTTP {status}: the error is not a code")
    return Answer(held, error, detail[:MAX_DETAIL])


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """``entries`` in uploads that keep within both bounds (count and bytes)."""
    batch: list[Entry] = []
    size = _OVERHEAD
    for entry in entries:
        cost = 4 * (len(encode(entry)) + 2) // 3 + 3  # base64, quotes, comma
        if batch and (len(batch) == MAX_ENTRIES or size + cost > MAX_BODY_BYTES):
            yield batch
            batch, size = [], _OVERHEAD
        batch.append(entry)
        size += cost
    if batch:
        yield batch


__all__ = [
    "BAD_REQUEST",
    "BAD_SIGNATURE",
    "FORK",
    "GAP",
    "STATUS",
    "TOO_LARGE",
    "UNKNOWN_DEVICE",
    "Answer",
    "AuditFormatError",
    "Head",
    "Upload",
    "WireError",
    "batches",
    "decode_answer",
    "decode_upload",
    "encode_answer",
    "encode_upload",
]
