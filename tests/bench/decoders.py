"""Frames per second through the chat and SSE engines (decode -> order -> reduce) on one core.

    python tests/bench/decoders.py [--replies 400]

Chat: replies of two ideas and a message, each entry in 4-character chunks, then a done tag, all in one
conversation (a prompt before each reply). SSE: messages of 4-character text chunks, 5% of them
swapped with their neighbour and 5% duplicated (as the simulator's chaos does), and a component of
four fields per message. Each figure is the best of seven runs, in CPU time of this process (the
machine's other work does not count).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from console.dialects.chat.engine import ChatEngine
from console.dialects.sse.engine import SSEEngine
from console.dialects.sse.event_stream import ServerSentEvent

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "and",
    "keeps",
    "running",
    "until",
    "the",
    "day",
    "is",
    "done",
]


def chunks(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def chat_frames(replies: int) -> list[list[str]]:
    """Per reply, its server frames for chat id `c1`."""
    rng = random.Random(1)
    out: list[list[str]] = []
    for _ in range(replies):
        frames: list[str] = []
        for tag, words in (("idea", 12), ("idea", 12), ("message", 60)):
            parts = chunks(sentence(rng, words))
            for i, part in enumerate(parts):
                frame: dict[str, object] = {"tag": tag, "chunk": part, "chatId": "c1"}
                if i == len(parts) - 1:
                    frame["done"] = True
                frames.append(json.dumps(frame))
        frames.append(json.dumps({"chatId": "c1", "tag": "done"}))
        out.append(frames)
    return out


def run_chat(replies: list[list[str]]) -> int:
    engine = ChatEngine(new_id=lambda: "c1")
    engine.connected(0.0)
    now = 0.0
    count = 0
    for frames in replies:
        engine.send_user_message("go on", now)
        engine.data_to_send()
        for frame in frames:
            now += 0.001
            engine.receive(frame, now)
        count += len(frames)
    return count


def sse_events(messages: int) -> list[ServerSentEvent]:
    rng = random.Random(2)
    events: list[ServerSentEvent] = []

    def add(name: str, **fields: object) -> None:
        events.append(ServerSentEvent(name, json.dumps({"event": name, **fields})))

    for m in range(messages):
        mid = f"m{m}"
        add("message_start", messageId=mid, role="agent")
        texts = [(i, part) for i, part in enumerate(chunks(sentence(rng, 60)))]
        for i in range(len(texts) - 1):
            if rng.random() < 0.05:
                texts[i], texts[i + 1] = texts[i + 1], texts[i]
        for index, part in texts:
            add("text_chunk", messageId=mid, chunk=part, index=index)
            if rng.random() < 0.05:
                add("text_chunk", messageId=mid, chunk=part, index=index)
        add("component_start", messageId=mid, componentType="contact_badge")
        for name in ("name", "email", "company", "profilePicture"):
            add("component_field", messageId=mid, field=name, value=f"{name} {m}")
        add("component_end", messageId=mid)
        add("message_end", messageId=mid)
    return events


def run_sse(events: list[ServerSentEvent]) -> int:
    engine = SSEEngine()
    engine.connected(0.0)
    for i, event in enumerate(events):
        engine.receive(event, i * 0.001)
    return len(events)


def measure(name: str, work: Callable[[], int]) -> None:
    rates: list[float] = []
    count = 0
    for _ in range(7):
        start = time.process_time()
        count = work()
        rates.append(count / (time.process_time() - start))
    rate = max(rates)
    print(f"{name:<6} {count:>7} frames   {rate:>10,.0f} frames/s   {1e6 / rate:6.1f} µs/frame")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replies", type=int, default=400, help="chat replies and SSE messages")
    args = parser.parse_args()
    replies = chat_frames(args.replies)
    events = sse_events(args.replies)
    measure("chat", lambda: run_chat(replies))
    measure("sse", lambda: run_sse(events))


if __name__ == "__main__":
    main()
