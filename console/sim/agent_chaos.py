"""Chaos the simulated agent carries in a response (decided when it is built) and in the delivery of
each frame (decided the first time it is sent); replays are always clean."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from console import jsonvalue
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_corpus import SECTIONS
from console.sim.agent_steps import (
    OVERSIZED_BYTES,
    SPIKE,
    TOKEN_DELAY,
    TOOL_LATENCY,
    ErrorFrame,
    Malformed,
    Script,
    Snapshot,
    Tool,
    ToolCalls,
    hex_id,
)


@dataclass(frozen=True, slots=True)
class ChaosRates:
    """Probabilities of each chaos behaviour (chaos mode only).

    Units: `drop` and `spike` per TOKEN frame, at most one of each per response; `reorder` and
    `duplicate` per sequenced frame; `rapid_tools` per tool call (it gains a companion call sent
    before either result); `empty_ping` per PING; `oversized`, `error` and `malformed` per response.
    A rate of 1.0 forces the behaviour, 0.0 disables it.
    """

    drop: float = 0.02
    spike: float = 0.01
    reorder: float = 0.05
    duplicate: float = 0.04
    rapid_tools: float = 0.3
    empty_ping: float = 0.2
    oversized: float = 0.15
    error: float = 0.1
    malformed: float = 0.1

    @classmethod
    def none(cls) -> ChaosRates:
        return cls(0, 0, 0, 0, 0, 0, 0, 0, 0)

    @classmethod
    def only(cls, **rates: float) -> ChaosRates:
        """All behaviours off but the named ones, e.g. `ChaosRates.only(drop=1.0)`."""
        values = {name: 0.0 for name in CHAOS_BEHAVIOURS}
        for name, rate in rates.items():
            if name not in values:
                raise ValueError(f"unknown chaos behaviour {name!r}")
            values[name] = rate
        return cls(**values)


CHAOS_BEHAVIOURS: Final[tuple[str, ...]] = (
    "drop",
    "spike",
    "reorder",
    "duplicate",
    "rapid_tools",
    "empty_ping",
    "oversized",
    "error",
    "malformed",
)


def bulk_chunks(rng: random.Random, min_bytes: int = OVERSIZED_BYTES) -> list[JsonValue]:
    """Retrieved document chunks totalling at least `min_bytes` of JSON (the oversized snapshot)."""
    chunks: list[JsonValue] = []
    size = 0
    i = 0
    while size < min_bytes:
        name, topic, specific = SECTIONS[i % len(SECTIONS)]
        chunk: JsonObject = {
            "chunk_id": f"chk_{hex_id(rng)}",
            "source": f"internal-docs/{name.lower().replace(' ', '-')}/page-{rng.randint(1, 240)}",
            "section": f"{rng.randint(1, 12)}.{rng.randint(1, 9)}",
            "score": round(rng.uniform(0.4, 0.99), 4),
            "text": " ".join(specific) + f" This passage also discusses {topic}.",
            "metadata": {
                "author": rng.choice(("platform-team", "data-eng", "sre", "product")),
                "updated": f"2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}",
                "tokens": rng.randint(80, 400),
                "lang": "en",
            },
            "embedding_preview": [round(rng.uniform(-1, 1), 5) for _ in range(12)],
        }
        chunks.append(chunk)
        size += len(jsonvalue.dumps(chunk)) + 1
        i += 1
    return chunks


def inject_chaos(script: Script, rng: random.Random, rates: ChaosRates) -> Script:
    steps = list(script.steps)
    behaviours: list[str] = []

    # Rapid tool calls: a companion call goes out right after the scripted one, before either result.
    for i, step in enumerate(steps):
        if isinstance(step, ToolCalls) and rng.random() < rates.rapid_tools:
            first = step.calls[0]
            companion = Tool(
                call_id=f"tc_{hex_id(rng)}",
                tool_name="fetch_related_context",
                args={"related_to": first.tool_name, "limit": 5},
                result={
                    "related": [f"doc_{hex_id(rng)}" for _ in range(3)],
                    "count": 3,
                    "source": "context_graph",
                },
                latency=round(rng.uniform(*TOOL_LATENCY), 3),
            )
            steps[i] = ToolCalls(
                (*step.calls, companion),
                gap=round(rng.uniform(0.005, 0.03), 3),
                pause_after=step.pause_after,
                delay=step.delay,
            )
            behaviours.append("rapid_tools")

    # Oversized context: the response's context grows a 500 KB+ list of retrieved chunks.
    if rng.random() < rates.oversized:
        snapshots = [i for i, s in enumerate(steps) if isinstance(s, Snapshot)]
        if not snapshots:
            steps.insert(0, Snapshot("ctx_retrieval", {"purpose": "grounding"}, 0.0))
            snapshots = [0]
        first_snap = steps[snapshots[0]]
        assert isinstance(first_snap, Snapshot)
        bulk = bulk_chunks(rng)
        for i in snapshots:
            snap = steps[i]
            assert isinstance(snap, Snapshot)
            if snap.context_id == first_snap.context_id:
                steps[i] = Snapshot(snap.context_id, {**snap.data, "retrieved_chunks": bulk}, snap.delay)
        behaviours.append("oversized")

    if rng.random() < rates.error:
        at = rng.randint(1, len(steps))
        steps.insert(
            at,
            ErrorFrame(
                code=rng.choice(("RATE_LIMITED", "UPSTREAM_TIMEOUT", "CONTEXT_STALE")),
                message=rng.choice(
                    (
                        "Upstream model rate limit reached; continuing with reduced throughput.",
                        "A context source timed out; the response may omit some sources.",
                        "Context snapshot is older than the freshness target.",
                    )
                ),
                delay=round(rng.uniform(*TOKEN_DELAY), 3),
            ),
        )
        behaviours.append("error")

    if rng.random() < rates.malformed:
        at = rng.randint(1, len(steps))
        text = rng.choice(
            (
                '{"type": "TOKEN", "seq": ',
                '{"type":"TOKEN","text":"half a fra',
                "\x00\x01not json at all",
                jsonvalue.dumps({"type": "AGENT_DEBUG", "payload": {"note": "unknown frame type"}}),
                jsonvalue.dumps({"type": "HEARTBEAT_V2", "interval_ms": 5000}),
            )
        )
        steps.insert(at, Malformed(text, round(rng.uniform(*TOKEN_DELAY), 3)))
        behaviours.append("malformed")

    return Script(script.kind, script.stream_id, tuple(steps), tuple(behaviours))


# -- chaos decided per frame at delivery ---------------------------------------------------------------------------


@frozen
class Delivery:
    """How one frame is delivered the first time it is sent (replays are always clean)."""

    spike: float = 0.0  # pause (unscaled seconds) before sending it and what follows
    hold: int = 0  # send it after the next 1-2 frames instead (out of order)
    duplicate: bool = False  # send the same text twice
    drop_after: bool = False  # abort the connection right after sending it (no close frame)
    behaviours: tuple[str, ...] = field(default=())


CLEAN: Final = Delivery()


def plan_delivery(
    rng: random.Random,
    rates: ChaosRates,
    frame_type: str,
    *,
    may_drop: bool = True,
    may_spike: bool = True,
    may_hold: bool = True,
) -> Delivery:
    """The delivery chaos of one sequenced frame. Always draws the same number of randoms, so one
    frame's decision never shifts the next one's."""
    r_spike, r_hold, r_dup, r_drop, r_len, r_n = (rng.random() for _ in range(6))
    is_token = frame_type == "TOKEN"
    spike = 0.0
    if is_token and may_spike and r_spike < rates.spike:
        spike = round(SPIKE[0] + (SPIKE[1] - SPIKE[0]) * r_len, 3)
    drop = is_token and may_drop and r_drop < rates.drop
    hold = 0 if drop or not may_hold or r_hold >= rates.reorder else (1 if r_n < 0.5 else 2)
    duplicate = r_dup < rates.duplicate
    names = tuple(
        name
        for name, on in (
            ("spike", spike > 0),
            ("reorder", hold > 0),
            ("duplicate", duplicate),
            ("drop", drop),
        )
        if on
    )
    if not names:
        return CLEAN
    return Delivery(spike, hold, duplicate, drop, names)


def challenge(rng: random.Random, rates: ChaosRates | None) -> str:
    """A PING challenge: 8 hex digits, or (chaos "corrupt heartbeat") the empty string."""
    value = hex_id(rng)
    if rates is not None and rng.random() < rates.empty_ping:
        return ""
    return value
