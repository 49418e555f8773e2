"""``audit verify``: recompute a log's chain and signatures, trusting no stored value.

Every row is decoded from its bytes, checked against the seq it is stored under,
chained from the base (``audit.chain.verify_chain``) and its head signature checked
with the device key; the first row that fails is named. What this can and cannot
see is in docs/audit.md ("What verifying shows"): an edit, removal, reordering or
insertion anywhere before the newest entry always shows; the removal of the newest
entries shows against the log's own ``newest`` mark and the central side's
``held``, and, whatever was done to the file, against the copy the central side
holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.chain import (
    AuditFormatError,
    Entry,
    decode,
    device_id,
    entry_hash,
    verify_chain,
    verify_head,
    verify_signature,
)
from audit.store import AuditLog, AuditLogError, Row

DAMAGED = "DAMAGED"
ROW = "ROW"
SEQ = "SEQ"
PREV = "PREV"
SIGNATURE = "SIGNATURE"
BASE = "BASE"
MISSING = "MISSING"
DEVICE = "DEVICE"


@dataclass(frozen=True)
class Finding:
    """The first entry that does not fit: its seq (the one it should have had, for
    a gap or a reordering), what is wrong (one of the constants above) and words."""

    seq: int
    problem: str
    detail: str


@dataclass(frozen=True)
class Verification:
    device: str | None
    first: int
    """Seq of the first entry held (base + 1)."""
    last: int
    """Seq of the newest entry held (``first - 1`` when none is)."""
    held: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "ok": self.ok,
            "device": self.device,
            "first": self.first,
            "last": self.last,
            "entries": self.last - self.first + 1,
            "held": self.held,
        }
        if self.finding is not None:
            f = self.finding
            out["problem"] = {"seq": f.seq, "code": f.problem, "detail": f.detail}
        return out


def verify_log(log: AuditLog, public_key: bytes) -> Verification:
    """Check the whole of ``log`` against the device key ``public_key``. A chain row
    that cannot be read (edited to hold text where a number goes) is a finding too:
    the log's own record of where it starts, and how far it was sent, was altered."""
    try:
        named = log.chain_device()
        base = log.base()
        held = log.held
    except AuditLogError as exc:
        return Verification(None, 1, 0, 0, Finding(1, ROW, str(exc)))
    device = named or device_id(public_key)
    last = base.seq
    finding = _check_device(named, public_key, base.seq + 1)
    if finding is None and base.signature is not None:
        finding = _check_base(device, base.seq, base.hash, base.signature, public_key)
    want_seq, want_prev = base.seq + 1, base.hash
    rows = log.rows() if finding is None else iter(())
    for row in rows:
        if named is None:
            finding = Finding(row.seq, ROW, "entries are held but the chain's record is gone")
            break
        entry, finding = _entry_of(row, want_seq, want_prev)
        if entry is not None and not verify_head(device, entry, row.signature, public_key):
            finding = Finding(row.seq, SIGNATURE, "its head signature is not the device key's")
        if entry is None or finding is not None:
            break
        want_seq, want_prev, last = entry.seq + 1, entry_hash(entry), entry.seq
    if finding is None:
        try:
            finding = _check_end(last, log.newest(), held)
        except AuditLogError as exc:
            finding = Finding(last + 1, ROW, str(exc))
    return Verification(named, base.seq + 1, last, held, finding)


def _entry_of(row: Row, seq: int, prev: bytes) -> tuple[Entry | None, Finding | None]:
    try:
        entry = decode(row.body)
    except AuditFormatError as exc:
        return None, Finding(row.seq, DAMAGED, f"stored bytes are not an entry: {exc}")
    if entry.seq != row.seq:
        return None, Finding(row.seq, ROW, f"the row of seq {row.seq} holds entry {entry.seq}")
    broken = verify_chain([entry], prev=prev, first_seq=seq)
    if broken is not None:
        return None, Finding(broken.seq, broken.problem, broken.describe())
    return entry, None


def _check_device(device: str | None, public_key: bytes, first: int) -> Finding | None:
    if device is not None and device != device_id(public_key):
        detail = f"the log is device {device}'s, the device key is {device_id(public_key)}'s"
        return Finding(first, DEVICE, detail)
    return None


def _check_base(
    device: str, seq: int, digest: bytes, signature: bytes, public_key: bytes
) -> Finding | None:
    if verify_signature(device, seq, digest, signature, public_key):
        return None
    return Finding(seq, BASE, "the base kept from pruning is not signed by the device key")


def _check_end(last: int, newest: int, held: int) -> Finding | None:
    expected = max(newest, held)
    if last < expected:
        detail = f"entries {last + 1} to {expected} are missing at the end"
        return Finding(last + 1, MISSING, detail)
    return None
