"""Status: server, feeds, versions, ages, the clock floor, camera and language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from terminal.render import iso


class StatusScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="status-body"):
            yield Static(self.app.t("ui.status.title"), id="status-title")  # type: ignore[attr-defined]
            yield Static("", id="status-lines")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#status-lines", Static).update("\n".join(self.lines()))

    def lines(self) -> list[str]:
        app = self.app
        t = app.t  # type: ignore[attr-defined]
        store = app.store  # type: ignore[attr-defined]
        view = store.view()
        now = app.clock.now(view.clock_floor)  # type: ignore[attr-defined]
        age = app.catalogue.age  # type: ignore[attr-defined]
        out = [f"{t('ui.status.server')}: {app.config.server}"]  # type: ignore[attr-defined]
        trust = view.trust_list
        if trust is None:
            out.append(t("ui.status.trust_never"))
        else:
            fresh = t("ui.fresh") if trust.is_fresh(now) else t("ui.stale")
            out.append(t("ui.status.trust", version=trust.version, fresh=fresh))
        states = {s.feed: s for s in view.feed_states()}
        for feed in app.config.feeds:  # type: ignore[attr-defined]
            state = states.get(feed)
            if state is None:
                out.append(t("ui.status.feed_never", feed=feed))
                continue
            fresh = t("ui.fresh") if state.is_fresh(now) else t("ui.stale")
            out.append(
                t(
                    "ui.status.feed",
                    feed=feed,
                    version=state.version,
                    age=age(now - state.generated_at),
                    fresh=fresh,
                )
            )
        out.append(t("ui.status.floor", floor=iso(view.clock_floor)))
        if app.clock.behind(view.clock_floor):  # type: ignore[attr-defined]
            out.append(t("ui.status.clock_behind"))
        out.append(t("ui.status.camera", camera=app.camera_name))  # type: ignore[attr-defined]
        out.append(t("ui.status.language", lang=app.catalogue.lang))  # type: ignore[attr-defined]
        return out
