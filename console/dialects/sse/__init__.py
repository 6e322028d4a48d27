"""The SSE conversation dialect: event-stream framing, protocol (sans-I/O), engine, client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    from console.dialects.sse.client import SSEClient  # here: the protocol imports without the I/O

    return SSEClient(url)


DIALECT = register(
    Dialect(
        name="sse",
        summary="a conversation streamed as server-sent events (read-only: it takes no prompts)",
        schemes=("http", "https"),
        client=_client,
        capabilities=Capabilities(prompts=False, retry=False, replay=True),
        text_kinds=frozenset({"TEXT_CHUNK"}),
        example_url="http://127.0.0.1:4748/conversation",
    )
)
