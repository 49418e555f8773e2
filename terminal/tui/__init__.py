"""The officer's terminal: a Textual app built by ``make_app``.

Imported only by ``vicheck`` (no command) and ``vicheck demo``: Textual stays off the
check path.
"""
