"""The simulated AG-UI agent, driven by the console's AG-UI client over loopback HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from console.dialects.agui.client import AguiClient
from console.session import Message, ToolBlock
from console.sim.agui import AguiSimulator, SimConfig


async def settle(client: AguiClient) -> None:
    for _ in range(1000):
        await asyncio.sleep(0.01)
        if client.idle:
            return
    raise AssertionError("the run did not end")


async def ask(client: AguiClient, prompt: str) -> Message:
    client.send_user_message(prompt)
    await settle(client)
    return client.conversation.messages[-1]


@pytest.fixture
async def normal() -> AsyncIterator[AguiClient]:
    sim = AguiSimulator(SimConfig(delay=0.001))
    await sim.start()
    client = AguiClient(sim.url)
    client.start()
    yield client
    await client.close()
    await sim.stop()


async def test_a_run_shows_reasoning_a_tool_with_its_result_text_and_state(normal: AguiClient) -> None:
    reply = await ask(normal, "buy milk")
    assert reply.status == "done"
    assert reply.text == "Added “buy milk” to your list: you now have 1 to-do. Anything else?"
    kinds = [type(b).__name__ for b in reply.blocks]
    assert kinds == [
        "ComponentBlock",
        "ToolBlock",
        "ComponentBlock",
        "TextBlock",
    ]  # reasoning, call, activity
    card = reply.blocks[1]
    assert isinstance(card, ToolBlock) and card.args == {"title": "buy milk", "priority": 2}
    assert card.result == {"ok": True, "id": 1, "title": "buy milk"}
    states = [e.data for e in normal.conversation.contexts["state"]]
    assert states == [{"todos": [], "runs": 0}, {"todos": [{"title": "buy milk", "done": False}], "runs": 1}]


async def test_deleting_asks_for_approval_and_a_denial_keeps_the_state(normal: AguiClient) -> None:
    await ask(normal, "buy milk")
    reply = await ask(normal, "delete everything")
    card = next(b for b in reply.blocks if isinstance(b, ToolBlock))
    assert reply.status == "interrupted" and card.approval == "Delete all 1 to-dos?"
    normal.answer(card.call_id, approved=False)
    await settle(normal)
    assert normal.conversation.messages[-1].status == "done" and card.result == {"denied": True}
    assert reply.text.endswith("Kept them: nothing was deleted.")
    assert normal.conversation.contexts["state"][-1].data == {
        "todos": [{"title": "buy milk", "done": False}],
        "runs": 1,
    }


@pytest.mark.parametrize("ids", [True, False])
async def test_chaos_never_leaves_a_reply_running_and_loses_nothing(ids: bool) -> None:
    sim = AguiSimulator(SimConfig(mode="chaos", seed=3, ids=ids, delay=0.001))
    await sim.start()
    client = AguiClient(sim.url)
    client.start()
    try:
        replies = [await ask(client, f"task {n}") for n in range(10)]
        assert all(r.status in ("done", "error", "interrupted") for r in replies)
        done = [r for r in replies if r.status == "done"]
        assert done and all(
            re.fullmatch(r"Added “task \d” to your list: .* Anything else\?", r.text) for r in done
        )
        kinds = {row.kind for row in client.conversation.trace}
        assert {"HTTP_ERROR", "STATE_PATCH_FAILED", "UNKNOWN_EVENT", "PROTOCOL_ERROR"} <= kinds
        cut = [r for r in replies if "RemoteProtocolError" in r.note]
        if ids:
            assert not cut and "DISCONNECTED" in kinds, "a cut stream resumed after its last event id"
        else:
            assert cut and all(r.status == "interrupted" for r in cut)
        # What the state became is what the agent's own deltas say (a failed patch was repaired).
        todos = client.conversation.contexts["state"][-1].data
        assert isinstance(todos, dict) and todos["runs"] == len(done) + sum(
            1 for r in cut if "task" in r.text
        )
    finally:
        await client.close()
        await sim.stop()


async def test_a_request_that_is_not_a_run_gets_a_plain_http_error() -> None:
    sim = AguiSimulator()
    await sim.start()
    try:
        async with httpx.AsyncClient() as http:
            bad = await http.post(sim.url, content=b'{"threadId": 1}')
            assert bad.status_code == 422 and "not a RunAgentInput" in bad.text
            assert (await http.get(sim.url)).status_code == 405
    finally:
        await sim.stop()
