"""The chat dialect against servers with and without the done tag, over real loopback sockets.

The spec ends a response with its one message ("one message per response, after any ideas"); seed
002's own backend also sends `{"chatId", "tag": "done"}`. The console must end each reply at whichever
comes first, count neither as an error, and send the next queued prompt at once.
"""

from __future__ import annotations

import pytest

from console.dialects.chat.client import ChatClient
from console.sim.chat import ChatSimConfig, ChatSimulator
from tests.helpers import eventually, quick_backoff


@pytest.mark.parametrize("done_tag", [False, True], ids=["spec-no-done-tag", "with-done-tag"])
async def test_every_reply_ends_and_queued_prompts_go_out(done_tag: bool) -> None:
    sim = ChatSimulator(ChatSimConfig(token_delay=0, think_delay=0, done_tag=done_tag))
    await sim.start()
    client = ChatClient(sim.url, backoff_factory=quick_backoff)
    client.start()
    try:
        await eventually(lambda: client.connected_once)
        for prompt in ("suggest gift ideas for my sister", "save them please", "thanks!"):
            client.send_user_message(prompt)  # the second and third wait for the reply before them
        conversation = client.conversation
        await eventually(lambda: client.idle and len(conversation.messages) == 6)
        roles = [(m.role, m.status) for m in conversation.messages]
        assert roles == [("user", "sent"), ("assistant", "done")] * 3  # each reply under its prompt
        assert all(m.text for m in conversation.messages)
        assert [t.summary for t in conversation.trace if t.kind == "PROTOCOL_ERROR"] == []
        dones = [t for t in conversation.trace if t.kind == "DONE"]
        assert len(dones) == (3 if done_tag else 0)
    finally:
        await client.close()
        await sim.stop()
