"""A data dir the operator named may itself be a symbolic link (a data dir on another
disk); links planted inside it are refused (tests/test_private_files.py)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import World, standard_world


def test_a_symlinked_data_dir_is_followed(tmp_path: Path) -> None:
    world: World = standard_world(tmp_path)
    try:
        real = tmp_path / "disk" / "vicheck"
        real.mkdir(parents=True)
        world.data_dir.symlink_to(real)
        assert world.init().code == 0
        result = world.sync()
        assert result.code == 0, result.out + result.err
        assert world.verify(world.pki.certificate()).code == 0
        assert (real / "vicheck.db").is_file() and (real / "config.json").is_file()
        assert os.stat(real).st_mode & 0o777 == 0o700
        assert world.data_dir.is_symlink()
    finally:
        world.close()
