"""``vicheck demo``: the terminal on demo data, with no camera and no server.

Runs the central side as a province would, in a temporary folder: demo keys and
their trust list, a generated 桂 registry of about 50,000 vehicles plus the
showcase vehicles, certificates issued from it, a first publication (snapshot),
then a day's changes (a car reported stolen, a certificate revoked) published as a
delta. It serves that on 127.0.0.1, initialises and syncs a demo data dir (the
snapshot, then the delta), and checks the showcase codes and plates as an officer
would. Everything it starts stops when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from audit.device import device_of, ensure_key, public_key
from cache.store import Store
from cache.sync import sync
from central.audit import AuditStore
from central.auditserve import audit_beside
from central.generate import generate_into
from central.issue import issue
from central.keysconfig import publish_trust_list
from central.publish import FeedSpec, PublishSettings, publish
from central.registry import Registry, RegistryVehicle
from central.serve import StaticServer
from devkit.clock import DAY, YEAR
from devkit.keys import Pki, Seeds
from feeds.model import KIND_FULL, KIND_HOTLIST
from keys.certificate import Certificate, issue_certificate
from keys.fields import month_of
from terminal.clock import Clock
from terminal.config import Config
from terminal.strings import Catalogue
from terminal.verdict import Checker, CheckResult

SEED = 2026
FEEDS = (FeedSpec("gx", KIND_FULL, ("桂",)), FeedSpec("hot", KIND_HOTLIST, ("*",)))


DEMO_SEEDS = Seeds(
    root=b"vicheck demo root",
    gui=b"vicheck demo cert gui",
    yue=b"vicheck demo cert yue",
    feed=b"vicheck demo feed",
    forger=b"not a trusted key",
)
"""The demo's own keys, so demo certificates stay valid across runs (and never
verify against a test world's)."""


def a_year_on(now: int) -> str:
    """This month next year (YYYY-MM): a validity comfortably ahead."""
    this_month = month_of(now)
    return f"{int(this_month[:4]) + 1}{this_month[4:]}"


def showcase(now: int) -> list[RegistryVehicle]:
    """The vehicles the demo codes are for, all in good standing on issuing day."""
    next_year = a_year_on(now)
    registered = month_of(now - 3 * YEAR)

    def car(plate: str, valid_through: str) -> RegistryVehicle:
        return RegistryVehicle(plate, "02", "K33", 0, registered, valid_through, "A")

    return [
        car("桂A12345", next_year),
        car("桂A00001", next_year),
        car("桂A88888", next_year),
        car("桂B88888", month_of(now - 120 * DAY)),
        car("粤B12345", next_year),
        car("粤B99999", next_year),
    ]


class Showcase(NamedTuple):
    label: str
    plate: str
    key: str  # the Pki attribute that signs it
    issued_days_ago: int


SHOWCASE_CODES = [
    Showcase("valid", "桂A12345", "gui", 30),
    Showcase("stolen", "桂A00001", "gui", 30),
    Showcase("expired", "桂B88888", "gui", 400),
    Showcase("revoked", "桂A88888", "gui", 30),
    Showcase("another province", "粤B12345", "yue", 30),
    Showcase("hotlist", "粤B99999", "yue", 30),
]


def build_central(home: Path, keys: Pki, now: int, vehicles: int) -> list[tuple[str, str]]:
    """Run the central side; returns (what it shows, QR text) for the showcase codes."""
    public = home / "public"
    publish_trust_list(keys.write_central_home(home, now), public / "trustlist.cose", now - DAY)
    with Registry(home / "registry.db") as registry:
        generate_into(registry, "桂", vehicles, SEED, month_of(now))
        registry.put(showcase(now))
        issued = {
            code.label: issue(
                registry,
                code.plate,
                "02",
                1,
                getattr(keys, code.key),
                now - code.issued_days_ago * DAY,
                home / "issued",
            )
            for code in SHOWCASE_CODES
        }
        publish(registry, FEEDS, PublishSettings(out=public, key=keys.feed, now=now - 7200))
        # Then two cars are reported stolen and one certificate is revoked.
        for plate in ("桂A00001", "粤B99999"):
            (vehicle,) = registry.vehicles(plate, "02")
            registry.set_validity(vehicle, vehicle.valid_through or month_of(now), "C")
        registry.revoke(issued["revoked"].certificate.serial, now - 5400)
        publish(registry, (), PublishSettings(out=public, key=keys.feed, now=now - 3600))
    return [(label, done.text) for label, done in issued.items()] + [("forged", forged(keys, now))]


