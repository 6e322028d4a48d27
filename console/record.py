"""`python main.py record DIALECT=URL --prompt ...`: a headless session written out as a transcript."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from console.clients import SessionClient
from console.jsonvalue import JsonValue
from console.plain import with_detail


class RecordError(RuntimeError):
    """Why a recording failed, in one line."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    transcript: dict[str, JsonValue]
    interrupted: int


# Failed connection attempts after which the address is taken as unreachable: with the transports'
# backoff (0.5, 1, 2 s) that is about 4 s, well before any --timeout a reply would need.
GIVE_UP_ATTEMPTS = 4


class Unreachable(Exception):
    """Every connection attempt so far failed, and enough of them did."""


async def _wait(client: SessionClient, condition: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if condition == "connected" and client.connected_once:
            return
        if condition == "connected" and client.conversation.link.attempt >= GIVE_UP_ATTEMPTS:
            raise Unreachable
        if condition == "idle" and client.idle:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


async def record(client: SessionClient, prompts: list[str], within: float) -> RecordResult:
    """Connect, send the prompts one after another, and return the transcript."""
    started = time.monotonic()
    client.start()
    try:
        try:
            await _wait(client, "connected", started + within)
        except (TimeoutError, Unreachable):
            link = client.conversation.link
            why = with_detail(link.detail) if link.detail else "no answer"
            tries = f"{link.attempt} connection attempt{'' if link.attempt == 1 else 's'} failed"
            spent = time.monotonic() - started
            raise RecordError(f"cannot reach {client.url}: {tries} in {spent:.1f} s: {why}") from None
        if prompts and client.readonly:
            raise RecordError(f"{client.url} is a read-only stream: it takes no --prompt")
        if not prompts:
            # Nothing to ask: record what the upstream sends until it is complete.
            try:
                await _wait(client, "idle", started + within)
            except TimeoutError:
                raise RecordError(f"timed out after {within:g} s before the stream was complete") from None
        for prompt in prompts:
            client.send_user_message(prompt)
            try:
                await _wait(client, "idle", started + within)
            except TimeoutError:
                raise RecordError(
                    f"timed out after {within:g} s waiting for the reply to '{prompt}'"
                ) from None
    finally:
        await client.close()
    conversation = client.conversation
    transcript = conversation.transcript()
    interrupted = sum(1 for m in conversation.messages if m.status == "interrupted")
    kinds: dict[str, int] = {}
    for entry in conversation.trace:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    stats: dict[str, JsonValue] = {
        "seconds": round(time.monotonic() - started, 3),
        "interrupted": interrupted,
        "trace": dict(sorted(kinds.items())),
    }
    transcript["stats"] = stats
    return RecordResult(transcript, interrupted)
