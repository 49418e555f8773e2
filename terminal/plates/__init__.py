"""Reading the plate of the car in front of the terminal (issue 16).

``reader`` wraps the OCR engine (OpenCV, numpy, onnxruntime: heavy, loaded only
when a plate is read); ``grammar`` turns what it reads into SPEC section 5 plates;
``confusion`` finds the cached plates one misread away. Nothing here is imported
on the check path (``vicheck verify`` and ``lookup``): this package imports
nothing itself, so ``grammar`` and ``confusion`` stay light.
"""
