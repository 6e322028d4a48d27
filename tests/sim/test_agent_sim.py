"""The embedded agent-server, tested over real loopback sockets with a raw `websockets` client.

The client here is deliberately small and spec-abiding: it PONGs every PING at once, ACKs every
TOOL_CALL, and (for chaos) reorders by seq, drops duplicates and malformed frames, and reconnects with
RESUME{last_seq}. What it reassembles must equal the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.sim.agent_kinds import EXAMPLE_PROMPTS, KINDS, Kind
from console.transcript import Transcript
from tests.helpers import assert_same_transcript

FAST = 0.02  # time_scale for tests: a 2,000-word response streams in ~1.5 s


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[AgentSimulator]:
    sim = AgentSimulator(config)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def ws_url(sim: AgentSimulator, session: str) -> str:
    return f"{sim.url}?session={session}"


def obj(raw: str | bytes) -> JsonObject:
    value = jsonvalue.loads(raw)
    assert isinstance(value, dict)
    return value


def dumps(value: JsonValue) -> str:
    return jsonvalue.dumps(value)


def seq_of(frame: JsonObject) -> int:
    seq = frame["seq"]
    assert isinstance(seq, int)
    return seq


async def answer(ws: ClientConnection, frame: JsonObject, *, ack: bool = True, pong: bool = True) -> None:
    if frame["type"] == "PING" and pong:
        await ws.send(dumps({"type": "PONG", "echo": frame["challenge"]}))
    elif frame["type"] == "TOOL_CALL" and ack:
        await ws.send(dumps({"type": "TOOL_ACK", "call_id": frame["call_id"]}))


async def read_until_end(
    ws: ClientConnection,
    *,
    ack: bool = True,
    pong: bool = True,
    until: Callable[[list[JsonObject]], bool] | None = None,
) -> list[JsonObject]:
    """Frames as they arrive, answering PINGs and TOOL_CALLs, up to and including STREAM_END."""
    frames: list[JsonObject] = []
    async for raw in ws:
        frame = obj(raw)
        frames.append(frame)
        await answer(ws, frame, ack=ack, pong=pong)
        if frame["type"] == "STREAM_END" or (until is not None and until(frames)):
            break
    return frames


def assemble(frames: list[JsonObject], prompt: str) -> Transcript:
    """The transcript a client builds from the prompt and the frames of its reply applied in seq order."""
    blocks: list[JsonValue] = []
    cards: dict[str, JsonObject] = {}
    contexts: dict[str, list[JsonValue]] = {}
    stream_id: JsonValue = None
    status = "streaming"
    for frame in frames:
        kind = frame["type"]
        if kind == "TOKEN":
            stream_id = frame["stream_id"]
            last = blocks[-1] if blocks else None
            if isinstance(last, dict) and last["kind"] == "text":
                last["text"] = f"{last['text']}{frame['text']}"
            else:
                blocks.append({"kind": "text", "text": frame["text"]})
        elif kind == "TOOL_CALL":
            stream_id = frame["stream_id"]
            call_id = frame["call_id"]
            assert isinstance(call_id, str)
            card: JsonObject = {
                "kind": "tool",
                "call_id": call_id,
                "tool_name": frame["tool_name"],
                "args": frame["args"],
                "result": None,
                "status": "waiting",
            }
            cards[call_id] = card
            blocks.append(card)
        elif kind == "TOOL_RESULT":
            call_id = frame["call_id"]
            assert isinstance(call_id, str)
            cards[call_id]["result"] = frame["result"]
            cards[call_id]["status"] = "done"
        elif kind == "CONTEXT_SNAPSHOT":
            context_id = frame["context_id"]
            assert isinstance(context_id, str)
            contexts.setdefault(context_id, []).append(frame["data"])
        elif kind == "STREAM_END":
            stream_id = frame["stream_id"]
            status = "done"
    text = "".join(str(b["text"]) for b in blocks if isinstance(b, dict) and b["kind"] == "text")
    user: JsonObject = {
        "role": "user",
        "text": prompt,
        "status": "sent",
        "blocks": [{"kind": "text", "text": prompt}],
    }
    reply: JsonObject = {
        "role": "assistant",
        "stream_id": stream_id,
        "text": text,
        "status": status,
        "blocks": blocks,
        "prompt": prompt,
    }
    return Transcript.from_json({"messages": [user, reply], "contexts": dict(contexts)})


def entries(sim: AgentSimulator, session: str, kind: str) -> list[JsonObject]:
    return [e for e in sim.log(session) if isinstance(e, dict) and e["kind"] == kind]


def chaos_done(sim: AgentSimulator, session: str | None = None) -> set[str]:
    return {str(e["behaviour"]) for e in sim.log(session) if isinstance(e, dict) and e["kind"] == "chaos"}


# -- normal mode over the wire ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_streams_gapless_and_equals_truth(kind: Kind) -> None:
    prompt = EXAMPLE_PROMPTS[kind]
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, kind), max_size=None) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": prompt}))
            async with asyncio.timeout(30):
                frames = await read_until_end(ws)
        assert [seq_of(f) for f in frames] == list(range(1, len(frames) + 1))
        assembled = assemble(frames, prompt)
        assert_same_transcript(assembled, sim.truth(kind))
        types = [f["type"] for f in frames]
        stream_ids = {f["stream_id"] for f in frames if "stream_id" in f}
        assert len(stream_ids) == 1
        if kind == "tool_first":
            assert types[0] == "TOOL_CALL"
        if kind == "greeting":
            assert "TOOL_CALL" not in types
        if kind == "single_tool":
            assert types.count("TOOL_CALL") == 1
        if kind == "multi_tool":
            assert types.count("TOOL_CALL") >= 2
            # sequential: every call's result comes before the next call
            calls = [i for i, t in enumerate(types) if t == "TOOL_CALL"]
            results = [i for i, t in enumerate(types) if t == "TOOL_RESULT"]
            assert all(r < c for r, c in zip(results, calls[1:], strict=False))
        if kind == "large_context":
            assert max(len(dumps(f)) for f in frames if f["type"] == "CONTEXT_SNAPSHOT") > 500_000
        if kind == "long":
            assert len(assembled.replies[0].text.split()) >= 2000
        if kind in ("single_tool", "multi_tool", "large_context", "long"):
            # an updated snapshot arrives mid-response
            first_token = types.index("TOKEN")
            assert "CONTEXT_SNAPSHOT" in types[first_token:]
        assert sim.violations() == []


async def test_token_timing_is_realistic_at_full_speed() -> None:
    async with running(SimConfig(time_scale=1.0, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "timing")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            loop = asyncio.get_running_loop()
            stamps: list[float] = []
            async with asyncio.timeout(10):
                async for raw in ws:
                    frame = obj(raw)
                    if frame["type"] == "TOKEN":
                        stamps.append(loop.time())
                    if frame["type"] == "STREAM_END":
                        break
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps and 0.025 <= sum(gaps) / len(gaps) <= 0.09


async def test_seq_restarts_per_response_and_messages_queue_while_streaming() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "q")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "summarize the q3 report"}))
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            async with asyncio.timeout(30):
                first = await read_until_end(ws)
                second = await read_until_end(ws)
        assert [seq_of(f) for f in first] == list(range(1, len(first) + 1))
        assert [seq_of(f) for f in second] == list(range(1, len(second) + 1))
        assert first[-1]["stream_id"] != second[-1]["stream_id"]
        messages = entries(sim, "q", "user_message")
        assert [m["queued"] for m in messages] == [False, True]
        both = assemble(first, "summarize the q3 report").messages + assemble(second, "hello").messages
        assert sim.truth("q").messages == both


async def test_pings_take_seqs_and_good_pongs_are_logged_ok() -> None:
    async with running(SimConfig(time_scale=0.1, ping_interval=0.1)) as sim:
        async with connect(ws_url(sim, "hb")) as ws:
            # Before any response, numbering starts at 1 and PINGs use it.
            async with asyncio.timeout(5):
                early = [obj(await ws.recv()) for _ in range(2)]
            assert [(f["type"], f["seq"]) for f in early] == [("PING", 1), ("PING", 2)]
            for frame in early:
                await answer(ws, frame)
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "analyze and compare the regions"}))
            async with asyncio.timeout(30):
                frames = await read_until_end(ws)
        # PINGs are interleaved within the response's gapless numbering (any PING before the
        # response's first frame still belongs to the numbering before it).
        start = next(i for i, f in enumerate(frames) if f["type"] != "PING")
        response = frames[start:]
        assert [seq_of(f) for f in response] == list(range(1, len(response) + 1))
        assert any(f["type"] == "PING" for f in response)
        challenges = [f["challenge"] for f in early + response if f["type"] == "PING"]
        assert all(isinstance(c, str) and len(c) == 8 and int(c, 16) >= 0 for c in challenges)
        pongs = entries(sim, "hb", "pong")
        assert len(pongs) >= 3
        assert all(p["verdict"] == "ok" and float(str(p["latency_ms"])) < 3000 for p in pongs)
        assert sim.violations("hb") == []


async def test_three_missed_pongs_terminate_the_connection() -> None:
    async with running(SimConfig(ping_interval=0.1)) as sim:
        async with connect(ws_url(sim, "mute")) as ws:
            async with asyncio.timeout(10):
                with pytest.raises(ConnectionClosed):
                    while True:
                        await ws.recv()  # never PONG
            assert ws.close_code == 4000
        missing = entries(sim, "mute", "pong_missing")
        assert len(missing) == 3 and all(m["verdict"] == "violation" for m in missing)
        assert entries(sim, "mute", "terminate")


async def test_wrong_echo_is_a_violation() -> None:
    async with running(SimConfig(ping_interval=0.05)) as sim:
        async with connect(ws_url(sim, "echo")) as ws:
            frame = obj(await ws.recv())
            await ws.send(dumps({"type": "PONG", "echo": "nope"}))
            await ws.send(dumps({"type": "PONG", "echo": frame["challenge"]}))
            await asyncio.sleep(0.1)
        verdicts = [(p["echo"], p["verdict"]) for p in entries(sim, "echo", "pong")]
        assert verdicts[:2] == [("nope", "violation"), (frame["challenge"], "ok")]


async def test_missing_tool_ack_is_a_violation_and_the_result_comes_anyway() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "noack")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "summarize the q3 report"}))
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(20):
                frames = await read_until_end(ws, ack=False)
                called = loop.time()
        types = [f["type"] for f in frames]
        assert types.index("TOOL_RESULT") == types.index("TOOL_CALL") + 1
        assert called > 0
        async with httpx.AsyncClient(base_url=sim.http_url) as http:
            log = (await http.get("/log", params={"session": "noack"})).json()
        missing = [e for e in log if e["kind"] == "tool_ack_missing"]
        assert len(missing) == 1
        assert missing[0]["verdict"] == "violation"
        assert missing[0]["detail"] == "TOOL_ACK missing after 5 s"
        assert missing[0]["call_id"] == frames[types.index("TOOL_CALL")]["call_id"]


async def test_tool_acks_are_logged_with_latency() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "ack")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "analyze and compare the regions"}))
            async with asyncio.timeout(20):
                await read_until_end(ws)
            await ws.send(dumps({"type": "TOOL_ACK", "call_id": "tc_00000000"}))
            await asyncio.sleep(0.05)
        acks = entries(sim, "ack", "tool_ack")
        assert [a["verdict"] for a in acks] == ["ok", "ok", "ok", "violation"]
        assert acks[-1]["detail"] == "unknown call_id"


async def test_resume_after_drop_replays_everything_after_last_seq() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "r")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "write a long detailed document"}))
            async with asyncio.timeout(20):
                before = await read_until_end(ws, until=lambda fs: len(fs) >= 60)
            assert sim.drop("r")
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
        assert ws.close_code != 1000  # no close frame: an abnormal closure
        await asyncio.sleep(0.3)  # generation goes on while nobody is connected
        last_seq = 40  # the client "processed" less than it received
        async with connect(ws_url(sim, "r")) as ws2:
            await ws2.send(dumps({"type": "RESUME", "last_seq": last_seq}))
            async with asyncio.timeout(30):
                after = await read_until_end(ws2)
        assert seq_of(after[0]) == last_seq + 1
        frames = before[:last_seq] + after
        assert [seq_of(f) for f in frames] == list(range(1, len(frames) + 1))
        assert_same_transcript(assemble(frames, "write a long detailed document"), sim.truth("r"))
        resumes = entries(sim, "r", "resume")
        assert len(resumes) == 1
        assert resumes[0]["verdict"] == "ok"
        assert resumes[0]["first"] is True and resumes[0]["last_seq"] == last_seq
        assert sim.violations("r") == []


async def test_resume_problems_are_violations() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "bad")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            async with asyncio.timeout(10):
                frames = await read_until_end(ws)
        high = seq_of(frames[-1])
        # Reconnect without RESUME first.
        async with connect(ws_url(sim, "bad")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            await ws.send(dumps({"type": "RESUME", "last_seq": 0}))
            async with asyncio.timeout(10):
                # The late RESUME is still honoured: the first response is replayed, then the new one.
                replayed = await read_until_end(ws)
                fresh = await read_until_end(ws)
            assert [seq_of(f) for f in replayed] == [seq_of(f) for f in frames]
            assert fresh[0]["seq"] == 1 and fresh[-1]["stream_id"] != frames[-1]["stream_id"]
        # RESUME beyond anything sent.
        async with connect(ws_url(sim, "bad")) as ws:
            await ws.send(dumps({"type": "RESUME", "last_seq": high + 500}))
            await asyncio.sleep(0.05)
        details = [str(v["detail"]) for v in sim.violations("bad") if isinstance(v, dict)]
        assert any("not RESUME" in d for d in details)
        assert any("not the first frame" in d for d in details)
        assert any("beyond the highest seq sent" in d for d in details)


async def test_silent_reconnection_is_a_missing_resume() -> None:
    async with running(SimConfig(ping_interval=60)) as sim:
        async with connect(ws_url(sim, "quiet")):
            pass
        async with connect(ws_url(sim, "quiet")):
            await asyncio.sleep(2.3)
        missing = entries(sim, "quiet", "resume_missing")
        assert len(missing) == 1 and missing[0]["verdict"] == "violation"


# -- HTTP ----------------------------------------------------------------------------------------------------


async def test_http_endpoints() -> None:
    async with running(
        SimConfig(mode="chaos", time_scale=FAST, ping_interval=60, chaos=ChaosRates.none())
    ) as sim:
        async with connect(ws_url(sim, "h")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            async with asyncio.timeout(10):
                await read_until_end(ws)
        async with httpx.AsyncClient(base_url=sim.http_url) as http:
            health = await http.get("/health")
            assert health.status_code == 200
            assert health.headers["content-type"] == "application/json"
            assert health.json()["status"] == "ok" and health.json()["mode"] == "chaos"
            log = (await http.get("/log")).json()
            assert log == jsonvalue.loads(dumps(sim.log()))
            assert {e["kind"] for e in log} >= {"connect", "user_message", "disconnect"}
            assert (await http.get("/log", params={"session": "nobody"})).json() == []
            truth = (await http.get("/truth", params={"session": "h"})).json()
            assert truth == sim.truth("h").to_json()
            assert Transcript.from_json(truth).replies[0].status == "done"
            assert (await http.get("/truth")).json() == {"messages": [], "contexts": {}}
            assert (await http.get("/elsewhere")).status_code == 404


async def test_a_drop_does_not_stop_generation() -> None:
    async with running(SimConfig(time_scale=FAST, ping_interval=60)) as sim:
        async with connect(ws_url(sim, "g")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            await ws.recv()
            sim.drop("g")
        async with asyncio.timeout(10):
            while True:
                if sim.truth("g").messages[-1].status == "done":
                    break
                await asyncio.sleep(0.02)