def forged(keys: Pki, now: int) -> str:
    """A code for 桂A12345 signed by a key no trust list names."""
    claims = Certificate(
        "桂A车管所", now - 30 * DAY, b"demo-forged-1", "桂A12345", "02", a_year_on(now), "K33", 1
    )
    return issue_certificate(claims, keys.forger.signing_key)


@contextlib.contextmanager
def demo_environment(vehicles: int, emit: Callable[[str], None]) -> Iterator[DemoSetup]:
    """Publish, serve, initialise and sync; the server runs until the block ends."""
    now = int(time.time())
    keys = Pki(DEMO_SEEDS)
    with tempfile.TemporaryDirectory(prefix="vicheck-demo-") as tmp:
        home = Path(tmp) / "central"
        data_dir = Path(tmp) / "terminal"
        emit(f"demo: generating a 桂 registry of {vehicles:,} vehicles, issuing, publishing")
        codes = build_central(home, keys, now, vehicles)
        with (
            audit_beside(home) as handler,
            StaticServer(home / "public", handler=handler) as server,
        ):
            url = server.url
            config = Config(keys.root.public, url, tuple(f.feed for f in FEEDS), home_province="桂")
            config.save(data_dir)
            enrol_terminal(home, data_dir, now)
            report = sync(data_dir, url, keys.root.public, config.feeds, time.time)
            for feed in report.feeds:
                emit(
                    f"demo: synced {feed.feed} v{feed.to_version} by {feed.method}"
                    f" ({feed.bytes:,} bytes)"
                )
            if not report.ok:
                raise RuntimeError(f"demo sync failed: {report.to_json()}")
            yield DemoSetup(config, data_dir, codes)


def enrol_terminal(home: Path, data_dir: Path, now: int) -> None:
    """Give the demo terminal its device key and enrol it on the central side, as an
    administrator would with ``vicheck device`` and ``central device add``: a sync
    from the demo terminal then uploads its audit record (F5)."""
    key = ensure_key(data_dir)
    with AuditStore.of_home(home) as store:
        store.add_device(device_of(key), public_key(key), now)


class DemoSetup(NamedTuple):
    config: Config
    data_dir: Path
    codes: list[tuple[str, str]]


def command(args: argparse.Namespace, data_dir: str, catalogue: Catalogue) -> int:
    """``vicheck demo``: the terminal on demo data; a walkthrough on stdout when there
    is no terminal to draw it on."""
    if args.walkthrough or not (sys.stdin.isatty() and sys.stdout.isatty()):
        from terminal.render import result_text

        return run_walkthrough(print, lambda result: result_text(result, catalogue), args.vehicles)
    return run_terminal(print, catalogue, args.vehicles)


def run_walkthrough(
    emit: Callable[[str], None], render: Callable[[CheckResult], str], vehicles: int
) -> int:
    """Check each showcase code and two plates, printing what the officer would see."""
    with demo_environment(vehicles, emit) as setup:
        checker = Checker(Store.open(setup.data_dir), setup.config.feeds, Clock())
        for label, text in setup.codes:
            emit(f"\n=== code: {label} ===")
            emit(render(checker.verify(text)))
        for plate in ("桂A·12345", "粤B99999"):
            emit(f"\n=== plate lookup (no code shown): {plate} ===")
            emit(render(checker.lookup(plate)))
    return 0


def run_terminal(emit: Callable[[str], None], catalogue: Catalogue, vehicles: int) -> int:
    """The terminal itself, its virtual camera cycling through the showcase codes."""
    from terminal.synthetic.camera import VirtualCamera
    from terminal.tui.app import make_app

    with demo_environment(vehicles, emit) as setup:
        texts = [text for _, text in setup.codes]
        app = make_app(
            setup.config,
            setup.data_dir,
            Clock(),
            lambda: VirtualCamera(texts),
            catalogue,
            shift_start=False,
        )
        app.run()
    return 1 if app.return_code else 0  # a crash of the app is "anything unexpected"
