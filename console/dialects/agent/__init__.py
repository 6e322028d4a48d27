"""The seq-numbered agent WebSocket dialect: protocol (sans-I/O), engine, trace rows, client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    from console.dialects.agent.client import AgentClient  # here: the protocol imports without the I/O

    return AgentClient(url)


DIALECT = register(
    Dialect(
        name="agent",
        summary="seq-numbered agent protocol over WebSocket (tokens, tool calls, context snapshots)",
        schemes=("ws", "wss"),
        client=_client,
        capabilities=Capabilities(prompts=True, retry=True),
        text_kinds=frozenset({"TOKEN"}),
        example_url="ws://127.0.0.1:4747/ws",
    )
)
