"""The chat WebSocket dialect: several conversations on one connection; protocol (sans-I/O), engine, client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    from console.dialects.chat.client import ChatClient  # here: the protocol imports without the I/O

    return ChatClient(url)


DIALECT = register(
    Dialect(
        name="chat",
        summary="chat over WebSocket: ideas then a message per reply, several chats on one connection",
        schemes=("ws", "wss"),
        client=_client,
        capabilities=Capabilities(prompts=True, retry=True, conversations=True),
        text_kinds=frozenset({"MESSAGE", "IDEA"}),
        example_url="ws://127.0.0.1:8000/ws",
    )
)
