"""The ``vicheck`` console command: ``vicheck central ...`` goes to the central side,
``vicheck demo`` is composed here (it runs both sides), everything else is the
terminal's.

Nothing is imported before the command is known, so ``vicheck verify`` pays only for
``terminal.cli`` and what the check itself needs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["central"]:
        from central.cli import main as central_main

        return central_main(argv[1:])
    from terminal.cli import main as terminal_main

    if "demo" not in argv:
        return terminal_main(argv)
    from vicheck.demo import command as demo

    return terminal_main(argv, {"demo": demo})


def run() -> NoReturn:
    sys.exit(main())
