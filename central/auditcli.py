"""``vicheck central device ...`` and ``vicheck central audit ...`` (argparse).

Their own module so central/cli.py only wires them in; nothing heavy is imported
before a command runs (``--help`` and the other commands never load Starlette).

Exit status: 0 done (``verify``: every chain checked fits), 2 usage or input
error, 3 a chain does not fit (``verify``; ``export`` after writing the lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from base.cli import BadTime, parse_iso_time
from central.errors import InputError

if TYPE_CHECKING:
    from central.audit import AuditStore

EXIT_OK, EXIT_BROKEN = 0, 3
DEFAULT_AUDIT_PORT = 8046
"""Where ``audit serve`` listens unless told (``central.nginx.AUDIT_UPSTREAM``)."""

Command = Callable[[argparse.Namespace, Path, int], int]


def add_parsers(
    sub: argparse._SubParsersAction[Any], parser: type[argparse.ArgumentParser]
) -> None:
    """The ``device`` and ``audit`` commands, under ``sub``; ``parser`` is the
    command line's parser class (usage errors raise, as elsewhere)."""
    device = sub.add_parser("device", help="terminals enrolled for audit uploads")
    dev = device.add_subparsers(dest="device_command", required=True, parser_class=parser)
    add = dev.add_parser("add", help="enrol a terminal (`vicheck device` prints both)")
    add.add_argument("device", help="device id, vt- and 16 hex digits")
    add.add_argument("--public-key", required=True, help="its Ed25519 public key, 64 hex")
    dev.add_parser("list", help="the enrolled terminals, one JSON object a line")

    audit = sub.add_parser("audit", help="the audit chains received from terminals")
    aud = audit.add_subparsers(dest="audit_command", required=True, parser_class=parser)
    verify = aud.add_parser("verify", help="recompute chains and signatures")
    verify.add_argument("device", nargs="?", help="one device (default: every one)")
    verify.add_argument("--json", action="store_true", help="one JSON object a device")
    export = aud.add_parser("export", help="a device's entries, one JSON object a line")
    export.add_argument("--device", required=True)
    export.add_argument("--from", dest="since", help="ISO 8601 time, inclusive")
    export.add_argument("--to", dest="until", help="ISO 8601 time, inclusive")
    export.add_argument("--json", action="store_true", help="the only format (JSON lines)")
    serve = aud.add_parser("serve", help="the upload endpoint alone (behind nginx)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_AUDIT_PORT)
    serve.add_argument("--verbose", action="store_true")


def _print(obj: dict[str, object]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _time(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(parse_iso_time(text))
    except BadTime as exc:
        raise InputError(f"{flag} {exc}") from None


def device_cmd(args: argparse.Namespace, home: Path, now: int) -> int:
    from central.audit import AuditStore, parse_public_key

    with AuditStore.of_home(home) as store:
        if args.device_command == "add":
            key = parse_public_key(args.public_key)
            added = store.add_device(args.device, key, now)
            _print({"device": args.device, "public_key": key.hex(), "added": added})
        else:
            for known in store.devices():
                _print(
                    {
                        "device": known.device,
                        "public_key": known.public_key.hex(),
                        "added_at": known.added_at,
                        "held": store.held(known.device),
                    }
                )
    return EXIT_OK


def audit_cmd(args: argparse.Namespace, home: Path, now: int) -> int:
    if args.audit_command == "serve":
        return _serve(args, home)
    from central.audit import AuditStore

    with AuditStore.of_home(home) as store:
        if args.audit_command == "verify":
            return _verify(store, args.device, args.json)
        return _export(store, args)


def _verify(store: AuditStore, device: str | None, as_json: bool) -> int:
    names = [device] if device else [d.device for d in store.devices()]
    worst = EXIT_OK
    for name in names:
        result = store.verify(name)
        if not result.ok:
            worst = EXIT_BROKEN
        if as_json:
            _print(result.to_json())
        elif result.finding is None:
            print(f"{name}: ok, entries {result.first} to {result.last}")
        else:
            finding = result.finding
            print(f"{name}: entry {finding.seq} does not fit ({finding.problem}): {finding.detail}")
    return worst


def _export(store: AuditStore, args: argparse.Namespace) -> int:
    since, until = _time("--from", args.since), _time("--to", args.until)
    for line in store.export(args.device, since, until):
        _print(line)
    result = store.verify(args.device)
    if result.finding is not None:
        finding = result.finding
        print(
            f"warning: the chain of {args.device} does not verify: entry {finding.seq}"
            f" ({finding.problem}): {finding.detail}",
            file=sys.stderr,
        )
        return EXIT_BROKEN
    return EXIT_OK


def _serve(args: argparse.Namespace, home: Path) -> int:
    from central.auditapp import serve_audit

    if not 0 <= args.port <= 65535:
        raise InputError("--port is 0 to 65535")
    print(f"audit uploads on http://{args.host}:{args.port}/audit/", file=sys.stderr, flush=True)
    try:
        serve_audit(home, args.host, args.port, args.verbose)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK
