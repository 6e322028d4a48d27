"""The SSE simulator over loopback, read with httpx + httpx-sse and decoded by the SSE dialect: whatever
the chaos, the conversation a client ends up with is the simulator's ground truth, shown once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from httpx_sse import aconnect_sse

from console import events as ev
from console.dialects.sse.protocol import ConversationDecoder
from console.jsonvalue import JsonObject, JsonValue
from console.sim import sse_corpus
from console.sim.sse import SimConfig, SSESimulator, create_app
from console.sim.sse_corpus import expected_messages


@dataclass
class Run:
    events: list[ev.Event] = field(default_factory=list)
    ids: list[list[str]] = field(default_factory=list)  # the ids seen, per connection
    names: list[str] = field(default_factory=list)
    retry: int | None = None
    drops: int = 0
    decoder: ConversationDecoder = field(default_factory=ConversationDecoder)

    @property
    def errors(self) -> list[str]:
        return [e.reason for e in self.events if isinstance(e, ev.ProtocolError)]


async def read_conversation(client: httpx.AsyncClient, url: str, attempts: int = 5) -> Run:
    """What a client does: read the stream, and after a drop reconnect (with Last-Event-ID if the
    server gave ids) until the stream ends cleanly."""
    run = Run()
    last_id = ""
    for _ in range(attempts):
        run.ids.append([])
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            async with aconnect_sse(client, "GET", url, headers=headers) as source:
                assert source.response.headers["content-type"].startswith("text/event-stream")
                async for sse in source.aiter_sse():
                    run.retry = sse.retry if sse.retry is not None else run.retry
                    if sse.id:
                        last_id = sse.id
                        run.ids[-1].append(sse.id)
                    run.names.append(sse.event)
                    run.events.extend(run.decoder.feed(sse.event, sse.data, sse.id).events)
            return run
        except httpx.RemoteProtocolError:
            run.drops += 1
    raise AssertionError(f"no clean end after {attempts} connections")


def shown(events: list[ev.Event]) -> list[JsonObject]:
    """The messages as a user would see them, in the sim's ground-truth shape; nothing may repeat."""
    messages: dict[str, JsonObject] = {}
    texts: dict[str, str] = {}
    components: dict[str, dict[str, JsonValue]] = {}
    types: dict[str, str] = {}
    owner: dict[str, str] = {}
    ended: set[str] = set()
    for event in events:
        match event:
            case ev.MessageStart(stream_id=sid, role=role):
                assert sid not in messages, f"{sid} shown twice"
                messages[sid] = {"id": sid, "role": role}
                texts[sid] = ""
            case ev.TextDelta(stream_id=sid, text=text):
                texts[sid] += text
            case ev.ComponentStart(stream_id=sid, component_id=cid, type=kind):
                assert cid not in components, f"{cid} shown twice"
                components[cid], types[cid], owner[cid] = {}, kind, sid
            case ev.ComponentField(component_id=cid, field=name, value=value):
                components[cid][name] = value
            case ev.ComponentEnd(component_id=cid):
                ended.add(cid)
    assert ended == set(components), "every component must be complete"
    return [
        {
            **message,
            "text": texts[sid],
            "components": [
                {"type": types[cid], "fields": fields}
                for cid, fields in components.items()
                if owner[cid] == sid
            ],
        }
        for sid, message in messages.items()
    ]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


async def started(config: SimConfig) -> SSESimulator:
    sim = SSESimulator(config)
    port = await sim.start()
    assert port > 0 and sim.url == f"http://127.0.0.1:{port}/conversation"
    return sim


async def test_the_stream_is_the_spec_conversation_in_4_character_chunks(client: httpx.AsyncClient) -> None:
    sim = await started(SimConfig(delay=0))
    try:
        run = await read_conversation(client, sim.url)
    finally:
        await sim.stop()
    assert run.errors == []
    assert shown(run.events) == expected_messages()
    assert run.retry == 1500
    assert run.ids[0] == [str(i) for i in range(1, len(run.ids[0]) + 1)]
    deltas = [e.text for e in run.events if isinstance(e, ev.TextDelta)]
    assert all(1 <= len(text) <= 4 for text in deltas) and deltas[0] == "Hi! "
    assert {"contact_badge", "calendar_event"} <= {
        e.type for e in run.events if isinstance(e, ev.ComponentStart)
    }


