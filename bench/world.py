"""The bench's deterministic world: devkit's, driven by the real ``vicheck`` command."""

from __future__ import annotations

from pathlib import Path

from devkit.cli import CliRunner
from devkit.world import World
from devkit.world import standard_world as publish_standard
from vicheck.cli import main

run_cli = CliRunner(main)
"""Run ``vicheck`` in-process (the same ``main`` the console script calls)."""


def standard_world(tmp: Path) -> World:
    """devkit's standard world (桂 feed ``gx``, hotlist ``hot``) published in ``tmp``."""
    return publish_standard(World(tmp, run_cli))
