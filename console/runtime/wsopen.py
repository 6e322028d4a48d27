"""Opening a link (`console/runtime/wslink.py`): the connection and the handshake, within a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from console.runtime.admission import opening
from console.runtime.wsframes import Message
from console.runtime.wslink import Link, Watch


async def open_link(
    url: str,
    on_message: Callable[[Message], None],
    *,
    open_timeout: float,
    max_size: int,
    peek: Callable[[Message], None] | None = None,
    watch: Watch | None = None,
    on_messages: Callable[[list[Message]], None] | None = None,
) -> Link:
    """Connect and complete the handshake within `open_timeout` seconds (a wait for a place among
    the connections being opened included)."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, max_size=max_size)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(open_timeout), opening():
        _, link = await loop.create_connection(
            lambda: Link(protocol, on_message, peek, max_size, watch, on_messages),
            uri.host,
            uri.port,
            ssl=True if uri.secure else None,
            server_hostname=uri.host if uri.secure else None,
        )
        try:
            await link.opened
        except BaseException:
            link.abort()
            raise
    return link
