"""The verdict engine of SPEC section 6: a certificate or a plate in, a verdict out.

It composes ``keys`` (is the code authentic?) with ``cache`` (what is the
vehicle's status?), ranks the reasons by the one severity table in
``keys.reasons``, and takes "now" from the terminal's one clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from cache.store import CacheView, FeedState, StaleView, Store, VehicleRecord
from keys import reasons as R
from keys.cbor import Malformed
from keys.certificate import Certificate, authenticate, read_qr_text
from keys.fields import is_plate_type, is_valid_plate, month_end, normalize_plate
from keys.reasons import Severity, Verdict
from terminal.clock import Clock


class BadPlate(ValueError):
    """SPEC 6.2: a plate or plate type that is not valid is a usage error."""


class Reason(NamedTuple):
    code: str
    severity: Severity


class CheckResult(NamedTuple):
    verdict: Verdict
    reasons: tuple[Reason, ...]
    certificate: Certificate | None
    vehicles: tuple[VehicleRecord, ...]
    checked_at: float
    plate: str | None = None
    plate_type: str | None = None
    valid_through: str | None = None
    """The month to show as the validity, the one value the text, the card and the
    verdict agree on: for a certificate, SPEC 6.1 step 8's effective validity (the
    certificate and the records of covering full feeds); for a lookup (6.2), the
    latest among the vehicles' records in covering full feeds. Hotlist records never
    count (SPEC 1.1): a vehicle known only from a hotlist has none to show."""


class _Reasons:
    """Collects reasons, each code once (at its worst severity)."""

    def __init__(self) -> None:
        self._by_code: dict[str, Severity] = {}

    def add(self, code: str, severity: Severity | None = None) -> None:
        sev = R.SEVERITY[code] if severity is None else severity
        self._by_code[code] = max(sev, self._by_code.get(code, Severity.NONE))

    def result(
        self,
        now: float,
        certificate: Certificate | None = None,
        vehicles: Sequence[VehicleRecord] = (),
        plate: str | None = None,
        plate_type: str | None = None,
        valid_through: str | None = None,
    ) -> CheckResult:
        worst = max(self._by_code.values(), default=Severity.NONE)
        items = tuple(Reason(c, s) for c, s in self._by_code.items())
        return CheckResult(
            Verdict.for_worst(worst),
            items,
            certificate,
            tuple(vehicles),
            now,
            plate,
            plate_type,
            valid_through,
        )


class Checker:
    """Checks against one store and one list of subscribed feeds."""

    def __init__(self, store: Store, feeds: Sequence[str], clock: Clock) -> None:
        self.store = store
        self.feeds = tuple(feeds)
        self.clock = clock

    def verify(self, text: str) -> CheckResult:
        """SPEC 6.1 for a QR text (already stripped of surrounding whitespace)."""
        try:
            return self._verify(text, self.store.view())
        except StaleView:  # a sync swapped a feed mid-check: once more, on the new view
            return self._verify(text, self.store.view())

    def lookup(self, plate: str, plate_type: str | None = None) -> CheckResult:
        """SPEC 6.2 for a plate typed by the officer (any form; normalised here)."""
        normal = normalize_plate(plate)
        if not is_valid_plate(normal):
            raise BadPlate(f"{plate!r} is not a valid plate")
        if plate_type is not None and not is_plate_type(plate_type):
            raise BadPlate(f"plate type {plate_type!r} is not two digits")
        try:
            return self._lookup(normal, plate_type, self.store.view())
        except StaleView:
            return self._lookup(normal, plate_type, self.store.view())

    def _verify(self, text: str, view: CacheView) -> CheckResult:
        now = self.clock.now(view.clock_floor)
        found = _Reasons()
        try:
            code = read_qr_text(text)
        except Malformed:
            found.add(R.FORMAT)
            return found.result(now)
        trust = view.trust_list
        if trust is None:
            found.add(R.NO_TRUST_LIST)
            return found.result(now)
        fresh = trust.is_fresh(now)
        if not fresh:
            found.add(R.TRUST_STALE)
        auth = authenticate(code, trust, now)
        cert = auth.certificate
        if cert is None or auth.problems:
            for problem in auth.problems:
                if problem == R.UNKNOWN_KEY:
                    found.add(problem, Severity.INVALID if fresh else Severity.CHECK)
                else:
                    found.add(problem)
            # Not authentic enough to look the vehicle up: only the certificate's
            # own month, as it reads, is there to show.
            return found.result(now, cert, valid_through=cert.valid_through if cert else None)
        states = view.feed_states(self.feeds)
        any_hotlist_fresh = any(s.is_hotlist and s.is_fresh(now) for s in states)
        records, covering = self._status(
            states,
            cert.plate,
            cert.plate_type,
            now,
            found,
            Severity.INFO if any_hotlist_fresh else Severity.CHECK,
            serial=cert.serial,
        )
        # Step 8: the latest validity among the certificate and the records found in
        # covering full feeds (a hotlist record never extends validity, SPEC 1.1).
        effective = max([cert.valid_through, *_covered_months(records, covering)])
        if month_end(effective) <= now:
            found.add(R.EXPIRED)
        elif month_end(cert.valid_through) <= now:
            found.add(R.SUPERSEDED)
        return found.result(now, cert, records, cert.plate, cert.plate_type, effective)

    def _lookup(self, plate: str, plate_type: str | None, view: CacheView) -> CheckResult:
        now = self.clock.now(view.clock_floor)
        found = _Reasons()
        states = view.feed_states(self.feeds)
        records, covering = self._status(states, plate, plate_type, now, found, Severity.CHECK)
        # Step 8 for each vehicle with a record in a covering full feed; a vehicle
        # found only in hotlists gets none.
        by_vehicle: dict[tuple[str, str], list[str]] = {}
        for r in records:
            if r.feed not in covering:
                continue
            months = by_vehicle.setdefault((r.plate, r.plate_type), [])
            if r.valid_through:
                months.append(r.valid_through)
        if any(not months or month_end(max(months)) <= now for months in by_vehicle.values()):
            found.add(R.EXPIRED)
        latest = max(_covered_months(records, covering), default=None)
        return found.result(now, None, records, plate, plate_type, latest)

    def _status(
        self,
        states: Sequence[FeedState],
        plate: str,
        plate_type: str | None,
        now: float,
        found: _Reasons,
        not_covered: Severity,
        serial: bytes | None = None,
    ) -> tuple[list[VehicleRecord], frozenset[str]]:
        """SPEC 6.1 step 7, shared by both checks; with ``serial``, also step 6.

        Returns the records found and the ids of the full feeds covering the plate.
        """
        covering = [s for s in states if s.covers(plate)]
        hotlists = [s for s in states if s.is_hotlist]
        # One query for all of it; then only covering feeds decide NOT_IN_CACHE.
        revoked, records = self.store.certificate_status(
            covering + hotlists, states if serial else (), plate, plate_type, serial or b""
        )
        if revoked:
            found.add(R.REVOKED)
        covered = frozenset(s.feed for s in covering)
        if covering:
            if not any(r.feed in covered for r in records):
                found.add(R.NOT_IN_CACHE)
            if any(not s.is_fresh(now) for s in covering):
                found.add(R.CACHE_STALE)
        else:
            found.add(R.NOT_COVERED, not_covered)
        for record in records:
            for letter in record.status:
                if letter != "A":
                    found.add(R.STATUS_PREFIX + letter, R.status_severity(letter))
        return records, covered


def _covered_months(records: Sequence[VehicleRecord], covering: frozenset[str]) -> list[str]:
    """The validity months of the records found in covering full feeds (nulls aside):
    the only records whose validity counts (a hotlist's never does, SPEC 1.1)."""
    return [r.valid_through for r in records if r.valid_through and r.feed in covering]
