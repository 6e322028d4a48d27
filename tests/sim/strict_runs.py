"""Drive the real agent client against the strict server profile and score what it showed.

Shared by the strict-profile tests and `tests/bench/real_server.py`: a run starts a
`StrictAgentServer`, attaches an `AgentClient` (the console's engine and transport, unchanged), sends
the prompts one after another (each once the client is idle again) and compares every reply the
client ended with what the server generated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.session import Message
from console.sim.agent_strict import Reply, StrictAgentServer, StrictConfig

PROMPTS = ("summarize the q3 report", "analyze and compare the regions", "lookup churn definition", "hello")


def scaled(engine: EngineConfig, scale: float) -> EngineConfig:
    """The engine's clocks at the server's time scale (what a scaled-down server needs of a client)."""
    return EngineConfig(
        gap_timeout=engine.gap_timeout * scale,
        max_gap_resumes=engine.max_gap_resumes,
        ack_deadline=engine.ack_deadline * scale,
        stall_timeout=engine.stall_timeout * scale,
        idle_timeout=engine.idle_timeout * scale,
        resume_quiet=engine.resume_quiet * scale,
        max_frame=engine.max_frame,
    )


def quick_backoff() -> Iterator[float]:
    while True:
        yield 0.1


@dataclass
class RunResult:
    seed: int
    done: int = 0
    interrupted: int = 0
    text_errors: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # interrupted with no server drop during it
    server_drops: int = 0
    server_drops_during_reply: int = 0
    client_reconnects: int = 0
    unexpected_pongs: int = 0  # the server logged "unexpected": no PING pending with that challenge
    repeat_pongs: int = 0  # of those, a second PONG to a PING answered before (a replayed copy)
    timeouts: int = 0


def _score(result: RunResult, server: StrictAgentServer, messages: Sequence[Message]) -> None:
    by_stream = {m.stream_id: m for m in messages if m.role == "assistant" and m.stream_id}
    replies = [m for m in messages if m.role == "assistant"]
    result.done += sum(1 for m in replies if m.status == "done")
    result.interrupted += sum(1 for m in replies if m.status == "interrupted")
    truth: list[Reply] = server.replies
    for reply in truth:
        message = by_stream.get(reply.stream_id)
        text = "".join(reply.texts)
        if message is None:
            if not reply.server_dropped and reply.aborted_by != "server drop":
                result.unexplained.append(f"reply {reply.number} never shown ({reply.status})")
            continue
        if message.status == "done" and message.text != text:
            result.text_errors.append(f"reply {reply.number}: done but differs from the server's text")
        elif message.status != "done" and not text.startswith(message.text):
            result.text_errors.append(f"reply {reply.number}: not a prefix of the server's text")
        if message.status == "interrupted" and not reply.server_dropped:
            result.unexplained.append(
                f"reply {reply.number} interrupted ({reply.aborted_by or reply.status})"
            )


async def run(
    seed: int,
    prompts: Sequence[str] = PROMPTS,
    *,
    time_scale: float = 1.0,
    engine: EngineConfig | None = None,
    engine_scale: float | None = None,
    reply_timeout: float = 120.0,
) -> RunResult:
    """One run; the engine's clocks go at `engine_scale` (default: the server's `time_scale`)."""
    server = StrictAgentServer(StrictConfig(seed=seed, time_scale=time_scale))
    await server.start()
    config = scaled(engine or EngineConfig(), engine_scale or time_scale)
    client = AgentClient(server.url, AgentEngine(config=config), backoff_factory=quick_backoff)
    client.start()
    result = RunResult(seed)
    try:
        for prompt in prompts:
            client.send_user_message(prompt)
            deadline = time.monotonic() + reply_timeout
            while not client.idle and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if not client.idle:
                result.timeouts += 1
    finally:
        await client.close()
        await asyncio.sleep(0.05)
        await server.stop()
    _score(result, server, client.conversation.messages)
    result.server_drops = server.count("disconnect", by="server")
    result.server_drops_during_reply = server.count("disconnect", by="server", during_reply=True)
    # The last disconnect is the client closing at the end of the run.
    result.client_reconnects = max(0, server.count("disconnect", by="client") - 1)
    result.unexpected_pongs = server.count("pong", verdict="unexpected")
    result.repeat_pongs = server.count("pong", verdict="unexpected", repeat=True)
    return result
