"""What a frame's codes say, once decoded: which certificates are in view, and what
a code that is not a certificate looks like.

A driver often shows the wrong code by mistake (a payment code, a web page, a
contact card); the officer is told in words what it looks like, beside "not a
vehicle inspection certificate code". Two different certificates in view are
never settled by picking one: both are checked, the worst is shown, the verdict
is at least CHECK, and the card names every plate.

Unlike the rest of ``terminal.scan`` this module loads neither OpenCV nor numpy:
``terminal.render`` words its results on the ``verify`` path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from keys.reasons import Severity, Verdict
from keys.wire import QR_PREFIX
from terminal.strings import Catalogue
from terminal.verdict import Checker, CheckResult, Reason

if TYPE_CHECKING:
    from terminal.scan.pipeline import Decoded

TEXT_SHOWN = 200
"""The most characters of a non-certificate code put in ``--json`` output."""

_PAYMENT = (
    "wxp://",
    "https://qr.alipay.com/",
    "http://qr.alipay.com/",
    "alipays://",
    "https://qr.95516.com/",
    "https://payapp.weixin.qq.com/",
    "https://wx.tenpay.com/",
)
_URL = ("http://", "https://", "www.")
_CONTACT = ("begin:vcard", "mecard:")
_WIFI = ("wifi:",)
KINDS = ("payment", "url", "contact", "wifi", "text")


def is_certificate(text: str) -> bool:
    """A text the verdict engine should judge as a certificate (SPEC 2's prefix)."""
    return text.startswith(QR_PREFIX)


def code_kind(text: str) -> str:
    """``payment``, ``url``, ``contact``, ``wifi`` or ``text``: what a code that is not
    a certificate looks like (catalogue key ``scan.kind.<kind>``)."""
    lowered = text.strip().lower()
    for kind, prefixes in (
        ("payment", _PAYMENT),
        ("url", _URL),
        ("contact", _CONTACT),
        ("wifi", _WIFI),
    ):
        if lowered.startswith(prefixes):
            return kind
    return "text"


def shown_text(text: str) -> str:
    """The first ``TEXT_SHOWN`` characters, as ``"text"`` in the JSON output."""
    return text[:TEXT_SHOWN]


class InView(NamedTuple):
    """The check of what one frame showed."""

    result: CheckResult
    """The result to show: the only certificate's, or the worst of several raised to at
    least CHECK, or FORMAT for a code that is not a certificate."""
    certificates: tuple[CheckResult, ...] = ()
    """Every certificate's own result, in reading order, when two or more were in view."""
    other_text: str | None = None
    """The text read when no certificate was in view: the driver showed another code."""


def check_in_view(checker: Checker, decoded: Decoded) -> InView:
    """Check every certificate ``decoded`` holds; never one silently in place of two."""
    certificates = tuple(t for t in decoded.texts if is_certificate(t))
    if not certificates:
        other = None if is_certificate(decoded.text) else decoded.text
        return InView(checker.verify(decoded.text.strip()), (), other)
    if len(certificates) == 1:
        return InView(checker.verify(certificates[0].strip()))
    results = tuple(checker.verify(text.strip()) for text in certificates)
    return InView(several(results), results)


SEVERAL_CERTIFICATES = "SEVERAL_CERTIFICATES"
"""Outside SPEC section 6's codes, like ``PLATE_MISMATCH``: it only arises when a
picture or frame holds two different certificates, which SPEC does not cover. A
CHECK must carry the reason that made it one, so the officer (and ``--json``) is
told why, not just that."""


def several(results: Sequence[CheckResult]) -> CheckResult:
    """The result shown for several certificates: the worst (an ALERT is never hidden
    behind a VALID), its verdict at least CHECK (the officer must ask which is the car's)."""
    worst = max(results, key=lambda r: r.verdict)
    reasons = (*worst.reasons, Reason(SEVERAL_CERTIFICATES, Severity.CHECK))
    return worst._replace(verdict=max(worst.verdict, Verdict.CHECK), reasons=reasons)


def plates(results: Sequence[CheckResult]) -> list[str]:
    """The plate each certificate names (``?`` for one whose signature did not verify)."""
    return [r.plate or (r.certificate.plate if r.certificate else None) or "?" for r in results]


def notices(seen: InView, catalogue: Catalogue) -> list[str]:
    """What the officer is told beside the verdict, in the terminal's language: what the
    code looks like when it is not a certificate, or that several are in view (with
    every plate). The text read is outside text: show it as plain text, never markup."""
    if seen.other_text is not None:
        kind = catalogue.text(f"scan.kind.{code_kind(seen.other_text)}")
        return [catalogue.text("scan.other_code", kind=kind, text=shown_text(seen.other_text))]
    if len(seen.certificates) > 1:
        named = ", ".join(plates(seen.certificates))
        return [catalogue.text("scan.several", count=len(seen.certificates), plates=named)]
    return []


def in_view_json(seen: InView, catalogue: Catalogue) -> dict[str, Any]:
    """The fields ``--json`` adds to SPEC section 7's (which stay as they are): ``text``
    and ``text_kind`` for a code that is not a certificate; ``in_view`` (each
    certificate's plate, verdict and reason codes) and ``notice`` for several."""
    out: dict[str, Any] = {}
    if seen.other_text is not None:
        out["text"] = shown_text(seen.other_text)
        out["text_kind"] = code_kind(seen.other_text)
    if len(seen.certificates) > 1:
        out["in_view"] = [
            {"plate": plate, "verdict": r.verdict.name, "reasons": [x.code for x in r.reasons]}
            for plate, r in zip(plates(seen.certificates), seen.certificates, strict=True)
        ]
    words = notices(seen, catalogue)
    if words:
        out["notice"] = words[0]
    return out
