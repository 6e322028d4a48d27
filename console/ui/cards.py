"""The cards of a reply: a tool call (arguments streamed in, then parsed; its result; an approval
question) and a rich component, both foldable and reachable by keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable

from nicegui import ui

from components import create_view
from console import jsonvalue
from console.jsonvalue import JsonValue
from console.session import (
    ComponentBlock,
    ToolBlock,
)
from console.ui.elapsed import Elapsed
from console.ui.stream_text import FieldStream, StreamText
from console.ui.testid import testid

MAX_JSON_PREVIEW = 20_000
COMPACT_JSON = 240
STATUS_AFTER_TEXT = 0.05  # seconds; more than one NiceGUI outbox cycle
# Messages drawn when a page opens, and per "show earlier": a long conversation (a replayed trace
# of hours) would otherwise build thousands of elements before the page can show anything.
MESSAGES_PER_PAGE = 20
# A page of messages is drawn newest first, this many per flush tick: each chunk is one short task
# for the browser instead of one long one for the whole page.
MESSAGES_PER_TICK = 3
# Notice labels kept in the chat: a flood of ERROR frames must not grow the page (the timeline and the
# session's notice board keep the count).
NOTICES_SHOWN = 20
COMPACT_JSON = 240
STATUS_AFTER_TEXT = 0.05  # seconds; more than one NiceGUI outbox cycle
# Messages drawn when a page opens, and per "show earlier": a long conversation (a replayed trace
# of hours) would otherwise build thousands of elements before the page can show anything.
MESSAGES_PER_PAGE = 20
# A page of messages is drawn newest first, this many per flush tick: each chunk is one short task
# for the browser instead of one long one for the whole page.
MESSAGES_PER_TICK = 3
# Notice labels kept in the chat: a flood of ERROR frames must not grow the page (the timeline and the
# session's notice board keep the count).
NOTICES_SHOWN = 20
TOGGLE_JS = (
    "(e) => { if (e.type === 'keydown' && e.target !== e.currentTarget) return; e.preventDefault();"
    " const card = e.currentTarget.closest('[data-foldable]');"
    " const folded = card.classList.toggle('ac-folded');"
    " e.currentTarget.setAttribute('aria-expanded', String(!folded)); }"
)


def foldable(card: ui.element, head: ui.element, label: str) -> None:
    """A card whose head folds its details away: by click, or by Enter or Space when focused."""
    card.props["data-foldable"] = ""
    head.props.update({"tabindex": "0", "role": "button", "aria-expanded": "true", "aria-label": label})
    head.on("click", js_handler=TOGGLE_JS)
    head.on("keydown.enter", js_handler=TOGGLE_JS)
    head.on("keydown.space", js_handler=TOGGLE_JS)


def json_preview(value: JsonValue) -> str:
    text = jsonvalue.dumps(value, indent=True)
    if len(text) > MAX_JSON_PREVIEW:
        return f"{text[:MAX_JSON_PREVIEW]}\n… ({len(text):,} characters; see the context inspector)"
    return text


def json_section(title: str, value: JsonValue) -> None:
    """Short JSON inline on one line; long JSON folded under its title, pretty-printed."""
    try:
        compact = jsonvalue.dumps(value)
    except TypeError:  # nested past what the encoder writes: a dialect let it through
        ui.label(f"{title}: nested too deep to show").classes("ac-json ac-json-row")
        return
    if len(compact) <= COMPACT_JSON:
        # One element, its title drawn by CSS: a long chat has hundreds of these to mount.
        ui.label(compact).classes("ac-json ac-json-row").props.update({"data-title": title})
        return
    with ui.expansion(f"{title} ({len(compact):,} characters)").classes("w-full").props("dense"):
        ui.label(json_preview(value)).classes("ac-json")


def wall_elapsed(since: float, until: float | None) -> float:
    return (until if until is not None else time.monotonic()) - since


Answer = Callable[[str, bool], object]  # (call id, approved): a paused run's question answered


class ToolCard:
    """A tool call: name and arguments (streamed in, then parsed), waiting with elapsed time, then the
    result in place; a paused run's approval question with Approve / Deny."""

    def __init__(self, block: ToolBlock, on_answer: Answer | None = None) -> None:
        self.block = block
        self.on_answer = on_answer
        self.args_stream: StreamText | None = None
        self.asking: ui.element | None = None
        with ui.element("div").classes("ac-tool") as self.root:
            # Upstream strings go in as values, never through the props parser.
            testid(self.root, "tool-card").props.update(
                {"data-call-id": block.call_id, "data-status": block.status}
            )
            with ui.element("div").classes("ac-tool-head") as head:
                self.icon = (
                    ui.spinner(size="1em") if block.result is None else ui.icon("check_circle", size="1.1em")
                )
                ui.label(block.tool_name).classes("font-semibold").props.update({"dir": "auto"})
                self.elapsed = Elapsed(wall_elapsed(block.called_at, block.result_at), block.result is None)
            foldable(self.root, head, f"Tool call {block.tool_name}: show or hide its arguments and result")
            if block.args_streaming:
                # Arguments as they stream: appended in the browser, like text (ToolArgsAppended).
                with ui.element("div") as self.args_slot:
                    self.args_stream = StreamText("".join(block.args_parts)).classes("ac-json")
                    testid(self.args_stream, "tool-args-stream")
            else:
                json_section("args", block.args)
            if block.result is not None:
                self._show_result()
        self._show_question()

    def update(self) -> None:
        if self.args_stream is not None and not self.block.args_streaming:
            self.args_stream.delete()
            self.args_stream = None
            with self.args_slot:
                json_section("args", self.block.args)
        self._show_question()
        if self.block.result is None or self.root.props.get("data-status") == "done":
            return
        self.root.props["data-status"] = "done"
        self.icon.delete()
        with self.root.default_slot.children[0]:
            self.icon = ui.icon("check_circle", size="1.1em").move(target_index=0)
        self.elapsed.stop(wall_elapsed(self.block.called_at, self.block.result_at))
        self._show_result()

    def _show_result(self) -> None:
        assert self.block.result is not None
        with self.root:
            json_section("result", self.block.result)

    def _show_question(self) -> None:
        block = self.block
        if self.asking is not None and block.approval is None:
            self.asking.delete()
            self.asking = None
        if block.approval is not None and self.asking is None:
            with self.root, ui.element("div").classes("ac-tool-ask") as self.asking:
                testid(self.asking, "tool-approval")
                ui.label(block.approval).classes("text-sm")
                answer = self.on_answer
                if answer is not None:
                    call = block.call_id
                    approve = ui.button("Approve", icon="check", on_click=lambda: answer(call, True))
                    testid(approve, "approve-button").props("dense no-caps color=positive")
                    deny = ui.button("Deny", icon="close", on_click=lambda: answer(call, False))
                    testid(deny, "deny-button").props("dense no-caps flat color=negative")
        if block.answer is not None and self.root.props.get("data-answer") != block.answer:
            self.root.props["data-answer"] = block.answer
            with self.root:
                ui.label(f"You {block.answer} this call.").classes("text-xs text-slate-500")


