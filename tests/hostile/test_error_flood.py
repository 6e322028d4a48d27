"""A flood of ERROR frames costs the same per frame however long it lasts, and the same per tick
however many frames came between two ticks: the notice board, the chat's notice lines and the
timeline's rows stay bounded while the page is open, and the heartbeats are answered in time."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from nicegui.testing import User

from console import events as ev
from console.clients import Target
from console.dialects.agent.client import AgentClient
from console.limits import Limits
from console.runtime import wslink
from console.session import Conversation
from console.session_trace import TraceEntry
from console.supervisor import Supervisor
from console.ui import page
from console.ui.timeline_model import ROWS_PER_TICK, TimelineModel
from tests.hostile.servers import Peer, RawWebSocketServer, frame

TEXTS = 7  # the flood cycles through this many messages


def test_errors_cycling_through_a_few_texts_keep_one_notice_per_text_with_its_count() -> None:
    conversation = Conversation(limits=Limits(notices=50))
    for n in range(40_000):
        conversation.apply(ev.ServerError("E", f"failure {n % TEXTS}"), 0.0)
    notices = list(conversation.notices)
    assert sorted(n.text for n in notices) == [f"E: failure {k}" for k in range(TEXTS)]
    assert sum(n.repeats for n in notices) == 40_000
    assert notices[-1].text == f"E: failure {39_999 % TEXTS}"  # the one posted last is the newest
    assert conversation.notices.folded == 0


def test_distinct_errors_past_the_board_fold_the_oldest_and_count_them() -> None:
    conversation = Conversation(limits=Limits(notices=50))
    for n in range(20_000):
        conversation.apply(ev.ServerError("E", f"distinct {n}"), 0.0)
    assert [n.text for n in conversation.notices] == [f"E: distinct {n}" for n in range(19_950, 20_000)]
    assert conversation.notices.folded == 19_950


def test_thousands_of_rows_between_two_ticks_send_a_bounded_tick_and_count_the_rest_as_older() -> None:
    model = TimelineModel()
    for i in range(40_000):
        model.feed(TraceEntry(i, i * 1e-4, "in", "ERROR", f"E: failure {i % TEXTS}", i, "{}"))
    ops, older_changed = model.take_ops()
    added = [op for op in ops if isinstance(op, list) and op[0] == "a"]
    assert len(added) == ROWS_PER_TICK and older_changed
    assert model.older_count == 40_000 - ROWS_PER_TICK
    assert [row.id for row in model.rows] == list(range(40_000 - ROWS_PER_TICK, 40_000))  # the newest
    assert model.take_ops() == ([], False)


async def test_a_page_open_during_a_flood_of_errors_keeps_a_line_per_text_and_pongs_in_time(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.2)  # this server never answers a closing handshake
    count = 20_000
    pings: dict[str, float] = {}
    go = asyncio.Event()

    async def script(peer: Peer) -> None:
        await go.wait()
        seq = 1
        for n in range(count):
            if n % 500 == 0:
                challenge = f"p{n}"
                peer.send(frame(json.dumps({"type": "PING", "seq": seq, "challenge": challenge})))
                pings[challenge] = time.monotonic()
                seq += 1
                await peer.drain()
            message = {"type": "ERROR", "seq": seq, "code": "E", "message": f"failure {n % TEXTS}"}
            peer.send(frame(json.dumps(message)))
            seq += 1

    server = RawWebSocketServer(script)
    await server.start()
    hub = Supervisor()
    client = AgentClient(server.url)
    hub.add(Target("agent", server.url), name="agent", client=client)
    client.start()
    page.register(hub)
    try:
        await user.open("/session/agent")
        go.set()
        for _ in range(3_000):
            if sum(n.repeats for n in client.conversation.notices) == count:
                break
            await asyncio.sleep(0.02)
        await user.should_see(f"E: failure 0 (×{count // TEXTS + 1})")
        lines = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "notice"]
        assert len(lines) == TEXTS
        peer = server.peers[0]
        pongs = {str(pong["echo"]): at for at, pong in peer.sent("PONG")}
        assert set(pongs) == set(pings)
        assert max(pongs[c] - at for c, at in pings.items()) < 3.0
    finally:
        await hub.close()
        await server.stop()