async def test_chaos_with_ids_resumes_after_the_drop_without_loss(client: httpx.AsyncClient) -> None:
    sim = await started(SimConfig(delay=0, chaos=True, seed=7))
    try:
        run = await read_conversation(client, sim.url)
    finally:
        await sim.stop()
    assert run.drops == 1 and sim.connections == 2
    first, second = run.ids
    assert int(second[0]) == int(first[-1]) + 1  # resumed after the last event received
    assert shown(run.events) == expected_messages()
    stats = run.decoder.stats
    assert stats.out_of_order >= 1 and stats.duplicates >= 1
    assert any("malformed JSON" in e for e in run.errors)
    assert any("unknown event type 'typing_indicator'" in e for e in run.errors)


async def test_chaos_without_ids_replays_from_the_start_and_nothing_shows_twice(
    client: httpx.AsyncClient,
) -> None:
    sim = await started(SimConfig(delay=0, chaos=True, ids=False, seed=7))
    try:
        run = await read_conversation(client, sim.url)
    finally:
        await sim.stop()
    assert run.drops == 1 and run.ids == [[], []]
    assert shown(run.events) == expected_messages()
    assert run.decoder.stats.replayed > 0
    assert run.decoder.completed == {m["id"] for m in expected_messages()}


@pytest.mark.parametrize("ids", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_every_chaos_seed_ends_in_the_ground_truth(
    client: httpx.AsyncClient, seed: int, ids: bool
) -> None:
    sim = await started(SimConfig(delay=0, chaos=True, ids=ids, seed=seed))
    try:
        run = await read_conversation(client, sim.url)
    finally:
        await sim.stop()
    assert run.drops == 1
    assert shown(run.events) == expected_messages()


async def test_a_cut_inside_a_component_is_completed_by_the_replay(client: httpx.AsyncClient) -> None:
    plain = await started(SimConfig(delay=0))
    try:
        names = (await read_conversation(client, plain.url)).names
    finally:
        await plain.stop()
    inside = names.index("component_field") + 1  # the calendar event has one field so far
    sim = await started(SimConfig(delay=0, chaos=True, ids=False, drop_at=inside))
    try:
        run = await read_conversation(client, sim.url)
    finally:
        await sim.stop()
    assert run.drops == 1
    assert shown(run.events) == expected_messages()


async def test_events_are_paced_and_the_pace_scales(client: httpx.AsyncClient) -> None:
    sim = await started(SimConfig(delay=0.05, speed=10))  # 5 ms between events
    try:
        began = time.monotonic()
        run = await read_conversation(client, sim.url)
        took = time.monotonic() - began
    finally:
        await sim.stop()
    events = len(run.ids[0])
    assert (events - 1) * 0.005 * 0.8 <= took < 10


async def test_health_and_unknown_paths(client: httpx.AsyncClient) -> None:
    sim = await started(SimConfig(delay=0))
    try:
        base = sim.url.removesuffix("/conversation")
        health = await client.get(f"{base}/health")
        truth = await client.get(f"{base}/truth")
        missing = await client.get(f"{base}/nope")
    finally:
        await sim.stop()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert truth.json() == sim.truth().to_json()
    assert [(m.stream_id, m.role, m.text) for m in sim.truth().messages] == [
        (m["id"], m["role"], m["text"]) for m in expected_messages()
    ]
    assert missing.status_code == 404


async def test_the_mountable_app_serves_the_same_conversation() -> None:
    app = create_app(SimConfig(delay=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http:
        run = await read_conversation(http, "/conversation")
        truth = (await http.get("/truth")).json()
    assert shown(run.events) == expected_messages()
    assert truth == sse_corpus.transcript().to_json()
