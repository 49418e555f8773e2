"""``python -m terminal``: the same as the ``vicheck`` command."""

from terminal.cli import run

run()
