"""``vicheck demo``: the terminal on demo data, with no camera and no server.

Builds a demo province in a temporary folder (keys, a trust list, a 桂 registry
feed of about 50,000 vehicles with the showcase vehicles, and the nationwide
hotlist), serves it on 127.0.0.1, initialises and syncs a demo data dir, then
checks the showcase certificates and plates as an officer would. Everything it
starts stops when it ends.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from cache.feedwriter import Vehicle, manifest_payload, write_manifest, write_snapshot
from cache.model import KIND_FULL, KIND_HOTLIST
from cache.store import Store
from cache.sync import sync
from central.serve import StaticServer
from keys.certificate import Certificate, issue_certificate
from keys.fields import month_of
from keys.keypair import KeyPair
from keys.trustlist import KeyEntry, build_trust_list
from terminal.clock import Clock
from terminal.config import Config
from terminal.verdict import Checker

DAY = 86400
YEAR = 365 * DAY
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"


class DemoKeys:
    """Deterministic demo keys, so demo certificates stay valid across runs."""

    def __init__(self) -> None:
        self.root = KeyPair.from_seed(b"vicheck demo root")
        self.gui = KeyPair.from_seed(b"vicheck demo cert gui")
        self.yue = KeyPair.from_seed(b"vicheck demo cert yue")
        self.feed = KeyPair.from_seed(b"vicheck demo feed")
        self.forger = KeyPair.from_seed(b"not a trusted key")


def showcase(now: int) -> list[Vehicle]:
    this_month = month_of(now)
    year = int(this_month[:4])
    return [
        Vehicle("桂A12345", "02", f"{year + 1}{this_month[4:]}", "A", "K33"),
        Vehicle("桂A00001", "02", f"{year + 1}{this_month[4:]}", "C", "K33"),
        Vehicle("桂B88888", "02", month_of(now - 120 * DAY), "A", "K33"),
    ]


def registry(count: int, now: int, seed: int = 2026) -> list[Vehicle]:
    """A synthetic 桂 registry: ordinary plates, mostly normal status."""
    rng = random.Random(seed)
    special = {v.plate for v in showcase(now)}
    cities = "ABCDEFGHJKLMNP"
    plates: set[str] = set()
    while len(plates) < count:
        plate = "桂" + rng.choice(cities) + "".join(rng.choice(DIGITS) for _ in range(5))
        if plate not in special:
            plates.add(plate)
    statuses = ["A"] * 94 + ["G", "G", "I", "GI", "C", "Q"]
    out = [
        Vehicle(
            plate,
            "02" if rng.random() < 0.9 else "01",
            month_of(now + rng.randint(-60, 700) * DAY),
            rng.choice(statuses),
            rng.choice(["K33", "K31", "H11"]),
        )
        for plate in sorted(plates)
    ]
    return out + showcase(now)


def publish(root: Path, keys: DemoKeys, now: int, vehicles: int) -> None:
    """Write the trust list and both feeds, as the central side would."""
    window = {"not_before": now - 5 * YEAR, "not_after": now + 5 * YEAR}
    entries = [
        KeyEntry(keys.gui.kid, keys.gui.public, "cert", ("桂",), **window),
        KeyEntry(keys.yue.kid, keys.yue.public, "cert", ("粤",), **window),
        KeyEntry(keys.feed.kid, keys.feed.public, "feed", ("*",), **window),
    ]
    (root / "trustlist.cose").write_bytes(
        build_trust_list(
            version=1,
            issued_at=now - DAY,
            expires_at=now + 30 * DAY,
            entries=entries,
            root=keys.root.signing_key,
        )
    )
    feeds = {
        "gx": (KIND_FULL, ("桂",), registry(vehicles, now), [b"demo-revoked-01"]),
        "hot": (
            KIND_HOTLIST,
            ("*",),
            [Vehicle("粤B99999", "02", None, "C", "K33"), Vehicle("桂A00001", "02", None, "C")],
            [],
        ),
    }
    for feed, (kind, scope, rows, serials) in feeds.items():
        directory = root / "feeds" / feed
        directory.mkdir(parents=True)
        snapshot = write_snapshot(directory, feed, 1, rows, serials)
        payload = manifest_payload(
            feed=feed,
            version=1,
            generated_at=now - 3600,
            expires_at=now + 2 * DAY,
            kind=kind,
            scope=scope,
            snapshot=snapshot,
            deltas=[],
            total=snapshot.records,
        )
        write_manifest(directory, payload, keys.feed)


def certificates(keys: DemoKeys, now: int) -> list[tuple[str, str]]:
    """(what it shows, QR text) for the showcase codes."""
    this_month = month_of(now)
    next_year = f"{int(this_month[:4]) + 1}{this_month[4:]}"

    def cert(plate: str, valid: str, key: KeyPair, serial: bytes) -> str:
        issuer = f"{plate[:2]}车管所"
        claims = Certificate(issuer, now - 30 * DAY, serial, plate, "02", valid, "K33", 3)
        return issue_certificate(claims, key.signing_key)

    return [
        ("valid", cert("桂A12345", next_year, keys.gui, b"demo-valid-01")),
        ("stolen", cert("桂A00001", next_year, keys.gui, b"demo-stolen-1")),
        ("expired", cert("桂B88888", month_of(now - 120 * DAY), keys.gui, b"demo-expired")),
        ("forged", cert("桂A12345", next_year, keys.forger, b"demo-forged-1")),
        ("another province", cert("粤B12345", next_year, keys.yue, b"demo-yue-0001")),
        ("hotlist", cert("粤B99999", next_year, keys.yue, b"demo-yue-0002")),
    ]


@contextlib.contextmanager
def demo_environment(vehicles: int, emit: Callable[[str], None]) -> Iterator[DemoSetup]:
    """Publish, serve, initialise and sync; the server runs until the block ends."""
    now = int(time.time())
    keys = DemoKeys()
    with tempfile.TemporaryDirectory(prefix="vicheck-demo-") as tmp:
        root = Path(tmp) / "server"
        data_dir = Path(tmp) / "terminal"
        root.mkdir()
        emit(f"demo: publishing a 桂 registry of {vehicles:,} vehicles and the hotlist")
        publish(root, keys, now, vehicles)
        with StaticServer(root) as server:
            url = server.url
            config = Config(keys.root.public, url, ("gx", "hot"), home_province="桂")
            config.save(data_dir)
            report = sync(data_dir, url, keys.root.public, config.feeds, time.time)
            for feed in report.feeds:
                emit(f"demo: synced {feed.feed} v{feed.to_version} ({feed.bytes:,} bytes)")
            if not report.ok:
                raise RuntimeError(f"demo sync failed: {report.to_json()}")
            yield DemoSetup(config, data_dir, certificates(keys, now))


class DemoSetup(NamedTuple):
    config: Config
    data_dir: Path
    codes: list[tuple[str, str]]


def run_walkthrough(
    emit: Callable[[str], None], render: Callable[[object], str], vehicles: int
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


def run_terminal(emit: Callable[[str], None], catalogue: object, vehicles: int) -> int:
    """The terminal itself, its virtual camera cycling through the showcase codes."""
    from terminal.scan.virtual import VirtualCamera
    from terminal.tui.app import make_app

    with demo_environment(vehicles, emit) as setup:
        texts = [text for _, text in setup.codes]
        app = make_app(
            setup.config,
            setup.data_dir,
            Clock(),
            lambda: VirtualCamera(texts),
            catalogue,  # type: ignore[arg-type]
            shift_start=False,
        )
        app.run()
    return 0
