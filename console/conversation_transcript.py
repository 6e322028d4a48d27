"""A console conversation as a transcript (`console.transcript`): what `record` writes, what the
session API serves, and what the tests hold against a simulator's ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from console.session_blocks import Block, ComponentBlock, Message, TextBlock
from console.transcript import Block as TranscriptBlock
from console.transcript import Component, Text, ToolCall, Transcript
from console.transcript import Message as TranscriptMessage

if TYPE_CHECKING:
    from console.session import Conversation


def transcript_of(conversation: Conversation) -> Transcript:
    by_id = {m.id: m for m in conversation.messages}
    return Transcript(
        tuple(_message(m, by_id) for m in conversation.messages),
        {cid: tuple(entry.data for entry in history) for cid, history in conversation.contexts.items()},
    )


def messages_of(messages: Sequence[Message]) -> Transcript:
    """Some messages of a conversation as a transcript without contexts (a page of its history)."""
    by_id = {m.id: m for m in messages}
    return Transcript(tuple(_message(m, by_id) for m in messages), {})


def _message(message: Message, by_id: dict[str, Message]) -> TranscriptMessage:
    prompt = by_id.get(message.reply_to) if message.reply_to else None
    return TranscriptMessage(
        role=message.role,
        status=message.status,
        blocks=tuple(_block(b) for b in message.blocks),
        id=message.id,
        stream_id=message.stream_id,
        prompt=prompt.text if prompt is not None else None,
        note=message.note,
    )


def _block(block: Block) -> TranscriptBlock:
    if isinstance(block, TextBlock):
        return Text(block.text)
    if isinstance(block, ComponentBlock):
        return Component(block.type, dict(block.fields))
    return ToolCall(block.call_id, block.tool_name, block.args, block.result)
