"""AG-UI: the agent-user interaction protocol (Pydantic AI, LangGraph, CrewAI, ADK, ... emit it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    from console.dialects.agui.client import AguiClient  # here: the protocol imports without the I/O

    return AguiClient(url)


DIALECT = register(
    Dialect(
        name="agui",
        summary="AG-UI runs: a POST per prompt answered by an SSE stream, with tool-call approvals",
        schemes=("http", "https"),
        client=_client,
        capabilities=Capabilities(prompts=True, retry=True, approvals=True),
        text_kinds=frozenset({"TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CHUNK"}),
        example_url="http://127.0.0.1:4749/agent",
    )
)
