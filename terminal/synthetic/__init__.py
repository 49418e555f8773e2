"""Synthetic camera material: QR scenes drawn as a phone or paper would show them, and
a virtual camera cycling through codes.

For the tests, the scanning benchmark and the demo's virtual camera, never for the
officer's scanning: ``terminal.scan`` and ``terminal.tui`` do not import it (an
import-linter contract says so). It draws codes with segno, which only the demo and
the central side install (the ``central`` extra).
"""
