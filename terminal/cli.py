"""The ``vicheck`` command (SPEC section 7).

Imports are lazy on purpose: ``verify`` and ``lookup`` load only the standard
library, cbor2, PyNaCl and sqlite3, never Textual, OpenCV, httpx or sqlite-utils,
because a check at the roadside should answer before the officer looks up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from base.cli import Parser, UsageError
from keys.reasons import Verdict
from terminal.strings import Catalogue, detect_language

if TYPE_CHECKING:  # imported where used: verify and lookup must not pay for them
    import asyncio

    from terminal.audit_record import Recorder
    from terminal.clock import Clock
    from terminal.config import Config
    from terminal.scan.codes import InView
    from terminal.scan.sources import FrameSource
    from terminal.tui.app import VicheckApp
    from terminal.verdict import Checker, CheckResult

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_SYNC_FAILED = 6
VERDICT_EXIT: dict[Verdict, int] = {
    Verdict.VALID: 0,
    Verdict.CHECK: 3,
    Verdict.INVALID: 4,
    Verdict.ALERT: 5,
}
"""SPEC section 7: the exit status of a check."""


class CliError(Exception):
    """An error with a SPEC error code; exit 2 unless said otherwise."""

    def __init__(self, code: str, detail: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.exit_code = exit_code


_Parser = Parser
"""base.cli's parser: a usage error raises ``UsageError``, which ``main`` reports our
way (JSON when asked) as ``BAD_INPUT``, still exit 2."""


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="the terminal's state (default: $VICHECK_DATA_DIR or ~/.local/share/vicheck)",
    )
    common.add_argument("--lang", default=argparse.SUPPRESS, help="zh_CN or en (default: locale)")
    json_flag = _Parser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print one JSON object")
    at_flag = _Parser(add_help=False)
    at_flag.add_argument("--at", help="check at this ISO 8601 time (with offset) instead of now")

    parser = _Parser(
        prog="vicheck",
        description="Enforcement terminal for electronic vehicle inspection certificates.",
        parents=[common],
    )
    parser.add_argument("--camera", help="camera index, device, video or image directory")
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    parser.add_argument(
        "--no-shift-start", action="store_true", help="skip the shift-start sync screen"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    init = sub.add_parser("init", parents=[common, json_flag], help="configure a data dir")
    # Required unless --reset-clock-floor is given (checked in _init: argparse
    # cannot say "required unless").
    init.add_argument("--root-key", help="root public key, 64 hex digits (required)")
    init.add_argument("--server", help="base URL of the feed server (required)")
    init.add_argument("--feed", action="append", help="feed id (repeatable, required)")
    init.add_argument(
        "--reset-clock-floor",
        action="store_true",
        help="on a data dir already initialised, set the clock floor back to what the"
        " trust list and feeds held say (never past now), instead of configuring",
    )

    sub.add_parser("sync", parents=[common, json_flag], help="trust list, then every feed")

    verify = sub.add_parser(
        "verify", parents=[common, json_flag, at_flag], help="check a certificate's QR text"
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", help="the QR text, or - to read it from stdin")
    source.add_argument("--image", help="a picture holding the QR code")
    verify.add_argument(
        "--car", help="a picture of the car: its plate is compared with the certificate's"
    )

    scan = sub.add_parser(
        "scan", parents=[common, json_flag, at_flag], help="scan codes from a camera or files"
    )
    scan.add_argument(
        "--source",
        required=True,
        help="camera index (0), device (/dev/video0), video file, image or directory",
    )
    scan.add_argument("--width", type=int, default=1280, help="camera frame width")
    scan.add_argument("--height", type=int, default=720, help="camera frame height")

    # Dispatched to central.cli by vicheck.cli before parsing; listed here for --help.
    sub.add_parser("central", help="the issuing side: keys, registry, issue, publish, serve")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="the terminal on demo data (no camera or server needed: it brings its own)",
    )
    demo.add_argument("--vehicles", type=int, default=50_000, help="size of the demo registry")
    demo.add_argument(
        "--walkthrough",
        action="store_true",
        help="print the showcase checks instead of starting the terminal (default without a tty)",
    )

    lookup = sub.add_parser(
        "lookup", parents=[common, json_flag, at_flag], help="look a plate up (no code shown)"
    )
    lookup.add_argument("plate")
    lookup.add_argument("--type", dest="plate_type", help="plate type, two digits")

    plate = sub.add_parser(
        "plate", parents=[common, json_flag], help="read the plates in a picture of a car"
    )
    plate.add_argument("--image", required=True, help="a picture of the car")
    plate.add_argument(
        "--province", help="home province, offered for an unreadable one (default: the data dir's)"
    )
    from terminal import audit_args  # officers, the device, the audit log (issue 13)

    for check in (verify, scan, lookup):
        audit_args.add_officer_flag(check)
    audit_args.add_commands(sub, common, json_flag)
    return parser


Handler = Callable[[argparse.Namespace, str, Catalogue], int]
"""A command: its parsed arguments, the data dir and the catalogue in; its exit out."""


def main(argv: Sequence[str] | None = None, more: Mapping[str, Handler] | None = None) -> int:
    """Run one ``vicheck`` command. ``more`` adds commands composed above the terminal
    (``demo``, which needs the central side); the parser knows them all, for --help."""
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    catalogue = Catalogue(detect_language(_peek_lang(argv)))
    try:
        args = _parse(argv)
        catalogue = Catalogue(detect_language(getattr(args, "lang", None)))
        data_dir = str(getattr(args, "data_dir", None) or _default_data_dir())
        handlers: dict[str | None, Handler] = {
            "init": _init,
            "sync": _sync,
            "verify": _verify,
            "lookup": _lookup,
            "scan": _scan,
            "plate": _plate,
            None: _ui,
        }
        handlers.update(_audit_handlers(args.command))
        handlers.update(more or {})
        handler = handlers.get(args.command)
        if handler is None:
            raise CliError(
                "BAD_INPUT", f"{args.command!r} is a command of vicheck, not of terminal"
            )
        return handler(args, data_dir, catalogue)
    except CliError as exc:
        _report_error(exc.code, exc.detail, catalogue, want_json)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as exc:  # the contract: exit 1 for anything unexpected, no traceback
        if os.environ.get("VICHECK_DEBUG"):
            raise
        _report_error("INTERNAL", f"{type(exc).__name__}: {exc}", catalogue, want_json)
        return EXIT_UNEXPECTED


def _parse(argv: list[str]) -> argparse.Namespace:
    try:
        return build_parser().parse_args(_text_after_dashdash(argv))
    except UsageError as exc:
        raise CliError("BAD_INPUT", exc.message) from None


def run() -> NoReturn:
    sys.exit(main())


EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE: what the shell reports for any Unix tool whose reader went away
(``yes | head -1``), so ``set -o pipefail`` scripts see the usual status; 0 would
claim results were delivered that were not."""


