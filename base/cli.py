"""The command lines' shared plumbing: argparse that raises instead of exiting, a
help formatter that does not import shutil, and the ISO 8601 ``--at`` time.

Both ``vicheck`` (terminal/cli.py) and ``vicheck central`` (central/cli.py) parse
their arguments with these, so a usage error and a ``--at`` value are judged the
same way on either side; each command turns ``UsageError`` and ``BadTime`` into
its own error report and exit status.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from typing import Any, NoReturn


class UsageError(Exception):
    """What argparse would have printed before exiting 2: the parser and the message."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{prog}: {message}")
        self.prog = prog
        self.message = message


class Formatter(argparse.HelpFormatter):
    """Gives argparse its width itself: argparse would import shutil (~3 ms) for it
    on every run, help or not."""

    def __init__(self, prog: str) -> None:
        try:
            width = os.get_terminal_size().columns
        except OSError:
            width = 80
        super().__init__(prog, width=max(width - 2, 40))


class Parser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` on a usage error instead of printing and
    exiting: the command reports it its own way (JSON when asked)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


class BadTime(ValueError):
    """A ``--at`` value that is not ISO 8601 with an offset."""


def parse_iso_time(text: str) -> float:
    """ISO 8601 with an explicit offset (``+08:00`` or ``Z``), as epoch seconds.

    A time without an offset is refused rather than guessed: the terminal and the
    issuing side may sit in different zones, and a signed time must not shift."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadTime(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadTime(f"{text!r} has no UTC offset (add +08:00 or Z)")
    return moment.timestamp()
