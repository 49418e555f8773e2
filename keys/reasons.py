"""Reason codes and their severities (SPEC section 6): the one table of them.

Every layer speaks these codes: ``keys`` refuses with them, the verdict engine in
``terminal`` ranks them, and the message catalogue words them. Codes are plain
strings because they are also the JSON contract.
"""

from __future__ import annotations

from enum import IntEnum


class Severity(IntEnum):
    """Ordered so that ``max()`` gives the worst (SPEC: none < info < check < invalid < alert)."""

    NONE = 0
    INFO = 1
    CHECK = 2
    INVALID = 3
    ALERT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Verdict(IntEnum):
    """Ordered so that ``max()`` gives the worst; the command line maps them to exit codes."""

    VALID = 0
    CHECK = 1
    INVALID = 2
    ALERT = 3

    @classmethod
    def for_worst(cls, worst: Severity) -> Verdict:
        if worst <= Severity.INFO:
            return cls.VALID
        return {Severity.CHECK: cls.CHECK, Severity.INVALID: cls.INVALID}.get(worst, cls.ALERT)


FORMAT = "FORMAT"
NO_TRUST_LIST = "NO_TRUST_LIST"
TRUST_STALE = "TRUST_STALE"
UNKNOWN_KEY = "UNKNOWN_KEY"
BAD_SIGNATURE = "BAD_SIGNATURE"
KEY_REVOKED = "KEY_REVOKED"
KEY_SCOPE = "KEY_SCOPE"
KEY_EXPIRED = "KEY_EXPIRED"
NOT_YET_VALID = "NOT_YET_VALID"
REVOKED = "REVOKED"
NOT_IN_CACHE = "NOT_IN_CACHE"
CACHE_STALE = "CACHE_STALE"
NOT_COVERED = "NOT_COVERED"
EXPIRED = "EXPIRED"
SUPERSEDED = "SUPERSEDED"
STATUS_PREFIX = "STATUS_"

# Severities that do not depend on the situation. UNKNOWN_KEY (invalid or check by
# trust-list freshness) and NOT_COVERED (info or check by hotlist freshness and by
# the kind of check) are decided by the verdict engine.
SEVERITY: dict[str, Severity] = {
    FORMAT: Severity.INVALID,
    NO_TRUST_LIST: Severity.CHECK,
    TRUST_STALE: Severity.CHECK,
    BAD_SIGNATURE: Severity.INVALID,
    KEY_REVOKED: Severity.INVALID,
    KEY_SCOPE: Severity.INVALID,
    KEY_EXPIRED: Severity.INVALID,
    NOT_YET_VALID: Severity.INVALID,
    REVOKED: Severity.INVALID,
    NOT_IN_CACHE: Severity.CHECK,
    CACHE_STALE: Severity.CHECK,
    EXPIRED: Severity.INVALID,
    SUPERSEDED: Severity.INFO,
}

# Vehicle status letters (SPEC section 6). A letter not listed is "check".
STATUS_SEVERITY: dict[str, Severity] = {
    "A": Severity.NONE,
    "G": Severity.INFO,
    "I": Severity.INFO,
    "B": Severity.CHECK,
    "D": Severity.CHECK,
    "H": Severity.CHECK,
    "O": Severity.CHECK,
    "Q": Severity.INVALID,
    **{letter: Severity.ALERT for letter in "CEJKLMNP"},
}
UNKNOWN_STATUS_SEVERITY = Severity.CHECK
ALERT_LETTERS = "".join(sorted(k for k, v in STATUS_SEVERITY.items() if v is Severity.ALERT))
"""The letters of severity alert: a hotlist record carries at least one (SPEC section 4)."""


def status_severity(letter: str) -> Severity:
    return STATUS_SEVERITY.get(letter, UNKNOWN_STATUS_SEVERITY)


def has_alert(status: str) -> bool:
    """Whether a status carries a letter of severity alert (what a hotlist holds)."""
    return any(letter in ALERT_LETTERS for letter in status)