def _pipe_closed() -> int:
    """The reader of stdout went away (``vicheck scan ... | head -1``): stop quietly.
    stdout is pointed at /dev/null so the interpreter's final flush of what is
    still buffered cannot fail again with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests, closed)
        pass
    return EXIT_PIPE_CLOSED


VERIFY_FLAGS = {"--json", "-h", "--help"}
VERIFY_OPTIONS = {"--at", "--image", "--data-dir", "--lang", "--officer", "--car"}


def _text_after_dashdash(argv: list[str]) -> list[str]:
    """SPEC 7 judges any TEXT by section 6.1, even one that starts with "-" (which
    argparse would take for an option): move such a text to the end, after "--"."""
    if "verify" not in argv or "--" in argv:
        return argv
    i = argv.index("verify") + 1
    while i < len(argv):
        arg = argv[i]
        if arg in VERIFY_OPTIONS:
            i += 2
            continue
        known = arg in VERIFY_FLAGS or arg.split("=", 1)[0] in VERIFY_OPTIONS
        if arg.startswith("-") and arg != "-" and not known:
            return [*argv[:i], *argv[i + 1 :], "--", arg]  # the text goes last, after "--"
        i += 1
    return argv


def _peek_lang(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _default_data_dir() -> str:
    from terminal.config import default_data_dir

    return default_data_dir()


def _report_error(code: str, detail: str, catalogue: Catalogue, want_json: bool) -> None:
    from terminal.render import error_json, printable

    message = catalogue.text(f"error.{code}", detail=detail)
    if want_json:
        _print_json(error_json(code, message))
    else:
        print(f"vicheck: {printable(message)}", file=sys.stderr)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _load_config(data_dir: str) -> Config:
    from terminal.config import Config, ConfigError, NotInitialised

    try:
        return Config.load(data_dir)
    except NotInitialised as exc:
        raise CliError("NOT_INITIALISED", str(exc)) from None
    except ConfigError as exc:
        raise CliError("BAD_INPUT", str(exc)) from None


def _clock(args: argparse.Namespace) -> Clock:
    from terminal.clock import BadTime, Clock

    if args.at is None:
        return Clock()
    try:
        return Clock.parse_at(args.at)
    except BadTime as exc:
        raise CliError("BAD_INPUT", str(exc)) from None


def _checker(args: argparse.Namespace, data_dir: str) -> Checker:
    from cache.store import Store, StoreError
    from terminal.verdict import Checker

    config = _load_config(data_dir)
    clock = _clock(args)
    try:
        store = Store.open(data_dir)
    except StoreError as exc:
        raise CliError("NOT_INITIALISED", str(exc)) from None
    return Checker(store, config.feeds, clock)


def _emit_result(
    result: CheckResult, args: argparse.Namespace, catalogue: Catalogue, seen: InView | None = None
) -> int:
    from terminal.render import result_json, result_text

    if args.json:
        _print_json(result_json(result, catalogue, seen))
    else:
        print(result_text(result, catalogue, seen))
    return VERDICT_EXIT[result.verdict]


def _verify(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    checker = _checker(args, data_dir)
    if args.image is not None:
        seen = _read_image(args.image, checker)
        if args.car is not None:
            return _verify_car(args, data_dir, catalogue, checker, seen.result, "image", seen)
        _record(args, data_dir, catalogue, checker, seen.result, "image")
        return _emit_result(seen.result, args, catalogue, seen)
    elif args.text == "-":
        result = checker.verify(_read_stdin())
    else:
        result = checker.verify(args.text.strip())
    if args.car is not None:
        return _verify_car(args, data_dir, catalogue, checker, result, "typed")
    _record(args, data_dir, catalogue, checker, result, "typed")
    return _emit_result(result, args, catalogue)


def _verify_car(
    args: argparse.Namespace,
    data_dir: str,
    catalogue: Catalogue,
    checker: Checker,
    result: CheckResult,
    how: str,
    seen: InView | None = None,
) -> int:
    """``verify --car`` (issue 16): the verdict cross-checked with the plate read from
    the car (``PLATE_MISMATCH``), the plates read under ``car_plates``."""
    from terminal.plate_cli import PictureUnreadable, car_plates_text, plates_json, verify_with_car
    from terminal.render import result_json, result_text

    try:
        result, plates = verify_with_car(result, args.car, _load_config(data_dir).home_province)
    except PictureUnreadable as exc:
        raise CliError("BAD_INPUT", str(exc)) from None
    _record(args, data_dir, catalogue, checker, result, how)
    if args.json:
        _print_json({**result_json(result, catalogue, seen), "car_plates": plates_json(plates)})
    else:
        print(f"{result_text(result, catalogue, seen)}\n{car_plates_text(plates, catalogue)}")
    return VERDICT_EXIT[result.verdict]


def _plate(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """``vicheck plate --image FILE`` (issue 16): needs no data dir; its home province
    (offered for an unreadable province character) is used when there is one."""
    from keys.fields import PROVINCES
    from terminal.config import Config, ConfigError, NotInitialised
    from terminal.plate_cli import PictureUnreadable, plate_command

    home = args.province
    if home is not None and (len(home) != 1 or home not in PROVINCES):
        raise CliError("BAD_INPUT", f"--province {home!r} is not one of the 31 provinces")
    if home is None:
        try:
            home = Config.load(data_dir).home_province
        except (NotInitialised, ConfigError):
            home = None
    try:
        return plate_command(args, home, catalogue)
    except PictureUnreadable as exc:
        raise CliError("BAD_INPUT", str(exc)) from None


def _record(
    args: argparse.Namespace,
    data_dir: str,
    catalogue: Catalogue,
    checker: Checker,
    result: CheckResult,
    how: str,
) -> None:
    """The check's audit entry, committed before it answers; a failure to write it
    is said on stderr and logged, and changes nothing of the answer (issue 13)."""
    recorder = _recorder(data_dir, catalogue)
    recorder.record(result, how, checker, args.officer)
    recorder.close()


def _recorder(data_dir: str, catalogue: Catalogue) -> Recorder:
    from terminal.audit_record import Recorder

    return Recorder(data_dir, catalogue, lambda text: print(text, file=sys.stderr))


def _audit_handlers(command: str | None) -> dict[str | None, Handler]:
    """``officer``, ``device``, ``audit``: loaded only when one of them is run."""
    if command not in ("officer", "device", "audit"):
        return {}
    from terminal.audit_cli import HANDLERS

    return {name: handler for name, handler in HANDLERS.items()}


STDIN_LIMIT = 8 * 1024
"""The most ``verify -`` reads: a QR text is at most 1,500 characters, all ASCII
(SPEC 2); the rest is room for a scan engine's whitespace around it."""


