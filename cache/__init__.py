"""What is current: the feed format, the local SQLite cache and the sync client.

Builds on ``keys`` (what is authentic) and never imports ``terminal``.
"""