class ComponentCard:
    """A streamed rich component, built field by field by its registered view."""

    def __init__(self, block: ComponentBlock) -> None:
        self.block = block
        with ui.element("div").classes("ac-component-slot") as self.root:
            # Reachable by keyboard: focused with Tab, read out by its type.
            self.root.props.update({"tabindex": "0", "role": "group", "aria-label": f"{block.type} card"})
            self.view = create_view(block.type)
        self.root.props["data-component-id"] = block.component_id  # the timeline finds its rows by it
        # Fields that grow by appends: their text so far comes with the card, then only what is new.
        self.streams = {e.field: e for e in self.root.descendants() if isinstance(e, FieldStream)}
        for name, target in self.streams.items():
            if (source := block.streams.get(name)) is not None:
                target.begin(source, source.text)
        self._told: tuple[int, bool, tuple[int, ...]] | None = None  # what the view was last shown
        self.update()

    def update(self) -> list[tuple[int, str]]:
        """Redraw the card; returns the new characters of its streamed fields, for the hub to append.

        The view is told only when something it draws itself changed: a field set or begun, a value
        it does not stream, the end. A chunk of a field the card streams costs its characters alone:
        telling the view would join, validate and compare the whole value so far on every tick (a
        200 KB idea of 20,000 chunks, 200 KB per tick)."""
        block = self.block
        deltas: list[tuple[int, str]] = []
        for name, target in self.streams.items():
            source = block.streams.get(name)
            if source is None:
                target.stop()
            elif delta := target.follow(source, source.length, source.tail):
                deltas.append((target.id, delta))
        others = tuple(source.length for name, source in block.streams.items() if name not in self.streams)
        state = (block.revision, block.complete, others)
        if state != self._told:
            self._told = state
            self.view.update(block.fields, block.complete)
        return deltas
