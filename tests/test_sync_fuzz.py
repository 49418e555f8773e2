"""Fuzzing the feed parser through a real sync: a mutated snapshot is refused (the
cache exactly as before) or applied, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support import (
    db_dump,
    standard_world,
)
from tests.support.sync import (
    GOOD2_GZIP,
    GOOD2_SEQUENCE,
    N2,
    assert_answers_from,
    assert_error_text,
    by_feed,
    gz,
    publish_bytes,
)


@pytest.mark.parametrize("layer", ["gzip", "cbor"])
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["set", "insert", "delete"]),
            st.integers(0, 1 << 16),
            st.integers(0, 255),
        ),
        min_size=0,
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
)
def test_fuzzed_snapshot_is_refused_or_applied(
    layer: str, edits: list[tuple[str, int, int]], cut: int | None
) -> None:
    data = bytearray(GOOD2_GZIP if layer == "gzip" else GOOD2_SEQUENCE)
    for op, pos, value in edits:
        i = pos % (len(data) + 1)
        if op == "insert":
            data[i:i] = bytes([value])
        elif data and i < len(data):
            if op == "set":
                data[i] = value
            else:
                del data[i]
    if cut is not None and data:
        del data[cut % len(data) :]
    payload = bytes(data) if layer == "gzip" else gz(bytes(data))
    with tempfile.TemporaryDirectory() as tmp:
        world = standard_world(Path(tmp))
        try:
            assert world.init().code == 0
            assert world.sync().code == 0
            publish_bytes(world, payload, N2)
            before = db_dump(world.data_dir)
            result = world.sync()
            assert result.code in (0, 6), result.out + result.err
            assert "Traceback" not in result.err
            gx = by_feed(result)["gx"]
            assert by_feed(result)["hot"]["status"] == "current"
            if result.code == 6:
                assert gx["status"] == "failed"
                assert_error_text(gx)
                assert db_dump(world.data_dir) == before
                assert_answers_from(world, before)
            else:
                assert gx["status"] == "updated" and gx["method"] == "snapshot"
                assert gx["to_version"] == 2
                assert world.lookup("桂A12345", "02").code in (0, 3, 4, 5)
        finally:
            world.close()
