"""The steps of a simulated response (tokens, snapshots, tool calls, chaos frames), the `Script` that holds
them, and the `Builder` the response kinds write them with. Delays are unscaled seconds."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Final, TypeAlias

from console import jsonvalue
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.sim.agent_kinds import Kind

TOKEN_DELAY: Final = (0.030, 0.080)
TOOL_LATENCY: Final = (1.0, 2.0)
PAUSE_AFTER_RESULT: Final = 0.2
SPIKE: Final = (2.0, 8.0)
OVERSIZED_BYTES: Final = 520_000  # a "500 KB+" snapshot, with margin
LONG_MIN_WORDS: Final = 2050


@frozen
class Token:
    text: str
    delay: float  # before this token


@frozen
class Snapshot:
    context_id: str
    data: JsonObject
    delay: float


@frozen
class Tool:
    call_id: str
    tool_name: str
    args: JsonObject
    result: JsonObject
    latency: float  # after the ACK (or the ACK deadline), before the result


@frozen
class ToolCalls:
    """One tool call, or (chaos "rapid tool calls") several sent back to back before any result."""

    calls: tuple[Tool, ...]
    gap: float  # between consecutive TOOL_CALLs, and between consecutive TOOL_RESULTs
    pause_after: float  # after the last result, before the text resumes
    delay: float  # before the first TOOL_CALL


@frozen
class ErrorFrame:
    code: str
    message: str
    delay: float


@frozen
class Malformed:
    """A frame that is not a protocol frame (invalid JSON, or an unknown type): it takes no seq."""

    text: str
    delay: float


Step: TypeAlias = Token | Snapshot | ToolCalls | ErrorFrame | Malformed


@dataclass(frozen=True, slots=True)
class Script:
    kind: Kind
    stream_id: str
    steps: tuple[Step, ...]
    chaos: tuple[str, ...] = ()  # generation-time chaos behaviours it carries (rapid_tools, ...)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.steps if isinstance(s, Token))

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def tools(self) -> list[Tool]:
        return [call for s in self.steps if isinstance(s, ToolCalls) for call in s.calls]

    def snapshots(self) -> list[Snapshot]:
        return [s for s in self.steps if isinstance(s, Snapshot)]

    def blocks(self) -> list[JsonValue]:
        """The finished message's blocks, as the console transcript has them."""
        blocks: list[JsonValue] = []
        text: list[str] = []
        for step in self.steps:
            if isinstance(step, Token):
                text.append(step.text)
            elif isinstance(step, ToolCalls):
                if text:
                    blocks.append({"kind": "text", "text": "".join(text)})
                    text = []
                blocks.extend(tool_block(call, done=True) for call in step.calls)
        if text:
            blocks.append({"kind": "text", "text": "".join(text)})
        return blocks


def tool_block(call: Tool, *, done: bool) -> JsonObject:
    return {
        "kind": "tool",
        "call_id": call.call_id,
        "tool_name": call.tool_name,
        "args": call.args,
        "result": call.result if done else None,
        "status": "done" if done else "waiting",
    }


def hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(32):08x}"


_WORD = re.compile(r"\S+\s*")


def chunk_words(text: str, rng: random.Random) -> list[str]:
    """Split text into tokens of 1-3 words, each keeping its trailing whitespace (joins back exactly)."""
    words = _WORD.findall(text)
    if not words:
        return [text] if text else []
    lead = text[: len(text) - len(text.lstrip())]
    words[0] = lead + words[0]
    chunks: list[str] = []
    append, bits = chunks.append, rng.getrandbits
    i, count = 0, len(words)
    while i < count:
        # `rng.choice(CHUNK_WORDS)` spelled out, the same draws: it runs per token of every script.
        r = bits(3)
        while r >= 6:
            r = bits(3)
        n = CHUNK_WORDS[r]
        append("".join(words[i : i + n]) if n > 1 else words[i])
        i += n
    return chunks


CHUNK_WORDS: Final = (1, 2, 2, 2, 3, 3)  # words per token, drawn uniformly


class Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.steps: list[Step] = []

    def _gap(self) -> float:
        # The first frame of a response goes out at once, like the real server's. `uniform` spelled
        # out (the same draw, the same value): this runs once per token of every script.
        low, high = TOKEN_DELAY
        return round(low + (high - low) * self.rng.random(), 3) if self.steps else 0.0

    def say(self, text: str) -> None:
        # `_gap` inlined, the same draws and values: this runs once per token of every script.
        steps, draw = self.steps, self.rng.random
        low, high = TOKEN_DELAY
        span = high - low
        for chunk in chunk_words(text, self.rng):
            steps.append(Token(chunk, round(low + span * draw(), 3) if steps else 0.0))

    def snapshot(self, context_id: str, data: JsonObject) -> None:
        self.steps.append(Snapshot(context_id, data, self._gap()))

    def tool(self, tool_name: str, args: JsonObject, result: JsonObject) -> Tool:
        call = Tool(
            call_id=f"tc_{hex_id(self.rng)}",
            tool_name=tool_name,
            args=args,
            result=result,
            latency=round(self.rng.uniform(*TOOL_LATENCY), 3),
        )
        self.steps.append(ToolCalls((call,), gap=0.0, pause_after=PAUSE_AFTER_RESULT, delay=self._gap()))
        return call

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p


def copy_json(data: JsonObject) -> JsonObject:
    copied = jsonvalue.loads(jsonvalue.dumps(data))
    assert isinstance(copied, dict)
    return copied


def evolve(
    data: JsonObject,
    *,
    set_: JsonObject | None = None,
    remove: tuple[str, ...] = (),
    insert: tuple[tuple[str, int, JsonValue], ...] = (),
) -> JsonObject:
    """A changed copy of `data`: top-level keys set (added or changed), removed, list items inserted."""
    new = copy_json(data)
    for key, value in (set_ or {}).items():
        new[key] = value
    for key in remove:
        new.pop(key, None)
    for key, index, item in insert:
        target = new.get(key)
        if isinstance(target, list):
            target.insert(min(index, len(target)), item)
    return new


def pct(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi), 1)
