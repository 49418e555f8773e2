"""The tests' helpers: devkit's deterministic worlds, bound to the real ``vicheck``
command, under the names the tests use.

``World``, ``standard_world`` and ``synced_world`` take only a directory here: the
CLI they drive is always ``vicheck.cli.main``, run in-process by ``run_cli``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from devkit import world as _world
from devkit.cli import CliResult, CliRunner
from devkit.clock import DAY, T0, YEAR, at
from devkit.keys import Pki
from devkit.server import FeedServer, served
from devkit.world import Feed, db_dump
from vicheck.cli import main

__all__ = [
    "DAY",
    "T0",
    "YEAR",
    "CliResult",
    "Feed",
    "FeedServer",
    "Pki",
    "World",
    "at",
    "db_dump",
    "run_cli",
    "served",
    "standard_world",
    "synced_world",
]

run_cli = CliRunner(main)
"""Run ``vicheck`` in-process (the same ``main`` the console script calls)."""


class World(_world.World):
    """devkit's world, driven by the real ``vicheck`` command."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, run_cli)


def standard_world(tmp: Path) -> World:
    """桂 province feed ``gx`` and the nationwide hotlist ``hot``, published in ``tmp``."""
    world = World(tmp)
    _world.standard_world(world)
    return world


@contextlib.contextmanager
def synced_world(tmp: Path) -> Iterator[World]:
    """The standard world, initialised and synced once; closed on exit."""
    world = World(tmp)
    with _world.synced_world(world):
        yield world