def _read_stdin() -> str:
    """The QR text on stdin, ready to judge by SPEC 6.1, read without ever holding
    more than ``STDIN_LIMIT`` + 1 bytes (``verify - < /dev/zero`` must end).

    Bytes are decoded as the interpreter decodes arguments (UTF-8, undecodable
    bytes kept as surrogates), so the same bytes get the same verdict either way
    (SPEC 7: TEXT as an argument or on stdin is judged by 6.1): ``FORMAT``, not
    an input error; stdin was read, it just holds no certificate. Input over the
    limit is over the size limit whatever it holds: it is handed on unstripped
    (at least 2,048 characters even if every one took 4 bytes), so 6.1 step 1
    judges it ``FORMAT`` as it would the same text given as an argument."""
    try:
        if sys.stdin is None:
            raise OSError("stdin is closed")
        data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
    except (OSError, ValueError, AttributeError) as exc:
        raise CliError("BAD_INPUT", f"cannot read the QR text from stdin: {exc}") from None
    text = data.decode("utf-8", "surrogateescape")
    return text if len(data) > STDIN_LIMIT else text.strip()


def _read_image(path: str, checker: Checker) -> InView:
    from terminal.scan.image import ImageUnreadable, NoCodeFound, check_picture

    try:
        return check_picture(path, checker)
    except ImageUnreadable as exc:
        raise CliError("BAD_INPUT", str(exc)) from None
    except NoCodeFound as exc:
        raise CliError("NO_CODE_FOUND", str(exc)) from None


