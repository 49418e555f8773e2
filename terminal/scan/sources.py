"""Where frames come from, behind one interface: a camera, a video file, one
image, or a directory of images.

A camera is read by its own thread that keeps only the newest frame (the shape of
toolong's reader thread: a stop event, one slot, no growing queue): a slow decode
skips stale frames instead of falling behind the scene. Closing a source releases
the device.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

import cv2
import numpy as np

from terminal.scan.picture import PictureError, picture_size

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
IMAGE_LIMIT = 50 * 1024 * 1024
"""The largest picture file read: a phone photo of a QR code is a few MB; reading
whatever a path yields (``/dev/zero``) would end in MemoryError."""
CAMERA_INDEX_MAX = 9999
"""Camera indexes above this are refused: OpenCV cannot take them (a C int) and no
machine has that many cameras."""


class SourceError(OSError):
    """A source that cannot be opened or read."""


class Frame(NamedTuple):
    image: np.ndarray | None
    """None when the frame could not be read (a broken file in a directory)."""
    label: str
    """The file name, or the frame number for cameras and videos."""


class FrameSource(Protocol):
    name: str
    live: bool
    """True for cameras: frames keep coming and the same code repeats."""

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class ImageSource:
    live = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = str(path)

    def frames(self) -> Iterator[Frame]:
        yield Frame(read_image(self.path), self.path.name)

    def close(self) -> None:
        pass


class DirectorySource:
    live = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = str(path)

    def frames(self) -> Iterator[Frame]:
        for entry in sorted(self.path.iterdir()):
            if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    image = read_image(entry)
                except SourceError:
                    image = None
                yield Frame(image, entry.name)

    def close(self) -> None:
        pass


class VideoSource:
    """A recorded video, read frame by frame at decoding speed."""

    live = False

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise SourceError(f"cannot open video {path}")

    def frames(self) -> Iterator[Frame]:
        number = 0
        while True:
            ok, image = self.capture.read()
            if not ok:
                return
            yield Frame(image, str(number))
            number += 1

    def close(self) -> None:
        self.capture.release()


class CameraSource:
    """A live camera; a reader thread keeps the newest frame only."""

    live = True

    def __init__(
        self, device: int | str, width: int = 1280, height: int = 720, read_timeout: float = 5.0
    ) -> None:
        self.name = f"camera {device}"
        self.capture = cv2.VideoCapture(device)
        if not self.capture.isOpened():
            raise SourceError(f"cannot open camera {device}")
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.read_timeout = read_timeout
        self._latest = LatestFrame()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="camera-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        number = 0
        while not self._stop.is_set():
            ok, image = self.capture.read()
            if not ok:
                self._latest.put(None)
                return
            self._latest.put(Frame(image, str(number)))
            number += 1

    def frames(self) -> Iterator[Frame]:
        while not self._stop.is_set():
            frame = self._latest.take(self.read_timeout)
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.capture.release()


class LatestFrame:
    """A one-slot mailbox: ``put`` overwrites, ``take`` waits for a frame newer
    than the last one taken."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._ended = False
        self._ready = threading.Condition()

    def put(self, frame: Frame | None) -> None:
        with self._ready:
            if frame is None:
                self._ended = True
            else:
                self._frame = frame
            self._ready.notify_all()

    def take(self, timeout: float) -> Frame | None:
        with self._ready:
            if not self._ready.wait_for(lambda: self._frame is not None or self._ended, timeout):
                return None
            frame, self._frame = self._frame, None
            return frame


def read_image(path: Path) -> np.ndarray:
    """A picture file as a BGR image; ``SourceError`` when it is not one.

    Only a regular file of at most ``IMAGE_LIMIT`` bytes is read: a FIFO would
    block for ever and a device would never end. It is opened without blocking
    (a FIFO's open waits for a writer) and checked on the open descriptor, so
    what is checked is what is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise SourceError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = _read_regular(fd, path)
    finally:
        os.close(fd)
    try:
        picture_size(data)  # a decompression bomb is refused before it is decoded
    except PictureError as exc:
        raise SourceError(f"{path}: {exc}") from None
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise SourceError(f"{path} is not a picture OpenCV can read")
    return image


def _read_regular(fd: int, path: Path) -> bytes:
    """At most ``IMAGE_LIMIT`` bytes of ``fd``, which must be a regular file."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise SourceError(f"{path} is not a regular file")
    too_big = f"{path} is over {IMAGE_LIMIT // (1024 * 1024)} MB"
    if info.st_size > IMAGE_LIMIT:
        raise SourceError(too_big)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= IMAGE_LIMIT and (chunk := os.read(fd, IMAGE_LIMIT + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > IMAGE_LIMIT:  # it grew since fstat
        raise SourceError(too_big)
    return b"".join(chunks)


def open_source(spec: str, width: int = 1280, height: int = 720) -> FrameSource:
    """A camera index (``0``), a camera device (``/dev/video0``), a directory, an
    image or a video file.

    Anything else is refused rather than opened: an empty spec (``Path("")`` is
    the current directory), a FIFO or socket (OpenCV would block on it for ever),
    an index OpenCV cannot take."""
    if not spec.strip():
        raise SourceError("the source is empty: give a camera index, device, file or directory")
    if spec.isascii() and spec.isdigit():
        if int(spec) > CAMERA_INDEX_MAX:
            raise SourceError(f"camera index {spec} is over {CAMERA_INDEX_MAX}")
        return CameraSource(int(spec), width, height)
    mode = _mode(spec)
    if stat.S_ISCHR(mode):
        return CameraSource(spec, width, height)
    return _open_path(spec, mode)


def _mode(spec: str) -> int:
    """The file mode of the path ``spec``; ``SourceError`` saying why there is none."""
    try:
        return Path(spec).stat().st_mode
    except (FileNotFoundError, ValueError):  # ValueError: a NUL in the path
        if spec.startswith("/dev/"):  # a camera unplugged: say it the camera's way
            raise SourceError(f"cannot open camera {spec}") from None
        raise SourceError(f"no such source: {spec}") from None
    except OSError as exc:
        raise SourceError(f"cannot read {spec}: {exc.strerror or exc}") from None


def _open_path(spec: str, mode: int) -> FrameSource:
    """A directory, an image or a video; any other kind of file is refused."""
    path = Path(spec)
    if stat.S_ISDIR(mode):
        return DirectorySource(path)
    if not stat.S_ISREG(mode):
        raise SourceError(f"{spec} is not a camera, a regular file or a directory")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read {spec}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoSource(path)
