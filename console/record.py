"""`python main.py record DIALECT=URL --prompt ...`: a headless session written out as a transcript
(`console.transcript`, docs/transcript.md) with the recording's stats.

What was received is never thrown away: when the recording fails (the upstream cannot be reached, a
reply does not end in time, the session itself stops) the transcript of everything that arrived, each
reply with its status, comes with the error, and the command writes it before it exits non-zero.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from console.clients import SessionClient
from console.conversation_transcript import transcript_of
from console.jsonvalue import JsonValue
from console.plain import with_detail
from console.transcript import Transcript


@dataclass(frozen=True, slots=True)
class RecordResult:
    transcript: Transcript
    stats: dict[str, JsonValue]  # seconds, interrupted replies, trace rows by kind, the error if any
    interrupted: int

    def json(self) -> dict[str, JsonValue]:
        """What `record` writes: the transcript's JSON with its "stats" beside the messages."""
        return {**self.transcript.to_json(), "stats": self.stats}


class RecordError(RuntimeError):
    """Why a recording failed, in one line; `result` holds what was received until then."""

    def __init__(self, reason: str, result: RecordResult | None = None) -> None:
        super().__init__(reason)
        self.result = result


class _Failed(Exception):
    pass


# Failed connection attempts after which the address is taken as unreachable: with the transports'
# backoff (a random first delay of 0.1 to 1.1 s, then 0.5, 1 s) that is 2 to 3 s, well before any
# --timeout a reply would need.
GIVE_UP_ATTEMPTS = 4


class Unreachable(Exception):
    """Every connection attempt so far failed, and enough of them did."""


async def _wait(client: SessionClient, task: asyncio.Task[None], condition: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if task.done():
            # The session's task ended under us: waiting out the deadline would only lose time.
            error = None if task.cancelled() else task.exception()
            if error is None and condition == "connected":
                raise Unreachable  # the reconnect loop gave up: a failure trying again cannot mend
            why = repr(error) if error else client.conversation.link.detail
            raise _Failed(f"the session stopped: {why}" if why else "the session stopped")
        if condition == "connected" and client.connected_once:
            return
        if condition == "connected" and client.conversation.link.attempt >= GIVE_UP_ATTEMPTS:
            raise Unreachable
        if condition == "idle" and client.idle:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


async def _converse(
    client: SessionClient, task: asyncio.Task[None], prompts: list[str], within: float
) -> None:
    started = time.monotonic()
    deadline = started + within
    try:
        await _wait(client, task, "connected", deadline)
    except (TimeoutError, Unreachable):
        link = client.conversation.link
        why = with_detail(link.detail) if link.detail else "no answer"
        tries = f"{link.attempt} connection attempt{'' if link.attempt == 1 else 's'} failed"
        spent = time.monotonic() - started
        raise _Failed(f"cannot reach {client.url}: {tries} in {spent:.1f} s: {why}") from None
    if prompts and not client.capabilities.prompts:
        raise _Failed(f"{client.url} is a read-only stream: it takes no --prompt")
    if not prompts:
        # Nothing to ask: record what the upstream sends until it is complete.
        try:
            await _wait(client, task, "idle", deadline)
        except TimeoutError:
            raise _Failed(f"timed out after {within:g} s before the stream was complete") from None
    for prompt in prompts:
        client.send_user_message(prompt)
        try:
            await _wait(client, task, "idle", deadline)
        except TimeoutError:
            raise _Failed(f"timed out after {within:g} s waiting for the reply to '{prompt}'") from None


async def record(client: SessionClient, prompts: list[str], within: float) -> RecordResult:
    """Connect, send the prompts one after another, and return the transcript; on failure raise
    `RecordError` carrying the transcript of what arrived."""
    started = time.monotonic()
    task = client.start()
    failure: str | None = None
    try:
        await _converse(client, task, prompts, within)
    except _Failed as exc:
        failure = str(exc)
    finally:
        await client.close()
    result = _result(client, time.monotonic() - started, failure)
    if failure is not None:
        raise RecordError(failure, result)
    return result


def _result(client: SessionClient, seconds: float, failure: str | None) -> RecordResult:
    conversation = client.conversation
    transcript = transcript_of(conversation)
    # A reply that failed (an HTTP error, RUN_ERROR) did not complete either.
    interrupted = sum(1 for m in conversation.messages if m.status in ("interrupted", "error"))
    kinds: dict[str, int] = {}
    for entry in conversation.trace:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    stats: dict[str, JsonValue] = {
        "seconds": round(seconds, 3),
        "interrupted": interrupted,
        "trace": dict(sorted(kinds.items())),
    }
    if failure is not None:
        stats["error"] = failure
    return RecordResult(transcript, stats, interrupted)
