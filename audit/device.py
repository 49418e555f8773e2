"""The device's own Ed25519 key, which signs the head of its audit chain.

Made once per data dir (``vicheck init``, or the first check of an older data dir)
and kept in ``device.key`` as the 32-byte seed in hex, mode 0600, as keys.keypair
keeps keys. Its own module and plain ``os``: the check path loads it for every
entry it signs, and keys.keypair brings pathlib, which a check does not pay for.
"""

from __future__ import annotations

import contextlib
import os

from nacl.signing import SigningKey

from audit.chain import device_id
from base.private import write_private

DEVICE_KEY_NAME = "device.key"
SEED_SIZE = 32


class DeviceKeyError(RuntimeError):
    """The device key file exists but cannot be read as a key."""


def key_path(data_dir: str | os.PathLike[str]) -> str:
    return os.path.join(data_dir, DEVICE_KEY_NAME)


def load_key(data_dir: str | os.PathLike[str]) -> SigningKey | None:
    """The device key, or None when the data dir has none yet."""
    path = key_path(data_dir)
    try:  # never through a symbolic link: a key planted elsewhere is not ours
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, encoding="ascii") as handle:
            text = handle.read(4 * SEED_SIZE).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceKeyError(f"cannot read the device key {path}: {exc}") from None
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        seed = b""
    if len(seed) != SEED_SIZE:
        raise DeviceKeyError(f"the device key {path} does not hold a 32-byte seed in hex")
    return SigningKey(seed)


def ensure_key(data_dir: str | os.PathLike[str]) -> SigningKey:
    """The device key, made first if the data dir has none. Two processes making
    it at once end with the same key: the new file is linked into place, which
    fails when one is there already, and then that one is read."""
    key = load_key(data_dir)
    if key is not None:
        return key
    seed = os.urandom(SEED_SIZE)  # getrandom(2): the kernel's CSPRNG
    path = key_path(data_dir)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.new"
    write_private(tmp, (seed.hex() + "\n").encode("ascii"), ".part")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    key = load_key(data_dir)
    if key is None:  # removed between the link and the read: not ours to fight
        raise DeviceKeyError(f"the device key {path} vanished as it was made")
    return key


def public_key(key: SigningKey) -> bytes:
    return bytes(key.verify_key)


def device_of(key: SigningKey) -> str:
    """The device id of ``key`` (``audit.chain.device_id``)."""
    return device_id(public_key(key))
