"""What is current: the local SQLite cache of trust list and feeds, and the sync client.

Builds on ``feeds`` (the wire format) and ``keys`` (what is authentic); never imports
``terminal`` or ``central``.
"""
