"""What the officer sees and does: the verdict engine, the command line and the UI.

The only layer allowed to import Textual or OpenCV, and only lazily, so that
``vicheck verify`` and ``vicheck lookup`` start fast.
"""
