"""The central side's error types: what a caller (the CLI, a test) can catch.

An ``InputError`` is the operator's to fix (a CSV row, a key in the keys
configuration, a vehicle that cannot be issued for) and names the row or key; the
CLI turns it into exit status 2 with its message. Anything else is a bug (exit 1).
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the operator: the message names the row, key or vehicle."""


class KeysConfigError(InputError):
    """A keys configuration (a central home's keys.toml and key files) that cannot
    give a valid trust list.

    Not the terminal's ``terminal.config.ConfigError`` (a damaged config.json in a
    data dir): different files, different owners, so different names.
    """


class RegistryError(InputError):
    """A registry row (in a CSV file or in the database) that breaks the record rules."""
