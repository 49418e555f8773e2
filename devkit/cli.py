"""Run a console entry point in-process, as a user would from a shell.

The entry point is handed in (``CliRunner(vicheck.cli.main)``): the ``vicheck``
command sits above this package, and what is run is exactly what the console
script calls, with stdin, stdout and stderr captured.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Main = Callable[[Sequence[str]], int]
"""A console command's ``main``: its arguments in, its exit status out."""


@dataclass
class CliResult:
    """One run: exit status and what it wrote."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def codes(self) -> list[str]:
        """The reason codes of a ``--json`` check result, sorted."""
        return sorted(r["code"] for r in self.json["reasons"])


@dataclass(frozen=True)
class CliRunner:
    """Runs ``main`` in-process with ``--data-dir`` first when given."""

    main: Main

    def __call__(
        self, *args: str, data_dir: Path | None = None, stdin: bytes | None = None
    ) -> CliResult:
        argv = list(args)
        if data_dir is not None:
            argv = ["--data-dir", str(data_dir), *argv]
        out, err = io.StringIO(), io.StringIO()
        old_stdin = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = self.main(argv)
        finally:
            sys.stdin = old_stdin
        return CliResult(code, out.getvalue(), err.getvalue())
