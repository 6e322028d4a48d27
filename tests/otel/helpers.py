"""Sessions against the embedded simulator, watched by an exporter, for the OpenTelemetry tests."""

from __future__ import annotations

import asyncio

from console.clients import Target
from console.engines.agent import AgentEngine, EngineConfig
from console.sessions import SessionEntry, SessionHub
from console.sim.agent import AgentSimulator
from console.transport.websocket import AgentClient


def open_session(hub: SessionHub, sim: AgentSimulator, name: str = "otel") -> SessionEntry:
    engine = AgentEngine(config=EngineConfig(gap_timeout=0.5, stall_timeout=20))
    client = AgentClient(f"{sim.url}?session={name}", engine)
    return hub.add(Target("agent", client.url), name=name, client=client)


async def converse(entry: SessionEntry, prompts: list[str]) -> None:
    """Send each prompt once the previous reply is over, as a user would."""
    client = entry.client
    for prompt in prompts:
        for _ in range(250):
            if client.connected_once and client.idle:
                break
            await asyncio.sleep(0.02)
        client.send_user_message(prompt)
        await asyncio.sleep(0.05)
        for _ in range(1500):
            if client.idle:
                break
            await asyncio.sleep(0.02)
        assert client.idle, f"no reply to {prompt!r}"
