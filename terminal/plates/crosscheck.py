"""The plate on the car against the plate on the certificate (issue 16).

The classic fraud with an electronic certificate is a genuine, valid code of
another car. When the plate read from the car clearly differs from the
certificate's, the verdict gets ``PLATE_MISMATCH`` (severity check): the officer
looks closer. "Clearly" matters: a misread must not accuse a driver, so a read
one confusable character from the certificate's plate counts as the same plate,
a province that was offered rather than read is compared on the rest only, and
reads below ``CLEAR_CONFIDENCE`` say nothing. Pure Python: the TUI's worker and
``vicheck verify --car`` both call ``cross_check`` with what the reader found.
"""

from __future__ import annotations

from collections.abc import Sequence

from keys.reasons import Severity, Verdict
from terminal.plates.confusion import confusable
from terminal.plates.reader import PlateCandidate
from terminal.verdict import CheckResult, Reason

PLATE_MISMATCH = "PLATE_MISMATCH"
PLATE_MISMATCH_SEVERITY = Severity.CHECK
CLEAR_CONFIDENCE = 0.6
"""The least confidence of the best read for a mismatch to be reported."""


def plate_matches(certificate_plate: str, candidates: Sequence[PlateCandidate]) -> bool | None:
    """True when the car shows the certificate's plate (or one misread from it),
    False when it clearly shows another, None when nothing clear was read."""
    for c in candidates:
        if confusable(certificate_plate, c.plate):
            return True
        if not c.province_read and c.plate[1:] == certificate_plate[1:]:
            return True
    clear = [c for c in candidates if c.confidence >= CLEAR_CONFIDENCE]
    return False if clear else None


def cross_check(result: CheckResult, candidates: Sequence[PlateCandidate]) -> CheckResult:
    """``result`` with ``PLATE_MISMATCH`` added when the car clearly shows another
    plate than the certificate's; unchanged otherwise (or without a certificate)."""
    if result.certificate is None or plate_matches(result.certificate.plate, candidates) in (
        True,
        None,
    ):
        return result
    reasons = (*result.reasons, Reason(PLATE_MISMATCH, PLATE_MISMATCH_SEVERITY))
    verdict = max(result.verdict, Verdict.for_worst(PLATE_MISMATCH_SEVERITY))
    return result._replace(verdict=verdict, reasons=reasons)
