"""Turning results into what is printed: the JSON of SPEC section 7, or text a
person reads at a glance, in the terminal's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keys.fields import CST, civil_from_days
from terminal.strings import Catalogue
from terminal.verdict import CheckResult


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


def result_json(result: CheckResult, catalogue: Catalogue) -> dict[str, Any]:
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
    }


def result_text(result: CheckResult, catalogue: Catalogue) -> str:
    """Verdict word first, then the plate to compare with the car, then the reasons."""
    t = catalogue.text
    lines = [f"{catalogue.verdict(result.verdict.name)}  {result.verdict.name}"]
    plate = result.plate
    if plate:
        kind = f" ({result.plate_type})" if result.plate_type else ""
        lines.append(f"{t('label.plate')}: {plate}{kind}    {t('label.compare')}")
    months = [m for m in _months(result) if m]
    if months:
        lines.append(f"{t('label.valid_through')}: {max(months)}")
    lines += [
        f"  - [{t('severity.' + r.severity.label)}] {catalogue.reason(r.code)}"
        for r in result.reasons
    ]
    if result.certificate is not None:
        lines.append(f"{t('label.issuer')}: {result.certificate.issuer}")
    lines.append(f"{t('label.checked_at')}: {iso(result.checked_at)}")
    return "\n".join(lines)


def _months(result: CheckResult) -> list[str | None]:
    months: list[str | None] = [v.valid_through for v in result.vehicles]
    if result.certificate is not None:
        months.append(result.certificate.valid_through)
    return months


def error_json(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
