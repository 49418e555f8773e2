"""terminal.freshness: what "stale" and "data age" mean, without a Textual app."""

from __future__ import annotations

from cache.store import FeedState
from keys.trustlist import TrustList
from terminal.clock import Clock
from terminal.freshness import (
    DataAge,
    Freshness,
    data_age,
    freshness,
    freshness_lines,
    status_lines,
)
from terminal.strings import Catalogue
from tests.support import DAY, T0, World

EN = Catalogue("en")


def _feed(feed: str, generated_at: float, expires_at: float) -> FeedState:
    return FeedState(feed, 0, "full", ("桂",), 3, int(generated_at), int(expires_at), 0, 0)


def _trust(expires_at: float) -> TrustList:
    return TrustList(1, int(T0 - DAY), int(expires_at), {}, b"")


def _state(trust: TrustList | None, *feeds: tuple[str, FeedState | None]) -> Freshness:
    return Freshness(T0, 0, trust, tuple(feeds))


def test_nothing_held_is_never_synced_and_stale() -> None:
    state = _state(None, ("gx", None))
    assert state.never and state.stale
    assert data_age(state, EN) == DataAge(EN.text("ui.status.never"), True)


def test_a_trust_list_without_feeds_is_never_synced() -> None:
    assert data_age(_state(_trust(T0 + DAY), ("gx", None)), EN).text == EN.text("ui.status.never")


def test_fresh_data_says_its_age_from_the_oldest_feed() -> None:
    state = _state(
        _trust(T0 + DAY),
        ("gx", _feed("gx", T0 - 2 * 3600, T0 + DAY)),
        ("hot", _feed("hot", T0 - 3600, T0 + DAY)),
    )
    assert not state.stale and state.oldest == T0 - 2 * 3600
    assert data_age(state, EN) == DataAge(EN.text("ui.status.fresh", age=EN.age(7200)), False)


def test_one_expired_part_makes_it_stale() -> None:
    expired_feed = _state(_trust(T0 + DAY), ("gx", _feed("gx", T0 - DAY, T0)))
    expired_trust = _state(_trust(T0), ("gx", _feed("gx", T0 - DAY, T0 + DAY)))
    for state in (expired_feed, expired_trust):
        assert state.stale and not state.never
        assert data_age(state, EN) == DataAge(EN.text("ui.status.stale"), True)


def test_freshness_lines_name_every_subscribed_feed_in_order() -> None:
    state = _state(_trust(T0 + DAY), ("gx", _feed("gx", T0 - 60, T0)), ("hot", None))
    lines = freshness_lines(state, EN)
    assert lines[0] == EN.text(
        "ui.status.trust", version=1, age=EN.age(DAY), fresh=EN.text("ui.fresh")
    )
    assert lines[1] == EN.text(
        "ui.status.feed", feed="gx", version=3, age=EN.age(60), fresh=EN.text("ui.stale")
    )
    assert lines[2] == EN.text("ui.status.feed_never", feed="hot")


def test_status_lines_warn_of_a_clock_behind_the_floor() -> None:
    state = _state(None, ("gx", None))
    assert EN.text("ui.status.clock_behind") in status_lines(state, EN, "http://x", True, "cam")
    shown = status_lines(state, EN, "http://x", False, "cam")
    assert EN.text("ui.status.clock_behind") not in shown
    assert shown[0].endswith(": http://x") and shown[-1] == EN.text("ui.status.language", lang="en")


def test_freshness_of_a_synced_cache(world: World) -> None:
    """Read from a real synced store: both feeds held, fresh at T0, stale 10 days on."""
    from cache.store import Store

    store = Store.open(world.data_dir)
    try:
        view = store.view()
        now = freshness(view, ("gx", "hot", "missing"), Clock(at=T0))
        assert [feed for feed, held in now.feeds if held is not None] == ["gx", "hot"]
        assert not now.stale
        assert freshness(view, ("gx",), Clock(at=T0 + 10 * DAY)).stale
    finally:
        store.close()
