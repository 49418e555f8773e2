"""The command-line entries of the accountability commands (issue 13): ``officer``,
``device``, ``audit``, and ``--officer`` on ``verify``, ``lookup`` and ``scan``.

Apart from their handlers (terminal.audit_cli) because the parser is built on
every command, the checks included, and a check should not compile or load the
officer and audit commands it never runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from base.cli import Parser


def officer_number(text: str) -> str:
    """argparse ``type`` of an officer number: a malformed one is a usage error."""
    from audit.officers import is_officer_number

    if not is_officer_number(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an officer number (1-16 letters, digits)"
        )
    return text


def add_officer_flag(parser: argparse.ArgumentParser) -> None:
    """``--officer NUMBER`` on ``verify``, ``lookup`` and ``scan``."""
    parser.add_argument(
        "--officer",
        type=officer_number,
        metavar="NUMBER",
        help="the officer making the check (recorded in the audit log)",
    )


def add_commands(
    sub: argparse._SubParsersAction[Any],
    common: argparse.ArgumentParser,
    json_flag: argparse.ArgumentParser,
) -> None:
    officer = sub.add_parser("officer", parents=[common], help="who may sign in here")
    verbs = officer.add_subparsers(
        dest="officer_command", metavar="add|list|remove", required=True, parser_class=Parser
    )
    add = verbs.add_parser("add", parents=[common], help="add an officer (asks for a PIN)")
    add.add_argument("number", type=officer_number)
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    verbs.add_parser("list", parents=[common, json_flag], help="the officers of this terminal")
    remove = verbs.add_parser("remove", parents=[common], help="remove an officer")
    remove.add_argument("number", type=officer_number)

    sub.add_parser(
        "device", parents=[common, json_flag], help="this terminal's device id and public key"
    )

    audit = sub.add_parser("audit", parents=[common], help="the record of every check")
    verbs = audit.add_subparsers(
        dest="audit_command", metavar="verify|export", required=True, parser_class=Parser
    )
    verbs.add_parser("verify", parents=[common, json_flag], help="recompute chain and signatures")
    export = verbs.add_parser(
        "export", parents=[common, json_flag], help="every entry, one JSON object a line"
    )
    export.add_argument("--from", dest="since", help="entries from this ISO 8601 time on")
    export.add_argument("--to", dest="until", help="entries before this ISO 8601 time")
