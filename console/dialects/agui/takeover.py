"""The thread of a conversation another client received: what a restarted session sends on.

The supervisor restarts a crashed session with a new client that continues the old conversation;
AG-UI agents are stateless between runs, so the new client must send the thread again. It is read
back from the conversation: prompts, and each reply's text, tool calls and results in block order.
Replies that broke off are left out, as after a retry; one paused for an approval is kept.
"""

from __future__ import annotations

from console import jsonvalue
from console.dialects.agui.history import History
from console.session import Message, TextBlock, ToolBlock


def restore(history: History, messages: list[Message]) -> None:
    for message in messages:
        if message.role == "user":
            history.user(message.id, message.text)
        elif message.status == "done" or any(
            isinstance(b, ToolBlock) and (b.approval or b.answer) for b in message.blocks
        ):
            _reply(history, message)
            history.commit()


def _reply(history: History, message: Message) -> None:
    part, called = 0, False
    for block in message.blocks:
        if isinstance(block, TextBlock):
            if called:  # text after a tool call is the agent's next message
                part, called = part + 1, False
            history.text(f"{message.id}-{part}", block.text)
        elif isinstance(block, ToolBlock):
            history.tool_call(f"{message.id}-{part}", block.call_id, block.tool_name)
            history.tool_args(block.call_id, jsonvalue.dumps(block.args))
            if block.result is not None:
                history.tool_result(f"{block.call_id}-result", block.call_id, block.result)
            called = True