def _lookup(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    from terminal.verdict import BadPlate

    checker = _checker(args, data_dir)
    try:
        result = checker.lookup(args.plate, args.plate_type)
    except BadPlate as exc:
        raise CliError("BAD_PLATE", str(exc)) from None
    _record(args, data_dir, catalogue, checker, result, "lookup")
    return _emit_result(result, args, catalogue)


INIT_SETTINGS = ("root_key", "server", "feed")


def _init(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """``init`` configures; ``init --reset-clock-floor`` only resets the floor of a
    data dir configured already, so it takes none of the configuring options."""
    missing = [f"--{name.replace('_', '-')}" for name in INIT_SETTINGS if not _given(args, name)]
    if args.reset_clock_floor:
        if len(missing) < len(INIT_SETTINGS):
            raise CliError(
                "BAD_INPUT", "--reset-clock-floor takes none of --root-key, --server, --feed"
            )
        return _reset_clock_floor(args, data_dir, catalogue)
    if missing:  # argparse's own words, as when these were required=True
        raise CliError("BAD_INPUT", f"the following arguments are required: {', '.join(missing)}")
    return _configure(args, data_dir, catalogue)


def _given(args: argparse.Namespace, name: str) -> bool:
    return getattr(args, name) is not None


def _configure(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    from cache.apply import CacheWriter
    from feeds.model import is_feed_id
    from keys.keypair import KeyFileError, parse_public_hex
    from terminal.config import Config, ConfigError, NotInitialised

    try:
        root_key = parse_public_hex(args.root_key)
    except KeyFileError as exc:
        raise CliError("BAD_INPUT", f"--root-key: {exc}") from None
    bad = [f for f in args.feed if not is_feed_id(f)]
    if bad:
        raise CliError("BAD_INPUT", f"feed id {bad[0]!r} does not match [a-z0-9-]{{1,32}}")
    if not _is_http_url(args.server):
        raise CliError("BAD_INPUT", f"--server {args.server!r} is not an http(s) URL")
    feeds = tuple(dict.fromkeys(args.feed))
    try:
        previous = Config.load(data_dir)
    except (NotInitialised, ConfigError):
        previous = None
    try:
        writer = CacheWriter(data_dir)
    except OSError as exc:
        raise CliError("BAD_INPUT", f"cannot create the data dir {data_dir}: {exc}") from None
    try:
        if previous is not None and previous.root_key != root_key:
            writer.clear_trust_list()  # signed by another root: no longer trusted
    finally:
        writer.close()
    Config(root_key, args.server.rstrip("/"), feeds).save(data_dir)
    from terminal.audit_cli import make_device_key

    make_device_key(data_dir)  # the key that signs the audit log (kept if there is one)
    message = catalogue.text(
        "init.done", data_dir=data_dir, server=args.server, feeds=", ".join(feeds)
    )
    if args.json:
        _print_json({"data_dir": str(data_dir), "server": args.server, "feeds": list(feeds)})
    else:
        print(message)
    return EXIT_OK


def _reset_clock_floor(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """SPEC 4.3's floor only rises: after a far-future signed time it would hold
    every check on a wrong "now" for good. This is the administrator's way back,
    taken under the sync lock (no sync interleaves with it) and logged. The new
    floor comes from the data held alone; when the device clock reads earlier
    than it, the clock is what is wrong, so the command says so (``clock_behind``)
    for the administrator to set it right."""
    import sqlite3
    import time

    from cache.apply import CacheWriter, SyncBusy
    from cache.store import reset_clock_floor
    from cache.sync import log_event
    from terminal.render import iso

    _load_config(data_dir)  # only an initialised data dir has a floor worth resetting
    now = time.time()
    try:
        writer = CacheWriter(data_dir)
    except (OSError, sqlite3.Error) as exc:
        raise CliError("BAD_INPUT", f"cannot open the cache in {data_dir}: {exc}") from None
    try:
        with writer.locked():
            reset = reset_clock_floor(writer.conn)
    except (SyncBusy, OSError, sqlite3.Error) as exc:
        raise CliError("BAD_INPUT", f"cannot reset the clock floor: {exc}") from None
    finally:
        writer.close()
    fields = {"old_floor": reset.old, "new_floor": reset.new, "held": reset.held}
    log_event(writer.data_dir, "clock_floor_reset", now, **fields)
    behind = now < reset.new
    if args.json:
        floor = {"old": iso(reset.old), "new": iso(reset.new), "clock_behind": behind}
        _print_json({"clock_floor": floor})
        return EXIT_OK
    print(catalogue.text("ui.status.floor", floor=f"{iso(reset.old)} -> {iso(reset.new)}"))
    if behind:
        print(catalogue.text("ui.status.clock_behind"))
    return EXIT_OK


def _is_http_url(text: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _sync(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """Sync, then the report. On a terminal (and not ``--json``), one line on stderr
    redrawn with the bytes, rate and time left of the file being downloaded; never
    otherwise, so what scripts read stays as it was."""
    import time

    from cache.sync import sync
    from terminal.progress import TtyLine
    from terminal.render import sync_report_lines

    config = _load_config(data_dir)
    line = None
    if not args.json and sys.stdout.isatty():
        line = TtyLine(sys.stderr, catalogue, time.monotonic)
    try:
        report = sync(
            data_dir,
            config.server,
            config.root_key,
            config.feeds,
            time.time,
            line if line is not None else lambda _event: None,
        )
    finally:
        if line is not None:
            line.end()
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(sync_report_lines(report, catalogue, detailed=True)))
    return EXIT_OK if report.ok else EXIT_SYNC_FAILED


def _scan(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """One JSON line (or one block of text) per code found; exit with the worst verdict."""
    import time

    from terminal.render import error_json, result_json, result_text
    from terminal.scan.pipeline import ScanPipeline
    from terminal.scan.scanner import scan
    from terminal.scan.sources import SourceError, open_source

    checker = _checker(args, data_dir)
    try:
        source = open_source(args.source, args.width, args.height)
    except SourceError as exc:
        raise CliError("BAD_INPUT", str(exc)) from None
    worst, found = EXIT_OK, False
    recorder, how = _recorder(data_dir, catalogue), "camera" if source.live else "image"
    try:
        for outcome in scan(source, checker, ScanPipeline(), time.monotonic):
            if outcome.result is None:
                message = catalogue.text(f"error.{outcome.error}", detail=outcome.label)
                if args.json:
                    _print_json({"source": outcome.label, **error_json(outcome.error, message)})
                else:
                    print(f"{outcome.label}: {message}", flush=True)
                continue
            found = True
            worst = max(worst, VERDICT_EXIT[outcome.result.verdict])
            recorder.record(outcome.result, how, checker, args.officer)
            if args.json:
                _print_json(
                    {
                        **result_json(outcome.result, catalogue, outcome.in_view),
                        "source": outcome.label,
                    }
                )
            else:
                text = result_text(outcome.result, catalogue, outcome.in_view)
                print(f"== {outcome.label}\n{text}", flush=True)
    except SourceError as exc:  # a single picture that cannot be read (or is a bomb)
        raise CliError("BAD_INPUT", str(exc)) from None
    finally:
        source.close()
        recorder.close()
    return worst if found else EXIT_USAGE


def _ui(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """The officer's terminal (Textual), on the configured data dir."""
    from pathlib import Path

    from terminal.clock import Clock
    from terminal.tui.app import make_app

    config = _load_config(data_dir)
    camera = args.camera
    if camera is None and os.path.exists("/dev/video0"):
        camera = "/dev/video0"
    factory = None
    if camera is not None:

        def factory() -> FrameSource:
            from terminal.scan.sources import open_source

            return open_source(camera)

    app = make_app(
        config,
        Path(data_dir),
        Clock(),
        factory,
        catalogue,
        shift_start=not args.no_shift_start,
        theme_name=f"vicheck-{args.theme}",
    )
    runner, ended = _run_app(app, WORKER_GRACE)
    # Textual sets return_code to 1 on an unhandled exception (it has already shown
    # the traceback): SPEC 7 says 1 for anything unexpected, never 0.
    code = EXIT_UNEXPECTED if app.return_code else EXIT_OK
    if not ended:
        # A sync the app cancelled on quit is still running (a read that will not
        # wake, a long apply): cut it off rather than keep a blank terminal waiting.
        # The cache is kill-safe: a snapshot loads into a new slot that one SQLite
        # transaction swaps in, and a partial download is only ever a prefix that
        # the next sync checks by hash.
        print(catalogue.text("sync.cancelled"), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    runner.close()
    return code


WORKER_GRACE = 1.0
"""Seconds the officer's terminal waits, once it has quit, for its worker threads: a
cancelled sync ends within a tenth of that; with Textual's own shutdown before it,
the process is gone within 2 s of Ctrl+Q (issue 15) either way."""


def _run_app(app: VicheckApp, grace: float) -> tuple[asyncio.Runner, bool]:
    """Run ``app`` on a loop whose worker threads are ours to wait for; its runner
    (to close) and whether every worker thread ended within ``grace`` s of the exit.

    Not ``app.run()`` alone: ``asyncio.run`` joins the worker threads with no bound
    (issue 15: a sync blocked on a trickling server kept the process alive)."""
    import asyncio
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    prefix = "vicheck-worker"
    runner = asyncio.Runner()
    loop = runner.get_loop()
    executor = ThreadPoolExecutor(thread_name_prefix=prefix)
    loop.set_default_executor(executor)
    app.run(loop=loop)
    executor.shutdown(wait=False, cancel_futures=True)
    until = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread.name.startswith(prefix):
            thread.join(max(until - time.monotonic(), 0.0))
            if thread.is_alive():
                return runner, False
    return runner, True
