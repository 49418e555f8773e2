"""The ``vicheck`` command as shipped: the terminal, the central side and the demo
composed above both.

``terminal`` (the handheld) and ``central`` (the issuing side) never import each
other; this thin layer dispatches ``vicheck central ...`` to the one and everything
else to the other, and runs the demo, which needs both.
"""
