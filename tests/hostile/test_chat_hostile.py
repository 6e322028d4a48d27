"""The chat dialect against runaway and hostile input: an idea of 20,000 chunks costs what its chunks
cost, and JSON nested at any depth in any field is a protocol error the conversation survives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from console import events as ev
from console.dialects.chat.engine import ChatEngine
from console.session import BlockUpdated, Change, ComponentBlock
from tests.hostile.servers import nested_text

CHAT = "chat1"


def engine() -> ChatEngine:
    ids: Iterator[str] = iter([CHAT, "chat2", "chat3"])
    e = ChatEngine(new_id=lambda: next(ids))
    e.connected(0.0)
    e.send_user_message("ideas please", 0.0)
    e.data_to_send()
    return e


def idea(chunk: str, done: bool = False) -> str:
    return json.dumps({"tag": "idea", "chunk": chunk, "chatId": CHAT, "done": done})


def test_an_idea_of_twenty_thousand_chunks_is_applied_in_linear_time() -> None:
    e = engine()
    conversation = e.conversation
    updates: list[Change] = []
    conversation.subscribe(updates.append, deltas=False)
    chunks = [f"word{i} " for i in range(20_000)]
    started = time.perf_counter()
    for text in chunks:
        e.receive(idea(text), 1.0)
    e.receive(idea("end", done=True), 1.0)
    elapsed = time.perf_counter() - started
    e.receive(json.dumps({"chatId": CHAT, "tag": "message", "chunk": "Done.", "done": True}), 1.0)
    e.receive(json.dumps({"chatId": CHAT, "tag": "done"}), 1.0)
    (block,) = [b for b in conversation.messages[-1].blocks if isinstance(b, ComponentBlock)]
    assert block.fields["text"] == "".join(chunks) + "end"
    assert block.complete
    # Each chunk is handed on as itself: no event carries the idea so far.
    assert sum(1 for u in updates if isinstance(u, BlockUpdated)) >= 20_000
    assert elapsed < 5.0  # quadratic, it took ~3 s at 20,000 chunks on a fast machine; linear, ~0.3 s


def test_an_idea_chunk_never_carries_the_text_before_it() -> None:
    e = engine()
    decoder = e._chats[CHAT].decoder
    events = [decoder.decode(idea(f"c{i}")) for i in range(100)]
    fields = [x for batch in events for x in batch if isinstance(x, ev.ComponentField)]
    assert [f.value for f in fields] == [f"c{i}" for i in range(100)]
    assert [f.append for f in fields] == [False] + [True] * 99


def test_json_nested_at_any_depth_in_any_field_is_a_protocol_error_and_the_reply_goes_on() -> None:
    e = engine()
    conversation = e.conversation
    e.receive(json.dumps({"chatId": CHAT, "tag": "message", "chunk": "Hel"}), 1.0)
    bad = 0
    for depth in (254, 255, 1024, 5000):
        deep = nested_text(depth)
        for frame in (
            f'{{"chatId": "{CHAT}", "tag": "message", "chunk": {deep}}}',
            f'{{"chatId": "{CHAT}", "tag": "idea", "chunk": "x", "extra": {deep}}}',
            f'{{"chatId": {deep}, "tag": "message", "chunk": "x"}}',
            f'{{"chatId": "{CHAT}", "tag": "message", "chunk": "x", "done": {deep}}}',
        ):
            e.receive(frame, 1.0)
            bad += 1
    e.receive(b'{"chatId": "chat1", "tag": "message", "chunk": "\xff\xfe"}', 1.0)  # invalid UTF-8, bytes
    e.receive(json.dumps({"chatId": CHAT, "tag": "message", "chunk": "lo", "done": True}), 1.0)
    e.receive(json.dumps({"chatId": CHAT, "tag": "done"}), 1.0)
    reply = conversation.messages[-1]
    assert reply.status == "done"
    assert reply.text.startswith("Hel") and reply.text.endswith("lo")
    assert conversation.protocol_errors >= bad
