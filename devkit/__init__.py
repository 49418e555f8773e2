"""Deterministic worlds for the tests, the bench and the demo: keys from seeds, a
served feed world, a fault-injecting feed server, the in-process CLI runner.

Everything here is real: keys are Ed25519, feeds are written by the project's own
writer, the server is central's ``StaticServer`` on 127.0.0.1. It sits above the
terminal and the central side (it drives both) and below the ``vicheck`` command,
whose entry point a caller hands to ``CliRunner``.
"""
