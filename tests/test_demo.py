"""``vicheck demo`` runs end to end on its own data and says what an officer expects."""

from __future__ import annotations

from tests.support import run_cli


def test_demo_shows_each_showcase_verdict() -> None:
    result = run_cli("demo", "--walkthrough", "--vehicles", "2000", "--lang", "en")
    assert result.code == 0, result.err
    blocks = dict(block.split(" ===\n", 1) for block in result.out.split("\n=== ")[1:])
    first_line = {name: body.splitlines()[0] for name, body in blocks.items()}
    assert first_line == {
        "code: valid": "VALID",
        "code: stolen": "ALERT",
        "code: expired": "INVALID",
        "code: forged": "INVALID",
        "code: revoked": "INVALID",
        "code: another province": "VALID",
        "code: hotlist": "ALERT",
        "plate lookup (no code shown): 桂A·12345": "VALID",
        "plate lookup (no code shown): 粤B99999": "ALERT",
    }
    assert "stolen or robbed" in blocks["code: stolen"]
    assert "has been revoked" in blocks["code: revoked"]
    # Published by the central side: a snapshot, then a day's changes as a delta.
    assert "synced gx v2 by snapshot" in result.out


def test_demo_terminal_uploads_its_audit_record() -> None:
    """The demo's terminal is enrolled and its server takes uploads: a check recorded
    on it reaches the central side at the next sync (F5 in the demo)."""
    import time

    from cache.sync import sync
    from vicheck.demo import demo_environment

    with demo_environment(2000, lambda _line: None) as setup:
        checked = run_cli("lookup", "--json", "桂A12345", data_dir=setup.data_dir)
        assert checked.code == 0, checked.err
        config = setup.config
        report = sync(setup.data_dir, config.server, config.root_key, config.feeds, time.time)
        assert report.audit is not None
        assert report.audit.to_json() == {"sent": 1, "held": 1}
