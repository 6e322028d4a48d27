"""A small read's messages handed to the session together (`on_messages`), against a raw server on
loopback: whole, in order, none twice, none after a frame that breaks the protocol."""

from __future__ import annotations

import asyncio

import pytest

from console.runtime import wslink
from console.runtime.wsframes import Message
from console.runtime.wslink import Link
from console.runtime.wsopen import open_link
from tests.hostile.servers import Peer, RawWebSocketServer, frame


class Taken:
    """What the session took: each read's messages as one list, and any message one by one."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[Message]] = []
        self.single: list[Message] = []
        self.fail_on = fail_on

    def many(self, messages: list[Message]) -> None:
        self.batches.append(list(messages))
        if self.fail_on in messages:
            raise RuntimeError("the session broke")

    @property
    def all(self) -> list[Message]:
        return [message for batch in self.batches for message in batch] + self.single


async def linked(url: str, taken: Taken, max_size: int = 1 << 20) -> Link:
    link = await open_link(
        url, taken.single.append, open_timeout=5, max_size=max_size, on_messages=taken.many
    )
    link.start()
    return link


async def serving(wire: bytes, pause: float = 1.0) -> RawWebSocketServer:
    async def script(peer: Peer) -> None:
        await asyncio.sleep(0.2)  # after the session is ready: what came with the handshake waits its turn
        peer.send(wire)  # one write: the client reads it at once, in one read
        await peer.drain()
        await asyncio.sleep(pause)

    server = RawWebSocketServer(script)
    await server.start()
    return server


async def test_a_reads_messages_come_together_in_order_with_a_ping_between() -> None:
    texts = [f'{{"type":"TOKEN","seq":{n}}}' for n in range(1, 7)]
    wire = (
        b"".join(frame(t) for t in texts[:3])
        + bytes([0x89, 4])
        + b"ping"
        + b"".join(frame(t) for t in texts[3:])
    )
    server = await serving(wire)
    try:
        taken = Taken()
        link = await linked(server.url, taken)
        for _ in range(100):
            if len(taken.all) == len(texts):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert taken.all == texts  # every message once, in order
        assert [len(batch) for batch in taken.batches] == [3, 3]  # the ping is answered between them
        assert taken.single == []
        link.abort()
    finally:
        await server.stop()


async def test_what_came_before_invalid_utf8_in_the_same_read_is_taken_and_nothing_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.5)  # this server never answers the close
    server = await serving(frame("one") + frame("two") + frame(b"\xff\xfe broken") + frame("after"))
    try:
        taken = Taken()
        link = await linked(server.url, taken)
        await asyncio.wait_for(asyncio.shield(link.lost), 10)
        assert taken.all == ["one", "two"]
        assert "1007" in link.reason
    finally:
        await server.stop()


async def test_a_session_that_cannot_take_a_read_ends_the_link_and_says_why() -> None:
    server = await serving(frame("boom") + frame("with it"))
    try:
        taken = Taken(fail_on="boom")
        link = await linked(server.url, taken)
        with pytest.raises(RuntimeError, match="the session broke"):
            await asyncio.wait_for(link.wait_closed(), 5)
        assert taken.batches == [["boom", "with it"]]
        assert taken.single == []
    finally:
        await server.stop()
