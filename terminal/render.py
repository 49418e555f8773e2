"""Turning results into what is printed: the JSON of SPEC section 7, or text a
person reads at a glance, in the terminal's language."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from keys.fields import CST, civil_from_days
from keys.reasons import Verdict
from terminal.strings import EN, Catalogue
from terminal.verdict import CheckResult

if TYPE_CHECKING:  # cache.sync imports httpx: never on the check path
    from cache.sync import SyncReport
    from terminal.scan.codes import InView


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
"""C0, DEL and C1 controls, each shown as its ``\\xNN`` escape."""


def printable(text: str) -> str:
    """Outside text (an issuer, a server's error) as it may reach a terminal: every
    control character shown as ``\\xNN``, so none can move the cursor, erase a line or
    print a fake verdict over the real one. JSON needs no such care (it escapes C0
    itself, and C1 stays data)."""
    return text.translate(_CONTROLS)


def iso(t: float) -> str:
    """Times in output: ISO 8601 with an offset, in China Standard Time.

    A signed time may be any uint (up to 2**63 - 1 seconds), far past what
    ``datetime`` holds; such a time is written with its full year number.
    """
    seconds = int(t)
    try:
        return datetime.fromtimestamp(seconds, CST).isoformat()
    except (ValueError, OverflowError, OSError):
        local = seconds + 8 * 3600
        days, rest = divmod(local, 86400)
        year, month, day = civil_from_days(days)
        hh, rest = divmod(rest, 3600)
        mm, ss = divmod(rest, 60)
        # ISO 8601 expanded years carry a sign.
        sign = "+" if year > 9999 else ""
        return f"{sign}{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}+08:00"


def result_json(
    result: CheckResult, catalogue: Catalogue, seen: InView | None = None
) -> dict[str, Any]:
    """SPEC section 7's object; for a scanned code, ``seen`` adds what was in view
    (``terminal.scan.codes.in_view_json``: ``text``, ``in_view``, ``notice``)."""
    cert = result.certificate
    return {
        "verdict": result.verdict.name,
        "reasons": [
            {"code": r.code, "severity": r.severity.label, "message": catalogue.reason(r.code)}
            for r in result.reasons
        ],
        "certificate": None
        if cert is None
        else {
            "plate": cert.plate,
            "plate_type": cert.plate_type,
            "valid_through": cert.valid_through,
            "serial": cert.serial.hex(),
            "issued_at": iso(cert.issued_at),
            "issuer": cert.issuer,
            "kid": cert.kid.hex(),
            "vehicle_type": cert.vehicle_type,
        },
        "vehicles": [
            {
                "plate": v.plate,
                "plate_type": v.plate_type,
                "valid_through": v.valid_through,
                "status": v.status,
                "vehicle_type": v.vehicle_type,
                "feed": v.feed,
            }
            for v in result.vehicles
        ],
        "checked_at": iso(result.checked_at),
        **_in_view_json(seen, catalogue),
    }


def _in_view_json(seen: InView | None, catalogue: Catalogue) -> dict[str, Any]:
    if seen is None:
        return {}
    from terminal.scan.codes import in_view_json

    return in_view_json(seen, catalogue)


def verdict_words(verdict: Verdict, catalogue: Catalogue) -> str:
    """The verdict once per language: ``VALID``, or ``有效  VALID`` (the English word
    beside the Chinese one, for an officer from elsewhere or a foreign driver)."""
    word = catalogue.verdict(verdict.name)
    return word if catalogue.lang == EN else f"{word}  {verdict.name}"


def result_text(result: CheckResult, catalogue: Catalogue, seen: InView | None = None) -> str:
    """Verdict word first, then the plate to compare with the car, then the reasons
    (and, for a scanned code, what else was in view or what the code was)."""
    t = catalogue.text
    lines = [verdict_words(result.verdict, catalogue)]
    plate = result.plate
    if plate:
        kind = f" ({result.plate_type})" if result.plate_type else ""
        lines.append(f"{t('label.plate')}: {plate}{kind}    {t('label.compare')}")
    if result.valid_through:
        lines.append(f"{t('label.valid_through')}: {result.valid_through}")
    lines += [
        f"  - [{t('severity.' + r.severity.label)}] {catalogue.reason(r.code)}"
        for r in result.reasons
    ]
    if seen is not None:
        from terminal.scan.codes import notices

        lines += [f"  ! {printable(line)}" for line in notices(seen, catalogue)]
    if result.certificate is not None:
        lines.append(f"{t('label.issuer')}: {printable(result.certificate.issuer)}")
    lines.append(f"{t('label.checked_at')}: {iso(result.checked_at)}")
    return "\n".join(lines)


def sync_report_lines(report: SyncReport, catalogue: Catalogue, detailed: bool) -> list[str]:
    """What a sync did, a line for the trust list and one per feed: ``vicheck sync``
    prints the ``detailed`` lines (versions from and to, method, bytes), the sync
    screen the short ones (the new version) above its freshness summary."""
    t = catalogue.text
    trust = report.trust_list
    lines = [
        f"{t('label.trust_list')}: {t('sync.' + trust.status)} v{trust.version}"
        + _error(trust.error)
    ]
    for feed in report.feeds:
        if detailed:
            line = (
                f"{t('label.feed')} {feed.feed}: {t('sync.' + feed.status)}"
                f" {feed.from_version} -> {feed.to_version} ({feed.method}, {feed.bytes} B)"
            )
        else:
            line = f"{feed.feed}: {t('sync.' + feed.status)} v{feed.to_version}"
        lines.append(line + _error(feed.error))
    audit = report.audit
    if audit is not None:
        sent = t("sync.audit_sent", sent=audit.sent, held=audit.held)
        detail = f"{audit.error}: {audit.detail}" if audit.error else None
        lines.append(f"{t('label.audit')}: {sent}" + _error(detail))
    return lines


def _error(error: str | None) -> str:
    return f" ({printable(error)})" if error else ""


def error_json(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
