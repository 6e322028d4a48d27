"""A toy wire dialect, whole in this folder: it shows that adding a dialect touches no other file.

Its wire is a WebSocket of plain-text frames. The client sends `say <prompt>`; the server answers with
`part <text>` frames and one `end`. This package registers the dialect; `protocol` decodes frames
(sans-I/O), `engine` applies them to a conversation, `client` runs the shared WebSocket loop, and
`server` is a loopback server that speaks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.dialects.base import Capabilities, Dialect, register

if TYPE_CHECKING:
    from console.clients import SessionClient


def _client(url: str) -> SessionClient:
    from tests.dialects.toy.client import ToyClient

    return ToyClient(url)


DIALECT = register(
    Dialect(
        name="toy",
        summary="a toy dialect of plain-text frames over WebSocket",
        schemes=("ws",),
        client=_client,
        capabilities=Capabilities(prompts=True, retry=False),
        text_kinds=frozenset({"PART"}),
        example_url="ws://127.0.0.1:1/",
    )
)
