"""The status feeds' wire format (SPEC section 4), the protocol both sides speak.

``feeds.format`` reads and checks manifests and feed files, ``feeds.writer`` writes
them, ``feeds.model`` holds the small vocabulary (feed kinds, the month index). The
central side publishes with it and the terminal's ``cache`` syncs with it, so neither
reaches into the other. Builds on ``keys`` (signatures, the trust list, plates).
"""
