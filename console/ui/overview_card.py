"""A session's card on the operations view, and the patch of what changed on it since the last refresh."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.events import GenericEventArguments

from console.jsonvalue import JsonValue
from console.monitor import Health
from console.ui.overview_model import counters, spark, state_label
from console.ui.testid import testid

PAUSE: Final = "pause"  # Material icon names (the card buttons use the icon font)
PLAY: Final = "play_arrow"
# Characters of the reply's tail a card is sent: its three lines hold some 40 characters each. Every
# refresh of a streaming card sets its tail again, and the browser shapes all of the text it is given
# (the most of its layout time with a hundred cards), so what cannot show is not sent.
TAIL_SHOWN: Final = 150

# The one-letter keys of a card patch, as overview_card.js reads them.
PATCH_KEYS: Final = {
    "state": "s",
    "failing": "x",
    "label": "l",
    "detail": "d",
    "tail": "t",
    "rate": "r",
    "counters": "c",
    "spark": "p",
}


@dataclass(frozen=True, slots=True)
class CardView:
    """What a card shows; compared field by field with what this tab last sent."""

    state: str
    failing: bool
    label: str
    detail: str  # the state's tooltip: the last failure, or the crash
    tail: str
    rate: str
    counters: str
    spark: tuple[int, ...]

    @classmethod
    def of(cls, h: Health) -> CardView:
        return cls(
            state=h.state,
            failing=h.failing,
            label=state_label(h),
            detail=h.detail or h.last_crash,
            tail=h.tail[-TAIL_SHOWN:],
            rate=f"{h.events_per_s:.0f} ev/s · {h.tokens_per_s:.0f} tok/s",
            counters=counters(h),
            spark=spark(h.history),
        )

    def patch(self, old: CardView | None) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        for name, key in PATCH_KEYS.items():
            value: str | bool | tuple[int, ...] = getattr(self, name)
            if old is None or getattr(old, name) != value:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


class CardButton(TextElement):
    """A small plain button on a card: lighter than a Quasar button, a hundred times over."""

    def __init__(self, text: str, label: str) -> None:
        super().__init__(tag="button", text=text)
        self.classes("ac-card-btn")  # the text is an icon name, drawn by the icon font
        self.props.update({"type": "button", "aria-label": label, "title": label})


OnRemove = Callable[[str, GenericEventArguments], None]


class SessionCard(ui.element, component="overview_card.js"):
    """A session's card: its frame and buttons here; what streams is drawn by overview_card.js."""

    def __init__(self, health: Health, on_pilot: Callable[[str], None], on_remove: OnRemove):
        super().__init__()
        self.session_id = health.session_id
        self.name = health.name
        self.state = health.state
        self.classes("ac-card")
        testid(self, "session-card").props.update(
            {"data-session-id": health.session_id, "data-state": health.state}
        )
        self.pilot: CardButton | None = None
        sid = health.session_id
        with self:
            with ui.element("div").classes("ac-card-head"):
                ui.element("span").classes("ac-card-dot")
                testid(
                    ui.link(health.name, f"/session/{sid}").classes("ac-card-link"),
                    "session-link",
                    f"open-{sid}",
                )
                if health.driver != "none":
                    self.pilot = testid(CardButton("", ""), "pilot-button", f"pilot-{sid}")
                    self.pilot.on("click", lambda: on_pilot(sid))
                    self.show_pilot(health.driver == "paused")
                remove = testid(
                    CardButton("close", f"Remove {health.name}"), "remove-button", f"remove-{sid}"
                )
                remove.on("click", lambda event: on_remove(sid, event), ["detail"])

    def set_state(self, state: str) -> None:
        """Keep the server's copy right without a message: `apply` already set it in the browser."""
        if state != self.state:
            self.state = state
            quietly(self, "data-state", state)

    def show_pilot(self, paused: bool) -> None:
        if self.pilot is not None:
            label = "Resume autopilot" if paused else "Pause autopilot"
            self.pilot.set_text(PLAY if paused else PAUSE)
            self.pilot.props.update({"aria-label": label, "title": label})


def quietly(element: ui.element, prop: str, value: str) -> None:
    """Keep the server's copy of a prop that the browser already set in the browser, sending nothing."""
    with element.props.suspend_updates():
        element.props[prop] = value
