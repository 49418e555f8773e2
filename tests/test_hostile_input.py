"""Local input that is not what a roadside check hands the terminal: endless stdin,
devices, FIFOs, huge files, undecodable bytes, empty or absurd sources, a reader
that goes away. Each gets a defined exit code and no traceback, without reading
more than a valid input can be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.cli import STDIN_LIMIT
from terminal.scan.sources import IMAGE_LIMIT
from tests.support import T0, World, at, run_cli

VICHECK = str(Path(sys.executable).parent / "vicheck")
TIMEOUT = 60
"""Generous: each of these ends in well under a second once fixed; before, they hung."""


def _vicheck(world: World, *args: str | bytes, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [VICHECK, "--data-dir", str(world.data_dir), *args],
        capture_output=True,
        timeout=TIMEOUT,
        **kw,  # type: ignore[arg-type]
    )


def _error(done: subprocess.CompletedProcess) -> str:
    assert b"Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)["error"]["code"]


def _codes(done: subprocess.CompletedProcess) -> list[str]:
    return sorted(r["code"] for r in json.loads(done.stdout)["reasons"])


# --- verify - ----------------------------------------------------------------


def test_stdin_is_read_no_further_than_a_valid_text_can_be(world: World) -> None:
    """The child must answer with stdin still open: it read its bound, not to EOF."""
    proc = subprocess.Popen(
        [VICHECK, "--data-dir", str(world.data_dir), "verify", "--json", "--at", at(T0), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"A" * (2 * STDIN_LIMIT))  # fits the pipe's buffer: never blocks
    proc.stdin.flush()
    assert proc.stdout is not None and proc.stderr is not None
    try:
        proc.wait(timeout=TIMEOUT)  # stdin not closed: only a bounded read returns
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
        proc.wait()
    assert proc.returncode == 4, err
    assert [r["code"] for r in json.loads(out)["reasons"]] == ["FORMAT"]


def test_over_long_stdin_is_format_like_the_same_argument(world: World) -> None:
    """Over the size limit is SPEC 6.1 step 1 (FORMAT), whichever way it comes."""
    long_text = "VI1:" + "A" * (STDIN_LIMIT + 10)
    by_stdin = run_cli(
        "verify", "--json", "--at", at(T0), "-", data_dir=world.data_dir, stdin=long_text.encode()
    )
    by_arg = run_cli("verify", "--json", "--at", at(T0), long_text, data_dir=world.data_dir)
    assert (by_stdin.code, by_stdin.codes) == (by_arg.code, by_arg.codes) == (4, ["FORMAT"])


@pytest.mark.parametrize("raw", [b"\xff", b"VI1:\xff\xfe", b"\xc3"])
def test_undecodable_bytes_agree_on_stdin_and_as_argument(world: World, raw: bytes) -> None:
    by_arg = _vicheck(world, "verify", "--json", "--at", at(T0), raw)
    by_stdin = _vicheck(world, "verify", "--json", "--at", at(T0), "-", input=raw)
    assert (by_arg.returncode, _codes(by_arg)) == (4, ["FORMAT"])
    assert (by_stdin.returncode, _codes(by_stdin)) == (4, ["FORMAT"]), by_stdin.stdout


def test_valid_text_on_stdin_still_valid(world: World) -> None:
    text = world.pki.certificate()
    done = _vicheck(world, "verify", "--json", "--at", at(T0), "-", input=text.encode() + b"\r\n")
    assert done.returncode == 0, done.stdout


# --- verify --image ----------------------------------------------------------


def test_image_from_a_device_is_bad_input(world: World) -> None:
    done = _vicheck(world, "verify", "--json", "--at", at(T0), "--image", "/dev/zero")
    assert (done.returncode, _error(done)) == (2, "BAD_INPUT")
    assert b"not a regular file" in done.stdout


def test_image_from_a_fifo_is_refused_not_waited_on(world: World, tmp_path: Path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    done = _vicheck(world, "verify", "--json", "--at", at(T0), "--image", str(fifo))
    assert (done.returncode, _error(done)) == (2, "BAD_INPUT")


def test_image_over_the_size_bound_is_refused_unread(world: World, tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with open(big, "wb") as handle:
        handle.truncate(IMAGE_LIMIT + 1)  # sparse: no disk or memory spent on it
    result = run_cli(
        "verify", "--json", "--at", at(T0), "--image", str(big), data_dir=world.data_dir
    )
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT")
    assert "over 50 MB" in result.json["error"]["message"]


# --- scan --source -------------------------------------------------------------


def test_scan_of_a_fifo_is_refused_not_waited_on(world: World, tmp_path: Path) -> None:
    fifo = tmp_path / "video"
    os.mkfifo(fifo)
    done = _vicheck(world, "scan", "--json", "--at", at(T0), "--source", str(fifo))
    assert (done.returncode, _error(done)) == (2, "BAD_INPUT")


def test_scan_of_an_empty_source_is_bad_input_not_the_current_directory(
    world: World, tmp_path: Path
) -> None:
    import cv2
    import segno

    segno.make(world.pki.certificate(), error="m").save(str(tmp_path / "cert.png"), scale=4)
    assert cv2.imread(str(tmp_path / "cert.png")) is not None
    done = _vicheck(world, "scan", "--json", "--at", at(T0), "--source", "", cwd=tmp_path)
    assert (done.returncode, _error(done)) == (2, "BAD_INPUT")
    assert len(done.stdout.splitlines()) == 1  # the error alone: cert.png was not scanned


@pytest.mark.parametrize("index", ["12345678901234567890", "99999", "²"])
def test_absurd_camera_index_is_bad_input(world: World, index: str) -> None:
    result = run_cli("scan", "--json", "--at", at(T0), "--source", index, data_dir=world.data_dir)
    assert (result.code, result.json["error"]["code"]) == (2, "BAD_INPUT"), result.out


# --- a reader that goes away -----------------------------------------------------


def _closed_pipe_run(world: World, *args: str) -> tuple[int, bytes]:
    """Run with stdout a pipe whose reader is already gone: the first write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [VICHECK, "--data-dir", str(world.data_dir), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_scan_into_a_closed_pipe_exits_quietly(
    world: World, tmp_path: Path, json_flag: list[str]
) -> None:
    import segno

    for n in range(2):
        cert = world.pki.certificate(serial=f"serial-900{n}".encode())
        segno.make(cert, error="m").save(str(tmp_path / f"{n}.png"), scale=4)
    code, err = _closed_pipe_run(
        world, "scan", *json_flag, "--at", at(T0), "--source", str(tmp_path)
    )
    assert (code, err) == (141, b"")


def test_verify_into_a_closed_pipe_exits_quietly(world: World) -> None:
    text = world.pki.certificate()
    assert _closed_pipe_run(world, "verify", "--json", "--at", at(T0), text) == (141, b"")
