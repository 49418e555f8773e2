"""What is authentic: Base45, COSE_Sign1, keys, the trust list, certificates and plates.

Nothing here knows about the cache or the screen; ``cache`` and ``terminal`` build on it.
Submodules are imported explicitly so that a check pays only for what it uses.
"""
