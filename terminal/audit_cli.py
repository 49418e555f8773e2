"""The accountability commands: ``officer add|list|remove``, ``device``,
``audit verify`` and ``audit export`` (their parser entries: terminal.audit_args).

terminal.cli's ``main`` dispatches to ``HANDLERS`` only when one of them is run;
argon2 (audit.officers' hasher) comes in only with the officer commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from terminal.strings import Catalogue

if TYPE_CHECKING:
    from audit.store import AuditLog

EXIT_OK = 0
EXIT_AUDIT_BROKEN = 7
"""``audit verify`` and ``audit export``: the log does not verify, or a row is damaged."""
Handler = Callable[[argparse.Namespace, str, Catalogue], int]


# --- officers ---------------------------------------------------------------------


def officer(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    import time

    from audit.officers import OfficerError, Officers
    from audit.store import AuditLogError

    _initialised(data_dir)
    try:
        with Officers.open(data_dir) as officers:
            if args.officer_command == "add":
                officers.add(args.number, _read_pin(args, catalogue), time.time())
                print(catalogue.text("officer.added", officer=args.number))
            elif args.officer_command == "remove":
                officers.remove(args.number)
                print(catalogue.text("officer.removed", officer=args.number))
            else:
                _list_officers(officers.all(), args.json, catalogue)
    except OfficerError as exc:
        raise _error("BAD_INPUT", str(exc)) from None
    except AuditLogError as exc:
        raise _error("BAD_INPUT", str(exc), 1) from None
    return EXIT_OK


def _list_officers(officers: list[Any], as_json: bool, catalogue: Catalogue) -> None:
    from terminal.render import iso

    if as_json:
        rows = [{"officer": o.number, "added_at": iso(o.added_at)} for o in officers]
        _print_json({"officers": rows})
    elif not officers:
        print(catalogue.text("officer.none"))
    for o in [] if as_json else officers:
        print(f"{o.number}  {iso(o.added_at)}")


def _read_pin(args: argparse.Namespace, catalogue: Catalogue) -> str:
    """The PIN: one line of stdin with ``--pin-stdin``, else asked twice without
    echo. Never an argument: it would sit in the shell's history and ``ps``."""
    import getpass

    if args.pin_stdin:
        try:
            return sys.stdin.readline(64).rstrip("\r\n")
        except (OSError, ValueError, AttributeError) as exc:
            raise _error("BAD_INPUT", f"cannot read the PIN from stdin: {exc}") from None
    if sys.stdin is None or not sys.stdin.isatty():
        raise _error("BAD_INPUT", "no terminal to ask the PIN on: give it with --pin-stdin")
    first = getpass.getpass(catalogue.text("officer.pin"))
    if getpass.getpass(catalogue.text("officer.pin_again")) != first:
        raise _error("BAD_INPUT", catalogue.text("officer.pin_mismatch"))
    return first


# --- the device -------------------------------------------------------------------


def device(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """The id and public key to enrol on the central side (made now if missing)."""
    from audit.device import DeviceKeyError, device_of, ensure_key, public_key

    _initialised(data_dir)
    try:
        key = ensure_key(data_dir)
    except (DeviceKeyError, OSError) as exc:
        raise _error("BAD_INPUT", str(exc)) from None
    ident, public = device_of(key), public_key(key).hex()
    if args.json:
        _print_json({"device": ident, "public_key": public})
    else:
        print(catalogue.text("device.id", device=ident))
        print(catalogue.text("device.public_key", public_key=public))
    return EXIT_OK


def make_device_key(data_dir: str) -> None:
    """At ``vicheck init``: the device key, unless the data dir has one (kept: the
    central side has it enrolled)."""
    from audit.device import DeviceKeyError, ensure_key

    try:
        ensure_key(data_dir)
    except (DeviceKeyError, OSError) as exc:
        raise _error("BAD_INPUT", f"cannot make the device key: {exc}") from None


# --- the audit log ----------------------------------------------------------------


def audit(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    from audit.device import DeviceKeyError, load_key, public_key
    from audit.store import AuditLog, AuditLogError

    _initialised(data_dir)
    try:
        key = load_key(data_dir)
        with AuditLog.open(data_dir) as log:
            if args.audit_command == "export":
                return _export(log, args)
            return _verify(log, None if key is None else public_key(key), args, catalogue)
    except (AuditLogError, DeviceKeyError) as exc:
        raise _error("BAD_INPUT", str(exc), 1) from None


def _verify(
    log: AuditLog, public: bytes | None, args: argparse.Namespace, catalogue: Catalogue
) -> int:
    from audit.verify import DEVICE, Finding, Verification, verify_log

    if public is None:  # no device key: nothing can have been signed
        base = log.base()
        finding = Finding(base.seq + 1, DEVICE, "the data dir has no device key")
        result = Verification(log.chain_device(), base.seq + 1, base.seq, log.held, None)
        if log.count():
            result = Verification(result.device, result.first, result.last, result.held, finding)
    else:
        result = verify_log(log, public)
    if args.json:
        _print_json(result.to_json())
    elif result.finding is not None:
        f = result.finding
        print(catalogue.text("audit.verify.broken", seq=f.seq, code=f.problem, detail=f.detail))
    else:
        fields = {"device": result.device, "held": result.held}
        if result.last < result.first:
            print(catalogue.text("audit.verify.empty", **fields))
        else:
            print(catalogue.text("audit.verify.ok", first=result.first, last=result.last, **fields))
    return EXIT_OK if result.ok else EXIT_AUDIT_BROKEN


def _export(log: AuditLog, args: argparse.Namespace) -> int:
    """Every entry that decodes, one JSON line each, in seq order; a row that does
    not is named on stderr and makes the exit 7 (the rest is still printed)."""
    from audit.chain import AuditFormatError, decode
    from audit.export import entry_json
    from terminal.render import iso

    since, until = _time_arg(args.since, "--from"), _time_arg(args.until, "--to")
    device = log.chain_device()
    damaged = False
    for row in log.rows():
        try:
            entry = decode(row.body)
        except AuditFormatError as exc:
            print(f"vicheck: entry {row.seq} is damaged: {exc}", file=sys.stderr)
            damaged = True
            continue
        if (since is None or entry.time >= since) and (until is None or entry.time < until):
            _print_json(entry_json(entry, iso, device))
    return EXIT_AUDIT_BROKEN if damaged else EXIT_OK


def _time_arg(text: str | None, flag: str) -> float | None:
    from base.cli import BadTime, parse_iso_time

    if text is None:
        return None
    try:
        return parse_iso_time(text)
    except BadTime as exc:
        raise _error("BAD_INPUT", f"{flag}: {exc}") from None


# --- shared -----------------------------------------------------------------------


def _initialised(data_dir: str) -> None:
    from terminal.config import Config, ConfigError, NotInitialised

    try:
        Config.load(data_dir)
    except NotInitialised as exc:
        raise _error("NOT_INITIALISED", str(exc)) from None
    except ConfigError as exc:
        raise _error("BAD_INPUT", str(exc)) from None


def _error(code: str, detail: str, exit_code: int = 2) -> Exception:
    from terminal.cli import CliError

    return CliError(code, detail, exit_code)


def _print_json(obj: Any) -> None:
    from terminal.cli import _print_json as print_json  # the one JSON printer

    print_json(obj)


HANDLERS: dict[str, Handler] = {"officer": officer, "device": device, "audit": audit}
