"""Messages from workers to the screens. Workers never touch widgets; they post."""

from __future__ import annotations

from textual.message import Message

from cache.sync import SyncEvent, SyncReport
from terminal.verdict import CheckResult


class ScannerState(Message):
    """What the camera sees, at frame rate; consecutive ones merge in the queue."""

    def __init__(self, state: str) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScannerState)


class Checked(Message):
    """A check finished: from a code (``how`` = "code") or a plate lookup ("plate").

    ``notices``: what the scan said besides the verdict, in words (two certificates
    in view, with both plates; what a code that is not a certificate looks like).
    ``similar``: for a lookup with no record, the cached plates one misread away.
    ``source``: where it came from, as the audit log names it ("camera", "wedge",
    "lookup"): a camera's code arrives unasked, a scan engine's when the officer
    pulls its trigger."""

    def __init__(
        self,
        result: CheckResult,
        how: str,
        at: float,
        notices: tuple[str, ...] = (),
        similar: tuple[str, ...] = (),
        source: str = "",
    ) -> None:
        super().__init__()
        self.result = result
        self.how = how
        self.at = at
        self.notices = notices
        self.similar = similar
        self.source = source


class SyncProgress(Message):
    def __init__(self, event: SyncEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, SyncProgress)
            and message.event.feed == self.event.feed
            and message.event.stage == self.event.stage
        )


class SyncFinished(Message):
    def __init__(self, report: SyncReport) -> None:
        super().__init__()
        self.report = report
