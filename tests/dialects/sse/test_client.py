"""The SSE conversation client over real loopback HTTP against the SSE simulator."""

from __future__ import annotations

import asyncio

import pytest

from console.clients import Target, make_client
from console.connection import ConnectionState
from console.conversation_transcript import transcript_of
from console.dialects.sse.client import SSEClient
from console.record import RecordError, record
from console.sim import sse as sim
from tests.helpers import assert_same_transcript


async def run_to_completion(config: sim.SimConfig) -> tuple[SSEClient, sim.SSESimulator]:
    server = sim.SSESimulator(config)
    await server.start()
    client = SSEClient(server.url)
    client.start()
    for _ in range(1500):
        if client.idle:
            break
        await asyncio.sleep(0.01)
    return client, server


@pytest.mark.parametrize(("ids", "stress"), [(True, False), (False, False), (True, True), (False, True)])
async def test_a_chaotic_stream_with_a_drop_shows_the_conversation_once_and_exactly(
    ids: bool, stress: bool
) -> None:
    # Chaos (reordered and duplicated chunks, a malformed line, an unknown event, a drop) and, with
    # `stress`, CRLF line ends, comment lines and bytes cut inside UTF-8 characters.
    config = sim.SimConfig(ids=ids, chaos=True, seed=4, speed=8.0, retry_ms=50, stress=stress)
    client, server = await run_to_completion(config)
    try:
        assert client.idle, "the conversation completed"
        assert_same_transcript(transcript_of(client.conversation), server.truth())
        kinds = [e.kind for e in client.conversation.trace]
        assert "DISCONNECTED" in kinds and "RESUME" in kinds
        assert server.connections == 2
        if not ids:
            # Without ids the reconnect replays everything; none of it is shown twice.
            assert client.engine.decoder.stats.replayed > 0
        assert client.conversation.link.state is ConnectionState.CLOSED
    finally:
        await client.close()
        await server.stop()


async def test_a_finished_stream_is_complete_and_not_fetched_again_until_replayed() -> None:
    client, server = await run_to_completion(sim.SimConfig(speed=10.0))
    try:
        await asyncio.sleep(0.3)
        assert server.connections == 1  # no reconnect loop
        assert client.conversation.link.detail == "conversation complete"
        first = transcript_of(client.conversation)
        client.restream()
        for _ in range(1500):
            if client.idle and client.conversation.messages:
                break
            await asyncio.sleep(0.01)
        assert server.connections == 2
        again = transcript_of(client.conversation)
        assert_same_transcript(again, first)
        assert_same_transcript(again, server.truth())
    finally:
        await client.close()
        await server.stop()


async def test_record_writes_the_whole_conversation_and_refuses_prompts() -> None:
    server = sim.SSESimulator(sim.SimConfig(speed=10.0))
    await server.start()
    try:
        result = await record(make_client(Target("sse", server.url)), [], within=30)
        assert_same_transcript(result.transcript, server.truth())
        with pytest.raises(RecordError, match="read-only stream"):
            await record(make_client(Target("sse", server.url)), ["hello"], within=5)
    finally:
        await server.stop()


async def test_an_unreachable_stream_keeps_retrying_and_says_why() -> None:
    client = SSEClient("http://127.0.0.1:9/conversation")
    client.start()
    try:
        for _ in range(300):
            if client.conversation.link.attempt >= 1:
                break
            await asyncio.sleep(0.01)
        link = client.conversation.link
        assert link.state is ConnectionState.CONNECTING and link.attempt >= 1
        assert "Connect" in link.detail
    finally:
        await client.close()
