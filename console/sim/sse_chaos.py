"""The simulated SSE server's chaos: the conversation's events disturbed (adjacent chunks swapped,
chunks duplicated, a malformed JSON line, an event of an unknown type, nothing lost), the seeded point
where a connection is cut, and an event block's bytes as a hostile server writes them."""

from __future__ import annotations

import random

from console import jsonvalue
from console.dialects.sse import frames
from console.dialects.sse.frames import ConversationEvent


def _is_chunk_pair(events: list[ConversationEvent], i: int) -> bool:
    a, b = events[i], events[i + 1]
    return a.name == b.name == "text_chunk" and _message_of(a) == _message_of(b)


def _message_of(event: ConversationEvent) -> str:
    value = jsonvalue.loads(event.data)
    mid = value.get("messageId") if isinstance(value, dict) else None
    return mid if isinstance(mid, str) else ""


def chaos_events(events: list[ConversationEvent], rng: random.Random) -> list[ConversationEvent]:
    """The same conversation, disturbed: 3 adjacent chunk swaps, 3 duplicated chunks, one malformed JSON
    line, one event of an unknown type. Nothing is lost, so a robust client still shows it all."""
    out = list(events)
    pairs = [i for i in range(len(out) - 1) if _is_chunk_pair(out, i)]
    swapped: set[int] = set()
    for i in rng.sample(pairs, min(3, len(pairs))):
        if i - 1 in swapped or i + 1 in swapped or i in swapped:
            continue
        swapped.add(i)
        out[i], out[i + 1] = out[i + 1], out[i]
    chunk_positions = [i for i, e in enumerate(out) if e.name == "text_chunk"]
    for i in sorted(rng.sample(chunk_positions, min(3, len(chunk_positions))), reverse=True):
        out.insert(i + 1, out[i])
    victim = _message_of(out[rng.randrange(len(out))])
    out.insert(
        rng.randrange(1, len(out)),
        ConversationEvent("text_chunk", '{"event":"text_chunk","messageId":"' + victim + '","chunk":"oo'),
    )
    out.insert(rng.randrange(1, len(out)), frames.event("typing_indicator", messageId=victim, active=True))
    return out


def drop_position(drop_at: int | None, seed: int, length: int) -> int:
    """Where the chaos cut falls: a seeded position in the middle of the stream."""
    if drop_at is not None:
        return drop_at
    return random.Random(seed + 1).randint(length * 2 // 5, length * 4 // 5)


def stressed(block: str, rng: random.Random) -> list[bytes]:
    """One event block as a hostile server sends it: CRLF line ends, a comment line now and then, and
    its bytes cut at random points, including inside multi-byte UTF-8 characters."""
    text = block.replace("\n", "\r\n")
    if rng.random() < 0.3:
        text = ": keep-alive\r\n" + text
    data = text.encode()
    cuts = sorted(rng.sample(range(1, len(data)), min(3, len(data) - 1))) if len(data) > 1 else []
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
