"""How current the terminal's data is, and how that is said: the status line of the
scan screen, the freshness lines of the status and sync screens.

Textual-free, so the rules are tested without an app: one place decides what
"stale" means for the whole UI (SPEC 3 and 4: a part is fresh before its
``expires_at``, judged at the terminal's one "now").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from cache.store import CacheView, FeedState
from keys.trustlist import TrustList
from terminal.clock import Clock
from terminal.render import iso
from terminal.strings import Catalogue


class DataAge(NamedTuple):
    """The one-line summary: its words, and whether to show it as stale."""

    text: str
    stale: bool


class Freshness(NamedTuple):
    """The cache as of one moment: the trust list and each subscribed feed."""

    now: float
    clock_floor: int
    trust_list: TrustList | None
    feeds: tuple[tuple[str, FeedState | None], ...]
    """Every subscribed feed in the configured order, None when never synced."""

    @property
    def held(self) -> list[FeedState]:
        """The subscribed feeds synced at least once."""
        return [state for _, state in self.feeds if state is not None]

    @property
    def never(self) -> bool:
        """Nothing to check against yet: no trust list, or no subscribed feed held."""
        return self.trust_list is None or not self.held

    @property
    def stale(self) -> bool:
        """Anything held past its expiry (or nothing held at all)."""
        if self.trust_list is None or not self.held:
            return True
        return not self.trust_list.is_fresh(self.now) or any(
            not state.is_fresh(self.now) for state in self.held
        )

    @property
    def oldest(self) -> float | None:
        """When the oldest held feed was generated: what "data age" means."""
        return min((state.generated_at for state in self.held), default=None)


def freshness(view: CacheView, feeds: Sequence[str], clock: Clock) -> Freshness:
    """``view`` judged at ``clock``'s now (floored by the view's clock floor)."""
    return Freshness(
        clock.now(view.clock_floor),
        view.clock_floor,
        view.trust_list,
        tuple((feed, view.feeds.get(feed)) for feed in feeds),
    )


def data_age(state: Freshness, catalogue: Catalogue) -> DataAge:
    """The status line: how old the data is, and whether anything is stale."""
    t = catalogue.text
    oldest = state.oldest
    if state.never or oldest is None:
        return DataAge(t("ui.status.never"), True)
    if state.stale:
        return DataAge(t("ui.status.stale"), True)
    return DataAge(t("ui.status.fresh", age=catalogue.age(state.now - oldest)), False)


def freshness_lines(state: Freshness, catalogue: Catalogue) -> list[str]:
    """The trust list's and each subscribed feed's version, age and freshness."""
    t, age, now = catalogue.text, catalogue.age, state.now

    def fresh(ok: bool) -> str:
        return t("ui.fresh") if ok else t("ui.stale")

    trust = state.trust_list
    if trust is None:
        out = [t("ui.status.trust_never")]
    else:
        out = [
            t(
                "ui.status.trust",
                version=trust.version,
                age=age(now - trust.issued_at),
                fresh=fresh(trust.is_fresh(now)),
            )
        ]
    for feed, held in state.feeds:
        if held is None:
            out.append(t("ui.status.feed_never", feed=feed))
            continue
        out.append(
            t(
                "ui.status.feed",
                feed=feed,
                version=held.version,
                age=age(now - held.generated_at),
                fresh=fresh(held.is_fresh(now)),
            )
        )
    return out


def status_lines(
    state: Freshness,
    catalogue: Catalogue,
    server: str,
    clock_behind: bool,
    camera: str,
) -> list[str]:
    """Everything the status screen shows, one line each: the server, the freshness
    lines, the clock floor (and a warning when the device clock is behind it), the
    camera and the language."""
    t = catalogue.text
    out = [f"{t('ui.status.server')}: {server}", *freshness_lines(state, catalogue)]
    out.append(t("ui.status.floor", floor=iso(state.clock_floor)))
    if clock_behind:
        out.append(t("ui.status.clock_behind"))
    out.append(t("ui.status.camera", camera=camera))
    out.append(t("ui.status.language", lang=catalogue.lang))
    return out
