"""The terminal's record of every check: a hash chain of entries, its head signed by
the device's own key, kept on the terminal until the central side holds it.

``chain`` is the format (what an entry is, its bytes, its hash, what is signed),
``wire`` the upload's body; both sides build on them. ``store``, ``device``,
``officers`` and ``record`` are the terminal's side. Only ``keys`` and ``base``
below: the cache (which uploads), the terminal and the central side import it.
"""
