"""The embedded agent-server, tested over real loopback sockets with a raw `websockets` client.

The client here is deliberately small and spec-abiding: it PONGs every PING at once, ACKs every
TOOL_CALL, and (for chaos) reorders by seq, drops duplicates and malformed frames, and reconnects with
RESUME{last_seq}. What it reassembles must equal the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.sim import agent_kinds as kinds
from console.sim import agent_scripts as scripts
from console.sim import agent_steps as steps
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.sim.agent_chaos import CHAOS_BEHAVIOURS
from console.sim.agent_kinds import EXAMPLE_PROMPTS, KINDS, Kind

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


def assemble(frames: list[JsonObject]) -> tuple[JsonObject, dict[str, list[JsonValue]]]:
    """The assistant message and contexts a client builds from frames applied in seq order."""
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
    message: JsonObject = {
        "role": "assistant",
        "stream_id": stream_id,
        "text": text,
        "status": status,
        "blocks": blocks,
    }
    return message, contexts


def entries(sim: AgentSimulator, session: str, kind: str) -> list[JsonObject]:
    return [e for e in sim.log(session) if isinstance(e, dict) and e["kind"] == kind]


def chaos_done(sim: AgentSimulator, session: str | None = None) -> set[str]:
    return {str(e["behaviour"]) for e in sim.log(session) if isinstance(e, dict) and e["kind"] == "chaos"}


# -- scripts (pure) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_example_prompts_classify_to_their_kind(kind: Kind) -> None:
    assert kinds.classify(EXAMPLE_PROMPTS[kind]) == kind


def test_classify_matches_whole_words_and_falls_back_to_a_seeded_choice() -> None:
    assert kinds.classify("this is it") is None  # "hi" inside "this" is no greeting
    assert kinds.classify("Hi!") == "greeting"
    picks = {kinds.choose_kind("tell me something", random.Random(i)) for i in range(60)}
    assert picks == set(KINDS) - {"markdown"}  # the Markdown sample is only given when asked for
    assert kinds.choose_kind("xyz", random.Random(7)) == kinds.choose_kind("xyz", random.Random(7))


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_have_the_recorded_shapes(kind: Kind) -> None:
    for seed in range(5):
        script = scripts.build_script(EXAMPLE_PROMPTS[kind], random.Random(seed))
        assert script.kind == kind
        assert script.stream_id.startswith("s_") and len(script.stream_id) == 10
        tokens = [s for s in script.steps if isinstance(s, steps.Token)]
        assert all(1 <= len(t.text.split()) <= 3 for t in tokens)
        assert all(0.03 <= t.delay <= 0.08 for t in tokens[1:])
        for tool in script.tools():
            assert tool.call_id.startswith("tc_") and len(tool.call_id) == 11
            assert 1.0 <= tool.latency <= 2.0
        assert script.text == "".join(
            str(b["text"]) for b in script.blocks() if isinstance(b, dict) and b["kind"] == "text"
        )
        n_tools = len(script.tools())
        expected = {"greeting": (0, 0), "single_tool": (1, 1), "multi_tool": (2, 9), "tool_first": (1, 1)}
        lo, hi = expected.get(kind, (1, 9))
        assert lo <= n_tools <= hi
        if kind == "tool_first":
            assert isinstance(script.steps[0], steps.ToolCalls)
        if kind == "long":
            assert script.word_count >= 2000
        if kind == "large_context":
            assert len(dumps(script.snapshots()[0].data)) > 500_000


def test_most_responses_open_with_a_snapshot_and_update_it_mid_response() -> None:
    opening = updated = 0
    for seed in range(60):
        kind = KINDS[seed % len(KINDS)]
        script = scripts.build_script(EXAMPLE_PROMPTS[kind], random.Random(seed))
        first = script.steps[1] if kind == "tool_first" else script.steps[0]
        opening += isinstance(first, steps.Snapshot)
        ids = [s.context_id for s in script.snapshots()]
        updated += len(ids) > len(set(ids))
    assert opening >= 45 and updated >= 40


def test_scripts_are_deterministic_per_seed() -> None:
    a = scripts.build_script("hello there", random.Random("s"))
    b = scripts.build_script("hello there", random.Random("s"))
    c = scripts.build_script("hello there", random.Random("t"))
    assert a == b
    assert a.stream_id != c.stream_id


def test_mid_response_snapshot_changes_adds_removes_and_inserts() -> None:
    script = scripts.build_script("summarize the q3 report", random.Random(0))
    before, after = (s.data for s in script.snapshots())
    assert script.snapshots()[0].context_id == script.snapshots()[1].context_id == "ctx_report"
    assert set(after) - set(before)  # added keys
    assert set(before) - set(after)  # removed keys
    assert before["pages"] != after["pages"]  # changed
    sections_before, sections_after = before["sections"], after["sections"]
    assert isinstance(sections_before, list) and isinstance(sections_after, list)
    assert len(sections_after) == len(sections_before) + 1  # an item inserted mid-list
    assert sections_after[-1] == sections_before[-1]


def test_chaos_injection_at_generation_time() -> None:
    rates = ChaosRates.only(rapid_tools=1.0, oversized=1.0, error=1.0, malformed=1.0)
    script = scripts.build_script("summarize the q3 report", random.Random(0), rates)
    assert set(script.chaos) == {"rapid_tools", "oversized", "error", "malformed"}
    calls = [s for s in script.steps if isinstance(s, steps.ToolCalls)]
    assert len(calls[0].calls) == 2
    assert any(len(dumps(s.data)) > 500_000 for s in script.snapshots())
    normal = scripts.build_script("summarize the q3 report", random.Random(0))
    assert script.text == normal.text  # chaos changes delivery and extras, not what the agent says
    with pytest.raises(ValueError):
        ChaosRates.only(nonsense=1.0)


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
        message, contexts = assemble(frames)
        truth = sim.truth(kind)
        assert truth["messages"] == [
            {
                "role": "user",
                "stream_id": None,
                "text": prompt,
                "status": "done",
                "blocks": [{"kind": "text", "text": prompt}],
            },
            message,
        ]
        assert truth["contexts"] == contexts
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
            assert len(str(message["text"]).split()) >= 2000
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
        truth = sim.truth("q")["messages"]
        assert isinstance(truth, list) and len(truth) == 4
        assert truth[1] == assemble(first)[0] and truth[3] == assemble(second)[0]


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
        message, _ = assemble(frames)
        truth = sim.truth("r")["messages"]
        assert isinstance(truth, list) and truth[-1] == message
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


# -- chaos ---------------------------------------------------------------------------------------------------


@dataclass
class RobustRun:
    applied: list[JsonObject] = field(default_factory=list)
    connections: int = 0
    duplicates: int = 0
    malformed: int = 0
    out_of_order: int = 0
    raw_pings: list[str] = field(default_factory=list)


async def robust_run(sim: AgentSimulator, session: str, prompt: str, *, limit: float = 60) -> RobustRun:
    """A spec-abiding client: reorder buffer, dedup, PONG at once, ACK on apply, RESUME on reconnect."""
    run = RobustRun()
    pending: dict[int, JsonObject] = {}
    next_seq = 1
    done = False
    async with asyncio.timeout(limit):
        while not done:
            async with connect(ws_url(sim, session), max_size=None) as ws:
                run.connections += 1
                if run.connections > 1:
                    await ws.send(dumps({"type": "RESUME", "last_seq": next_seq - 1}))
                else:
                    await ws.send(dumps({"type": "USER_MESSAGE", "content": prompt}))
                try:
                    async for raw in ws:
                        try:
                            frame = obj(raw)
                        except (jsonvalue.JsonDecodeError, AssertionError):
                            run.malformed += 1
                            continue
                        seq = frame.get("seq")
                        if not isinstance(seq, int) or frame.get("type") not in scripts_frame_types:
                            run.malformed += 1
                            continue
                        if frame["type"] == "PING":  # heartbeats never wait behind the buffer
                            run.raw_pings.append(str(frame["challenge"]))
                            await answer(ws, frame)
                        if seq < next_seq or seq in pending:
                            run.duplicates += 1
                            continue
                        if seq > next_seq:
                            run.out_of_order += 1
                        pending[seq] = frame
                        while next_seq in pending:
                            ready = pending.pop(next_seq)
                            next_seq += 1
                            run.applied.append(ready)
                            if ready["type"] == "TOOL_CALL":
                                await answer(ws, ready)
                            if ready["type"] == "STREAM_END":
                                done = True
                        if done:
                            break
                except ConnectionClosed:
                    continue
    return run


scripts_frame_types = frozenset(
    {"TOKEN", "TOOL_CALL", "TOOL_RESULT", "CONTEXT_SNAPSHOT", "PING", "STREAM_END", "ERROR"}
)

_CHAOS_PROMPTS: dict[str, str] = {
    "rapid_tools": EXAMPLE_PROMPTS["single_tool"],
    "oversized": EXAMPLE_PROMPTS["greeting"],
    "empty_ping": EXAMPLE_PROMPTS["multi_tool"],
}


@pytest.mark.parametrize("behaviour", CHAOS_BEHAVIOURS)
async def test_chaos_forced_behaviour_is_performed_and_survivable(behaviour: str) -> None:
    prompt = _CHAOS_PROMPTS.get(behaviour, EXAMPLE_PROMPTS["multi_tool"])
    rates = ChaosRates.only(**{behaviour: 1.0})
    interval = 0.05 if behaviour == "empty_ping" else 60.0
    async with running(SimConfig(mode="chaos", time_scale=FAST, ping_interval=interval, chaos=rates)) as sim:
        run = await robust_run(sim, "c", prompt)
        assert chaos_done(sim, "c") == {behaviour}
        message, contexts = assemble([f for f in run.applied if f["type"] != "PING"])
        truth = sim.truth("c")
        messages = truth["messages"]
        assert isinstance(messages, list) and messages[-1] == message
        assert truth["contexts"] == contexts
        assert sim.violations("c") == []
        if behaviour == "drop":
            assert run.connections == 2
            assert [e["verdict"] for e in entries(sim, "c", "resume")] == ["ok"]
        if behaviour == "duplicate":
            assert run.duplicates > 0
        if behaviour == "reorder":
            assert run.out_of_order > 0
        if behaviour in ("malformed",):
            assert run.malformed == 1
        if behaviour == "error":
            errors = [f for f in run.applied if f["type"] == "ERROR"]
            assert len(errors) == 1 and isinstance(errors[0]["code"], str)
        if behaviour == "empty_ping":
            assert run.raw_pings and set(run.raw_pings) == {""}
        if behaviour == "rapid_tools":
            types = [f["type"] for f in run.applied]
            first = types.index("TOOL_CALL")
            assert types[first + 1] == "TOOL_CALL"
        if behaviour == "oversized":
            assert any(len(dumps(f)) > 500_000 for f in run.applied if f["type"] == "CONTEXT_SNAPSHOT")


async def test_spike_pauses_delivery_then_bursts() -> None:
    rates = ChaosRates.only(spike=1.0)
    async with running(SimConfig(mode="chaos", time_scale=0.1, ping_interval=60, chaos=rates)) as sim:
        async with connect(ws_url(sim, "spike")) as ws:
            await ws.send(dumps({"type": "USER_MESSAGE", "content": "hello"}))
            loop = asyncio.get_running_loop()
            stamps: list[float] = []
            async with asyncio.timeout(20):
                async for raw in ws:
                    stamps.append(loop.time())
                    if obj(raw)["type"] == "STREAM_END":
                        break
        spike = entries(sim, "spike", "chaos")[0]
        seconds = float(str(spike["seconds"]))
        assert 2.0 <= seconds <= 8.0
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert max(gaps) >= seconds * 0.1 * 0.8  # the pause (scaled)
        assert sorted(gaps)[len(gaps) // 2] < 0.01  # ...and the rest came in a burst


async def test_default_chaos_is_survivable_over_several_prompts() -> None:
    async with running(SimConfig(mode="chaos", seed=3, time_scale=FAST, ping_interval=0.2)) as sim:
        kinds: tuple[Kind, ...] = ("single_tool", "multi_tool", "tool_first", "greeting")
        for i, kind in enumerate(kinds):
            run = await robust_run(sim, f"all{i}", EXAMPLE_PROMPTS[kind])
            message, _ = assemble(run.applied)
            messages = sim.truth(f"all{i}")["messages"]
            assert isinstance(messages, list) and messages[-1] == message
        assert sim.violations() == []


async def test_same_seed_same_responses_and_chaos_decisions() -> None:
    async def once(seed: int) -> tuple[dict[str, dict[str, JsonValue]], list[tuple[str, str]]]:
        rates = ChaosRates(reorder=0.2, duplicate=0.2, drop=0.05, spike=0.0)
        async with running(
            SimConfig(mode="chaos", seed=seed, time_scale=FAST, ping_interval=60, chaos=rates)
        ) as sim:
            await robust_run(sim, "d", "analyze and compare the regions")
            await robust_run(sim, "d2", "tell me something")
            chaos = sorted(
                (str(e["behaviour"]), str(e.get("seq")))
                for e in sim.log("d")
                if isinstance(e, dict) and e["kind"] == "chaos"
            )
            return {"d": sim.truth("d"), "d2": sim.truth("d2")}, chaos

    first, second, other = await once(11), await once(11), await once(12)
    assert first == second
    assert first[0] != other[0]


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
            assert truth == sim.truth("h")
            assert truth["messages"][1]["status"] == "done"
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
                messages = sim.truth("g")["messages"]
                assert isinstance(messages, list)
                last = messages[-1]
                if isinstance(last, dict) and last["status"] == "done":
                    break
                await asyncio.sleep(0.02)
