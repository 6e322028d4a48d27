"""The AG-UI client against a real Pydantic AI agent served over AG-UI on loopback (model scripted)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.clients import Target, make_client
from console.connection import ConnectionState
from console.dialects.agui.client import AguiClient
from console.record import RecordError, record
from console.session import Change, Message, TextBlock, ToolArgsAppended, ToolBlock
from tests.dialects.agui.pydantic_agent import Served, serve
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def agent() -> AsyncIterator[Served]:
    served = await serve()
    yield served
    await served.stop()


@pytest.fixture
async def client(agent: Served) -> AsyncIterator[AguiClient]:
    client = AguiClient(agent.url)
    client.start()
    yield client
    await client.close()


async def ask(client: AguiClient, prompt: str) -> Message:
    client.send_user_message(prompt)
    await eventually(lambda: client.idle)
    reply = client.conversation.messages[-1]
    assert reply.role == "assistant"
    return reply


def tools(message: Message) -> list[ToolBlock]:
    return [b for b in message.blocks if isinstance(b, ToolBlock)]


async def test_streamed_text_then_a_second_run_in_the_same_thread_sends_the_history_back(
    client: AguiClient,
) -> None:
    first = await ask(client, "hello")
    assert (first.status, first.text) == ("done", "Hello there, I have 1 prompts.")
    second = await ask(client, "and again")
    # The agent counted the prompts of the history the console sent back.
    assert (second.status, second.text) == ("done", "Hello there, I have 2 prompts.")
    sent = [e for e in client.conversation.trace if e.kind == "RUN_AGENT_INPUT"]
    assert len(sent) == 2 and sent[1].raw is not None
    assert "Hello there, I have 1 prompts." in sent[1].raw
    assert all(e.kind != "PROTOCOL_ERROR" for e in client.conversation.trace)


async def test_tool_arguments_stream_in_then_parse_and_the_result_lands_on_the_card(
    client: AguiClient,
) -> None:
    streamed: dict[str, list[str]] = {}

    def listen(change: Change) -> None:
        if isinstance(change, ToolArgsAppended):
            block = change.message.blocks[change.block_index]
            assert isinstance(block, ToolBlock)
            streamed.setdefault(block.call_id, []).append(change.text)

    client.conversation.subscribe(listen)
    await ask(client, "reset")
    reply = await ask(client, "list milk eggs")
    cards = tools(reply)
    assert [(c.tool_name, c.args, c.status) for c in cards] == [
        ("add_item", {"name": "milk"}, "done"),
        ("add_item", {"name": "eggs"}, "done"),
    ]
    assert ["".join(streamed[c.call_id]) for c in cards] == ['{"name": "milk"}', '{"name": "eggs"}']
    assert all(len(streamed[c.call_id]) == 2 and not c.args_streaming for c in cards)
    assert cards[0].result is not None and cards[0].result["type"] == "STATE_DELTA"
    # Pydantic AI opens an empty text message before the tool calls: it leaves no empty text block.
    assert all(b.text for b in reply.blocks if isinstance(b, TextBlock))
    assert reply.text == "Done as asked."


async def test_a_snapshot_then_deltas_end_in_the_state_the_agent_holds(client: AguiClient) -> None:
    await ask(client, "reset")
    await ask(client, "list milk eggs")
    await ask(client, "list bread")
    history = [entry.data for entry in client.conversation.contexts["state"]]
    assert history == [
        {"items": [], "done": True},
        {"items": ["milk"], "done": True},
        {"items": ["milk", "eggs"], "done": True},
        {"items": ["milk", "eggs", "bread"], "done": True},
    ]
    # The agent got the state back with each run: its own deltas applied to it gave the same result.
    assert all(e.kind != "STATE_PATCH_FAILED" for e in client.conversation.trace)


async def test_a_delta_before_any_snapshot_fails_plainly_and_a_later_snapshot_repairs(
    client: AguiClient,
) -> None:
    reply = await ask(client, "list milk")
    assert reply.status == "done", "a failed patch does not leave the run running"
    failed = [e for e in client.conversation.trace if e.kind == "STATE_PATCH_FAILED"]
    assert len(failed) == 1 and "items" in failed[0].summary
    assert any(n.level == "warning" and "did not apply" in n.text for n in client.conversation.notices)
    assert "state" not in client.conversation.contexts or not client.conversation.contexts["state"]
    await ask(client, "reset")
    assert client.conversation.contexts["state"][-1].data == {"items": [], "done": True}


@pytest.mark.parametrize("approved", [True, False])
async def test_a_tool_that_needs_approval_pauses_the_run_and_the_answer_resumes_it(
    client: AguiClient, approved: bool
) -> None:
    reply = await ask(client, "delete milk")
    [card] = tools(reply)
    assert reply.status == "interrupted"
    assert card.approval == 'Approve delete_item({"name":"milk"})?'
    assert client.answer(card.call_id, approved)
    await eventually(lambda: client.idle and reply.status != "interrupted")
    assert client.conversation.messages[-1].status == "done" and card.answer == (
        "approved" if approved else "denied"
    )
    assert card.approval is None
    assert card.result is not None
    if approved:
        assert card.result == {"content": "deleted milk"}
    else:
        assert "denied" in str(card.result["content"]).lower()
    assert client.conversation.messages[-1] is reply, "the resumed run continues the same reply"


async def test_a_stream_cut_mid_reply_is_interrupted_keeps_its_text_and_retry_asks_again(
    client: AguiClient,
) -> None:
    client.send_user_message("slow")
    await eventually(lambda: "word5" in client.conversation.messages[-1].text)
    client.drop()
    await eventually(lambda: client.idle)
    reply = client.conversation.messages[-1]
    assert reply.status == "interrupted" and reply.text.startswith("word0 word1 word2 word3 word4 word5")
    assert "before RUN_FINISHED" in reply.note
    assert client.engine.state is ConnectionState.OPEN
    client.retry(reply.id)
    await eventually(lambda: client.conversation.messages[-1] is not reply)
    await eventually(lambda: client.idle, seconds=20)
    again = client.conversation.messages[-1]
    assert again.status == "done" and again.text.startswith("word0") and again.text.endswith("word199 ")
    assert reply.text.startswith("word0"), "what arrived before the cut is kept"


async def test_an_http_error_shows_its_status_and_body(agent: Served) -> None:
    client = AguiClient(agent.url.replace("/agent", "/broken"))
    client.start()
    try:
        reply = await ask(client, "hello")
        assert reply.status == "error"
        assert reply.note == "HTTP 503: the model provider is down"
        assert any("503" in n.text for n in client.conversation.notices)
    finally:
        await client.close()


async def test_record_writes_the_transcript_contract(agent: Served) -> None:
    client = make_client(Target("agui", agent.url))
    result = await record(client, ["reset", "list milk", "hello"], within=30)
    transcript = result.json()
    messages = transcript["messages"]
    assert isinstance(messages, list)
    statuses = [m["status"] for m in messages if isinstance(m, dict) and m["role"] == "assistant"]
    assert statuses == ["done", "done", "done"]
    second = messages[3]
    assert isinstance(second, dict)
    assert second["blocks"] == [
        {
            "kind": "tool",
            "call_id": "call_add_5_0",  # the model numbers calls by the history length
            "tool_name": "add_item",
            "args": {"name": "milk"},
            "result": {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/items/-", "value": "milk"}]},
            "status": "done",
        },
        {"kind": "text", "text": "Done as asked."},
    ]
    contexts = transcript["contexts"]
    assert isinstance(contexts, dict)
    assert contexts["state"] == [{"items": [], "done": True}, {"items": ["milk"], "done": True}]


async def test_record_against_a_refused_port_says_it_cannot_reach_the_agent() -> None:
    from tests.helpers import free_port

    client = make_client(Target("agui", f"http://127.0.0.1:{free_port()}/agent"))
    with pytest.raises(RecordError, match=r"cannot reach .*ConnectError"):
        await record(client, ["hello"], within=1.5)


async def test_record_on_the_command_line_exits_non_zero_when_a_reply_failed(
    agent: Served, tmp_path: Path
) -> None:
    out = tmp_path / "t.json"
    url = agent.url.replace("/agent", "/broken")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "main.py",
        "record",
        f"agui={url}",
        "--prompt",
        "hi",
        "--out",
        str(out),
        "--timeout",
        "20",
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3 and b"interrupted or failed" in stderr
    assert json.loads(out.read_text())["messages"][1]["status"] == "error"
