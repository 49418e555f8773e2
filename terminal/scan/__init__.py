"""Scanning: frame sources, QR decoders and the pipeline from a frame to a QR text.

Everything here but ``codes`` imports OpenCV, numpy, pyzbar or zxing-cpp, so it is
only ever imported lazily by the commands and screens that scan; the check path never
loads it. ``codes`` (what was read, in words) is plain Python, for ``terminal.render``.
"""
