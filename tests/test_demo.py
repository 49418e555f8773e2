"""``vicheck demo`` runs end to end on its own data and says what an officer expects."""

from __future__ import annotations

from tests.support import run_cli


def test_demo_shows_each_showcase_verdict() -> None:
    result = run_cli("demo", "--walkthrough", "--vehicles", "2000", "--lang", "en")
    assert result.code == 0, result.err
    blocks = dict(block.split(" ===\n", 1) for block in result.out.split("\n=== ")[1:])
    first_line = {name: body.splitlines()[0] for name, body in blocks.items()}
    assert first_line == {
        "code: valid": "VALID  VALID",
        "code: stolen": "ALERT  ALERT",
        "code: expired": "INVALID  INVALID",
        "code: forged": "INVALID  INVALID",
        "code: revoked": "INVALID  INVALID",
        "code: another province": "VALID  VALID",
        "code: hotlist": "ALERT  ALERT",
        "plate lookup (no code shown): 桂A·12345": "VALID  VALID",
        "plate lookup (no code shown): 粤B99999": "ALERT  ALERT",
    }
    assert "stolen or robbed" in blocks["code: stolen"]
    assert "has been revoked" in blocks["code: revoked"]
    # Published by the central side: a snapshot, then a day's changes as a delta.
    assert "synced gx v2 by snapshot" in result.out
