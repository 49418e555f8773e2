"""``vicheck plate --image FILE`` and ``vicheck verify --image CODE --car CAR`` (issue 16).

Kept apart from ``terminal.cli`` so the check path never imports the plate
reader: ``cli`` calls in here only for these two commands. A picture is read by
the scanner's own bounded loader (``terminal.scan.sources.read_image``: regular
files only, size checked from the header before decoding), so a bad picture gets
the same ``BAD_INPUT`` here as under ``verify --image``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from terminal.strings import Catalogue

if TYPE_CHECKING:
    from terminal.plates.reader import PlateCandidate
    from terminal.verdict import CheckResult

EXIT_FOUND = 0
EXIT_NONE = 2


class PictureUnreadable(ValueError):
    """The car's picture cannot be read (``BAD_INPUT``)."""


def read_car(path: str, home: str | None) -> list[PlateCandidate]:
    """The plates in the picture at ``path``, best first."""
    from terminal.plates.reader import PlateReader
    from terminal.scan.sources import SourceError, read_image

    try:
        frame = read_image(Path(path))
    except SourceError as exc:
        raise PictureUnreadable(str(exc)) from None
    return PlateReader(home=home).read(frame)


def plates_json(candidates: list[PlateCandidate]) -> list[dict[str, Any]]:
    return [c.to_json() for c in candidates]


def plate_command(args: argparse.Namespace, home: str | None, catalogue: Catalogue) -> int:
    """``vicheck plate``: exit 0 with the plates found, 2 (``NO_PLATE_FOUND``) with none.
    Raises ``PictureUnreadable`` for a picture that cannot be read."""
    from terminal.render import error_json, printable

    candidates = read_car(args.image, home)
    if args.json:
        out: dict[str, Any] = {"plates": plates_json(candidates)}
        if not candidates:
            message = catalogue.text("error.NO_PLATE_FOUND", detail=args.image)
            out |= error_json("NO_PLATE_FOUND", message)
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    elif candidates:
        for c in candidates:
            print(f"{c.plate}\t{c.confidence:.2f}\t{' '.join(map(str, c.box))}")
    else:
        message = catalogue.text("error.NO_PLATE_FOUND", detail=args.image)
        print(f"vicheck: {printable(message)}", file=sys.stderr)
    return EXIT_FOUND if candidates else EXIT_NONE


def verify_with_car(
    result: CheckResult, car: str, home: str | None
) -> tuple[CheckResult, list[PlateCandidate]]:
    """``result`` cross-checked with the plates read from the picture ``car``."""
    from terminal.plates.crosscheck import cross_check

    candidates = read_car(car, home)
    return cross_check(result, candidates), candidates


def car_plates_text(candidates: list[PlateCandidate], catalogue: Catalogue) -> str:
    """The line ``verify --car`` adds to its text: the plates read from the car."""
    plates = ", ".join(c.plate for c in candidates) or catalogue.text("label.no_plate_read")
    return f"{catalogue.text('label.car_plates')}: {plates}"
