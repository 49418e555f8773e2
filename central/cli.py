"""``vicheck central ...``: the issuing side's commands (argparse).

Everything lives under one home directory (``--home``, ``VICHECK_CENTRAL_HOME``,
default ``./vicheck-central``)::

    keys/NAME.key, NAME.pub   key pairs (``init``, ``keygen``)
    keys.toml                 the keys configuration (``trustlist``)
    registry.db               the vehicle registry (``registry``, ``issue``, ``publish``)
    public/                   the served tree: trustlist.cose, feeds/{feed}/...
    issued/                   QR pictures and printable pages (``issue``)

Exit status: 0 done, 2 usage or input error (the message names the row, key or
vehicle), 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from base.cli import BadTime, Parser, UsageError, parse_iso_time
from central.auditcli import add_parsers as add_audit_parsers
from central.auditcli import audit_cmd, device_cmd
from central.errors import InputError
from keys.keypair import KeyFileError, KeyPair

if TYPE_CHECKING:
    from central.registry import Registry

EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT = 0, 1, 2
DEFAULT_HOME = "vicheck-central"


_Parser = Parser  # base.cli's: a usage error raises UsageError, reported as input errors


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vicheck central", description="the issuing and publishing side")
    parser.add_argument("--home", help="central home directory (VICHECK_CENTRAL_HOME)")
    parser.add_argument("--at", help="ISO 8601 time to use instead of the clock")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = sub.add_parser("init", help="root, cert and feed keys and a keys.toml")
    init.add_argument("--province", required=True)

    keygen = sub.add_parser("keygen", help="generate a key pair")
    keygen.add_argument("--role", required=True, choices=["root", "cert", "feed"])
    keygen.add_argument("--name", help="file name under keys/ (default: the role)")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")

    trust = sub.add_parser("trustlist", help="sign public/trustlist.cose from keys.toml")
    trust.add_argument("--config", help="keys configuration (default: HOME/keys.toml)")

    registry = sub.add_parser("registry", help="the vehicle registry")
    reg = registry.add_subparsers(dest="registry_command", required=True, parser_class=_Parser)
    imp = reg.add_parser("import", help="import vehicles from CSV (all rows or none)")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--replace", action="store_true", help="remove vehicles the file omits")
    gen = reg.add_parser("generate", help="a synthetic province registry")
    gen.add_argument("--province", required=True)
    gen.add_argument("--vehicles", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--as-of", help="YYYY-MM the data is as of (default: this month)")

    issue = sub.add_parser("issue", help="sign a certificate for a registry vehicle")
    issue.add_argument("plate")
    issue.add_argument("--type", dest="plate_type")
    issue.add_argument("--basis", type=int, required=True, choices=[1, 2, 3, 4])
    issue.add_argument("--key", default="cert", help="certificate key name under keys/")
    issue.add_argument("--issuer", help="issuing authority (default: 桂A车管所 style)")
    issue.add_argument("--out", type=Path, help="where the PNG and page go (HOME/issued)")
    issue.add_argument("--json", action="store_true")

    rev = sub.add_parser("revoke", help="revoke an issued certificate by serial (hex)")
    rev.add_argument("serial")

    pub = sub.add_parser("publish", help="publish feeds and manifests to HOME/public")
    pub.add_argument("--feed", help="a new full feed's id (once; then remembered)")
    pub.add_argument("--scope", action="append", help="plate prefix of the new full feed")
    pub.add_argument("--hotlist", help="a new hotlist feed's id")
    pub.add_argument("--key", default="feed", help="feed key name under keys/")
    pub.add_argument("--expires-hours", type=int, default=48)
    pub.add_argument("--keep-days", type=int, default=7, help="deltas kept for terminals")
    pub.add_argument("--snapshot-days", type=int, default=7, help="a fresh snapshot this often")
    pub.add_argument("--snapshot", action="store_true", help="write a snapshot now")

    serve = sub.add_parser("serve", help="static HTTP of HOME/public (development, demo)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8045)
    serve.add_argument("--dir", type=Path, help="directory to serve (HOME/public)")
    serve.add_argument("--verbose", action="store_true")
    serve.add_argument(
        "--header-timeout", type=float, default=5.0, help="seconds for a request head"
    )
    serve.add_argument("--idle-timeout", type=float, default=15.0, help="keep-alive idle seconds")
    serve.add_argument("--max-connections", type=int, default=256)

    nginx = sub.add_parser("nginx-config", help="print the nginx server block for HOME/public")
    nginx.add_argument("--listen", default="127.0.0.1:8080")
    nginx.add_argument("--dir", type=Path)
    nginx.add_argument("--audit", help="host:port of `audit serve` (127.0.0.1:8046)")
    add_audit_parsers(sub, _Parser)
    return parser


def main(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
        home = Path(args.home or os.environ.get("VICHECK_CENTRAL_HOME") or DEFAULT_HOME)
        return _COMMANDS[args.command](args, home)
    except (InputError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return EXIT_UNEXPECTED
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except Exception as exc:
        if os.environ.get("VICHECK_DEBUG"):
            raise
        print(f"unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNEXPECTED


def _now(args: argparse.Namespace) -> int:
    if args.at is None:
        return int(time.time())
    try:
        return int(parse_iso_time(args.at))
    except BadTime as exc:
        raise InputError(f"--at {exc}") from None


def _key(home: Path, name: str) -> KeyPair:
    try:
        return KeyPair.load(home / "keys" / f"{name}.key")
    except KeyFileError as exc:
        raise InputError(f"key {name!r}: {exc}") from None


def _registry(home: Path) -> Registry:
    """Opened on demand: ``--help`` and ``serve`` never load SQLite."""
    from central.registry import Registry

    return Registry(home / "registry.db")


def _print(obj: dict[str, object]) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _init(args: argparse.Namespace, home: Path) -> int:
    from central.quickstart import init_home

    _print({"home": str(home), "public": init_home(home, args.province, _now(args))})
    return EXIT_OK


def _keygen(args: argparse.Namespace, home: Path) -> int:
    from central.keysconfig import keygen

    name = args.name or args.role
    pair = keygen(home / "keys", name, force=args.force)
    _print({"name": name, "role": args.role, "kid": pair.kid.hex(), "public": pair.public.hex()})
    return EXIT_OK


def _trustlist(args: argparse.Namespace, home: Path) -> int:
    from central.keysconfig import publish_trust_list

    config = Path(args.config) if args.config else home / "keys.toml"
    out = home / "public" / "trustlist.cose"
    full_feeds: dict[str, tuple[str, ...]] = {}
    if (home / "registry.db").exists():  # feeds already published bind the feed keys
        from central.publish import published_feeds
        from feeds.model import KIND_FULL

        with _registry(home) as registry:
            full_feeds = {f.feed: f.scope for f in published_feeds(registry) if f.kind == KIND_FULL}
    version = publish_trust_list(config, out, _now(args), full_feeds)
    _print({"trust_list": str(out), "version": version})
    return EXIT_OK


def _registry_cmd(args: argparse.Namespace, home: Path) -> int:
    with _registry(home) as registry:
        if args.registry_command == "import":
            from central.csvimport import import_csv

            rows = import_csv(registry, args.csv, replace=args.replace)
            _print({"imported": rows, "vehicles": registry.count()})
        else:
            from central.generate import generate_into
            from keys.fields import is_month, month_of

            as_of = args.as_of or month_of(_now(args))
            if not is_month(as_of):
                raise InputError(f"--as-of {as_of!r} is not YYYY-MM")
            if args.vehicles < 0:
                raise InputError("--vehicles must not be negative")
            count = generate_into(registry, args.province, args.vehicles, args.seed, as_of)
            _print({"generated": count, "province": args.province, "as_of": as_of})
    return EXIT_OK


def _issue(args: argparse.Namespace, home: Path) -> int:
    from central.issue import issue

    key = _key(home, args.key)
    with _registry(home) as registry:
        issued = issue(
            registry,
            args.plate,
            args.plate_type,
            args.basis,
            key,
            _now(args),
            args.out or home / "issued",
            args.issuer,
        )
    if args.json:
        _print(issued.to_json())
    else:
        print(issued.text)
        print(f"QR picture: {issued.png}\nprintable page: {issued.page}", file=sys.stderr)
    return EXIT_OK


def _revoke(args: argparse.Namespace, home: Path) -> int:
    try:
        serial = bytes.fromhex(args.serial)
    except ValueError:
        raise InputError(f"serial {args.serial!r} is not hexadecimal") from None
    with _registry(home) as registry, registry.transaction():
        registry.revoke(serial, _now(args))
    _print({"revoked": serial.hex()})
    return EXIT_OK


def _publish(args: argparse.Namespace, home: Path) -> int:
    from central.publish import FeedSpec, PublishSettings, publish
    from feeds.model import KIND_FULL, KIND_HOTLIST

    new = []
    if args.feed:
        if not args.scope:
            raise InputError(f"feed {args.feed}: give its plate prefixes with --scope")
        new.append(FeedSpec(args.feed, KIND_FULL, tuple(args.scope)))
    elif args.scope:
        raise InputError("--scope belongs to a --feed")
    if args.hotlist:
        new.append(FeedSpec(args.hotlist, KIND_HOTLIST, ("*",)))
    for name in ("expires_hours", "keep_days", "snapshot_days"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    settings = PublishSettings(
        out=home / "public",
        key=_key(home, args.key),
        now=_now(args),
        expires=args.expires_hours * 3600,
        keep_days=args.keep_days,
        snapshot_days=args.snapshot_days,
        force_snapshot=args.snapshot,
    )
    with _registry(home) as registry:
        results = publish(registry, new, settings)
    _print({"feeds": [r.to_json() for r in results]})
    return EXIT_OK


def _serve(args: argparse.Namespace, home: Path) -> int:
    from central.auditserve import audit_beside
    from central.serve import StaticServer

    root = args.dir or home / "public"
    if not root.is_dir():
        raise InputError(f"{root} is not a directory: publish first")
    if args.header_timeout <= 0 or args.idle_timeout <= 0 or args.max_connections < 1:
        raise InputError("timeouts must be positive and --max-connections at least 1")
    # The feeds and POST /audit/ on one base URL: central/auditserve.py says how.
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: the socket folder goes
    with audit_beside(home, args.verbose) as handler:
        try:
            server = StaticServer(
                root,
                args.host,
                args.port,
                args.verbose,
                header_timeout=args.header_timeout,
                idle_timeout=args.idle_timeout,
                max_connections=args.max_connections,
                handler=handler,
            )
        except OSError as exc:
            raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        print(f"serving {root} and audit uploads on {server.url}", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    return EXIT_OK


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _nginx(args: argparse.Namespace, home: Path) -> int:
    from central.nginx import AUDIT_UPSTREAM, server_block

    audit = args.audit or AUDIT_UPSTREAM
    print(server_block(args.dir or home / "public", args.listen, audit), end="")
    return EXIT_OK


def _device(args: argparse.Namespace, home: Path) -> int:
    return device_cmd(args, home, _now(args))


def _audit(args: argparse.Namespace, home: Path) -> int:
    return audit_cmd(args, home, _now(args))


_COMMANDS = {
    "init": _init,
    "keygen": _keygen,
    "trustlist": _trustlist,
    "registry": _registry_cmd,
    "issue": _issue,
    "revoke": _revoke,
    "publish": _publish,
    "serve": _serve,
    "nginx-config": _nginx,
    "device": _device,
    "audit": _audit,
}
