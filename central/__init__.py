"""The central side: registry, certificate issuing, feed publishing and serving.

What a provincial vehicle administration runs, so that the whole system runs end to
end on one machine. Reached as ``vicheck central ...``; never on a terminal's check
path. Builds on ``feeds`` (the wire format) and ``keys``; never imports ``terminal``
nor the terminal's ``cache``.
"""
