"""The SSE conversation dialect: event-stream framing, protocol (sans-I/O), engine, client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    # Imported here: the protocol imports without the I/O stack, and without the component views.
    from components import known_fields
    from console.dialects.sse.client import SSEClient
    from console.dialects.sse.engine import SSEEngine

    # A field is reported as unknown exactly when the component's model does not declare it.
    return SSEClient(url, SSEEngine(known_fields=known_fields()))


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
