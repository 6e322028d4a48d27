"""The reducer's part for cards: tool calls and their results (which may come first), rich components
and their fields. Called by `Conversation.apply` (and by `session_runs` for streamed calls and reasoning)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console import events as ev
from console import session_runs as runs
from console import session_window as window
from console.session_blocks import ComponentBlock, ToolBlock
from console.session_changes import BlockAdded, BlockUpdated

if TYPE_CHECKING:
    from console import session as model
    from console.session_blocks import Message


def tool_call(conv: model.Conversation, event: ev.ToolCall, at: float, *, streaming: bool = False) -> None:
    if runs.complete_streamed_call(conv, event):
        return
    message = conv._stream_message(event.stream_id, at)
    block = ToolBlock(event.call_id, event.tool_name, event.args, called_at=at, args_streaming=streaming)
    orphan = conv._orphan_results.pop(event.call_id, None)
    if orphan is not None:
        block.result, block.result_at = orphan
    message.blocks.append(block)
    conv._tools[event.call_id] = (message, len(message.blocks) - 1)
    if block.result is None:
        conv._waiting[event.call_id] = (message, block)
        if len(conv._waiting) > conv.limits.waiting_tool_calls:
            oldest = next(iter(conv._waiting))
            del conv._waiting[oldest]  # its card stays; a late result still lands
            window.forget_call(conv, oldest)
            conv._folded("tool calls", f"over {conv.limits.waiting_tool_calls} tool calls waiting")
    conv._emit(BlockAdded(message, len(message.blocks) - 1))
    if block.result is None:
        conv.activity_changed()  # a call waits for its result


def tool_result(conv: model.Conversation, event: ev.ToolResult, at: float) -> None:
    found = conv._tools.get(event.call_id)
    if found is not None:
        message, index = found
        block = message.blocks[index]
        assert isinstance(block, ToolBlock)
        if block.result is None:
            block.result, block.result_at = event.result, at
            answered = conv._waiting.pop(event.call_id, None)
            window.forget_call(conv, event.call_id)
            conv._emit(BlockUpdated(message, index))
            if answered is not None:
                conv.activity_changed()
        return
    # The result came before its call (reordering upstream): hold it for the call.
    conv._orphan_results[event.call_id] = (event.result, at)
    if len(conv._orphan_results) > conv.limits.orphan_results:
        del conv._orphan_results[next(iter(conv._orphan_results))]
        conv._folded("tool results", f"over {conv.limits.orphan_results} results for unknown calls")


def find_component(conv: model.Conversation, stream_id: str, component_id: str) -> tuple[Message, int] | None:
    return conv._components.get((stream_id, component_id))


def component_start(conv: model.Conversation, event: ev.ComponentStart, at: float) -> None:
    message = conv._stream_message(event.stream_id, at)
    key = (event.stream_id, event.component_id)
    if key not in conv._components:  # a component id used twice: the first keeps its fields
        conv._components[key] = (message, len(message.blocks))
    conv._open_components[key] = None
    message.blocks.append(ComponentBlock(event.component_id, event.type))
    conv._emit(BlockAdded(message, len(message.blocks) - 1))
    if len(conv._open_components) > conv.limits.open_components:
        oldest = next(iter(conv._open_components))
        limit = conv.limits.open_components
        conv._folded("components", f"over {limit} components open: the oldest are closed as they stand")
        component_end(conv, ev.ComponentEnd(*oldest))


def component_field(conv: model.Conversation, event: ev.ComponentField, at: float) -> None:
    found = find_component(conv, event.stream_id, event.component_id)
    if found is None:
        conv._notice(
            "warning", f"field '{event.field}' for component {event.component_id} that never started"
        )
        return
    message, index = found
    block = message.blocks[index]
    assert isinstance(block, ComponentBlock)
    block.set(event.field, event.value, append=event.append)
    conv._emit(BlockUpdated(message, index))


def component_end(conv: model.Conversation, event: ev.ComponentEnd) -> None:
    conv._open_components.pop((event.stream_id, event.component_id), None)
    found = find_component(conv, event.stream_id, event.component_id)
    if found is None:
        return
    message, index = found
    block = message.blocks[index]
    assert isinstance(block, ComponentBlock)
    block.complete = True
    conv._emit(BlockUpdated(message, index))
