"""``python -m vicheck``: the same as the ``vicheck`` command."""

from vicheck.cli import run

run()
