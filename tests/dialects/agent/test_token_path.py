"""A read's tokens take a short path through the engine (no frame or event built, the row and the text in
one step): what a user sees of them must be what the general path gives, change by change."""

from __future__ import annotations

import json
import random
from pathlib import Path

from console.dialects.agent.engine import AgentEngine
from console.session import Change, TextAppended, TraceAdded

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "agent_server_normal_session.jsonl"


def seen(change: Change) -> object:
    """A change as a view sees it (messages by their id: two engines hold equal, not identical, ones)."""
    if isinstance(change, TraceAdded):
        return change.entry
    if isinstance(change, TextAppended):
        return ("text", change.message.id, change.block_index, change.text)
    return type(change).__name__


def replay(chaos: bool, as_bytes: bool) -> tuple[AgentEngine, list[object], list[str]]:
    """The recorded session, each read of one to four frames handed over together; with `chaos`,
    5% of frames duplicated and 5% swapped with the next (as the simulator's chaos mode does).
    Frames as bytes take the general path; as text, tokens take the short one."""
    engine = AgentEngine()
    changes: list[object] = []
    engine.conversation.subscribe(lambda change: changes.append(seen(change)))
    engine.connected(0.0)
    out: list[str] = []
    rng = random.Random(7)
    reads: list[tuple[float, list[str]]] = []
    for line in FIXTURE.read_text().splitlines():
        record = json.loads(line)
        now = record["t"] / 1000
        if record["dir"] == "out":
            if record["frame"]["type"] == "USER_MESSAGE":
                reads.append((now, ["prompt:" + record["frame"]["content"]]))
            continue
        text = json.dumps(record["frame"])
        if reads and not reads[-1][1][0].startswith("prompt:") and len(reads[-1][1]) < rng.randint(1, 4):
            reads[-1][1].append(text)
        else:
            reads.append((now, [text]))
        if chaos and rng.random() < 0.05:
            reads[-1][1].append(text)
    for now, frames in reads:
        if frames[0].startswith("prompt:"):
            engine.send_user_message(frames[0].removeprefix("prompt:"), now)
        else:
            if chaos and len(frames) > 1 and rng.random() < 0.3:
                frames[0], frames[1] = frames[1], frames[0]
            engine.receive_many([f.encode() if as_bytes else f for f in frames], now)
        out += engine.data_to_send()
    return engine, changes, out


def test_tokens_read_together_show_what_the_general_path_shows() -> None:
    for chaos in (False, True):
        short, short_changes, short_out = replay(chaos, as_bytes=False)
        general, general_changes, general_out = replay(chaos, as_bytes=True)
        assert short_out == general_out  # the same PONGs, ACKs and prompts
        assert short_changes == general_changes  # every row and every piece of text, in order
        assert [m.text for m in short.conversation.messages] == [
            m.text for m in general.conversation.messages
        ]
        assert short.conversation.counts == general.conversation.counts
        assert short.sequencer.stats == general.sequencer.stats
        assert any(m.role == "assistant" and len(m.text) > 1000 for m in short.conversation.messages)
        if chaos:
            assert short.sequencer.stats.duplicates > 0 and short.sequencer.stats.out_of_order > 0
