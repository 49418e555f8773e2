"""Status: server, feeds, versions, ages, the clock floor, camera and language."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from terminal.render import iso


class StatusScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="status-body"):
            yield Static(self.app.t("ui.status.title"), id="status-title", markup=False)  # type: ignore[attr-defined]
            yield Static("", id="status-lines", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#status-lines", Static).update("\n".join(status_lines(self.app)))


def freshness_lines(app: Any) -> list[str]:
    """The trust list's and each feed's version, age and freshness."""
    t, age = app.t, app.catalogue.age
    view = app.store.view()
    now = app.clock.now(view.clock_floor)

    def fresh(ok: bool) -> str:
        return t("ui.fresh") if ok else t("ui.stale")

    trust = view.trust_list
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
    states = {s.feed: s for s in view.feed_states()}
    for feed in app.config.feeds:
        state = states.get(feed)
        if state is None:
            out.append(t("ui.status.feed_never", feed=feed))
            continue
        out.append(
            t(
                "ui.status.feed",
                feed=feed,
                version=state.version,
                age=age(now - state.generated_at),
                fresh=fresh(state.is_fresh(now)),
            )
        )
    return out


def status_lines(app: Any) -> list[str]:
    """Everything the status screen shows, one line each."""
    t = app.t
    floor = app.store.view().clock_floor
    out = [f"{t('ui.status.server')}: {app.config.server}", *freshness_lines(app)]
    out.append(t("ui.status.floor", floor=iso(floor)))
    if app.clock.behind(floor):
        out.append(t("ui.status.clock_behind"))
    out.append(t("ui.status.camera", camera=app.camera_name))
    out.append(t("ui.status.language", lang=app.catalogue.lang))
    return out
