"""The transcript schema: its JSON both ways, a console conversation as a transcript, and the helper
tests compare transcripts with."""

from __future__ import annotations

from dataclasses import replace

import pytest

from console import events as ev
from console.conversation_transcript import transcript_of
from console.jsonvalue import JsonValue
from console.session import Conversation
from console.transcript import Component, Message, Text, ToolCall, Transcript, TranscriptError
from tests.helpers import assert_same_transcript
from tests.sim.test_import_boundary import CONSOLE, GENERIC_HELPERS, imported_modules

REPLY = Message(
    role="assistant",
    status="done",
    blocks=(
        Text("Let me look. "),
        ToolCall("c1", "search", {"q": "churn"}, {"hits": 3}),
        Text("Found 3."),
        Component("calendar_event", {"title": "Review"}),
    ),
    id="m2",
    stream_id="s1",
    prompt="find churn",
)
PROMPT = Message(role="user", status="sent", blocks=(Text("find churn"),), id="m1")
TRANSCRIPT = Transcript((PROMPT, REPLY), {"ctx": ({"v": 1}, {"v": 2})})


def test_the_json_is_the_documented_contract_and_reads_back_the_same() -> None:
    value = TRANSCRIPT.to_json()
    assert value == {
        "messages": [
            {
                "role": "user",
                "id": "m1",
                "stream_id": None,
                "text": "find churn",
                "status": "sent",
                "blocks": [{"kind": "text", "text": "find churn"}],
            },
            {
                "role": "assistant",
                "id": "m2",
                "stream_id": "s1",
                "text": "Let me look. Found 3.",
                "status": "done",
                "blocks": [
                    {"kind": "text", "text": "Let me look. "},
                    {
                        "kind": "tool",
                        "call_id": "c1",
                        "tool_name": "search",
                        "args": {"q": "churn"},
                        "result": {"hits": 3},
                        "status": "done",
                    },
                    {"kind": "text", "text": "Found 3."},
                    {"kind": "component", "type": "calendar_event", "fields": {"title": "Review"}},
                ],
                "prompt": "find churn",
            },
        ],
        "contexts": {"ctx": [{"v": 1}, {"v": 2}]},
    }
    assert Transcript.from_json({**value, "stats": {"seconds": 1.0}}) == TRANSCRIPT
    assert TRANSCRIPT.replies == (REPLY,) and TRANSCRIPT.prompts == (PROMPT,)
    assert REPLY.tool_calls[0].status == "done" and ToolCall("c2", "t", {}).status == "waiting"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "transcript: expected an object, got list"),
        ({"messages": {}}, "messages: expected a list, got dict"),
        (
            {"messages": [{"role": "robot", "status": "done"}]},
            "messages[0].role: expected one of user, assistant",
        ),
        (
            {"messages": [{"role": "user", "status": "lost"}]},
            "messages[0].status: expected one of queued, sent",
        ),
        (
            {"messages": [{"role": "user", "status": "sent", "blocks": [{"kind": "image"}]}]},
            "messages[0].blocks[0].kind: expected text, tool or component, got 'image'",
        ),
        (
            {"messages": [{"role": "user", "status": "sent", "blocks": [{"kind": "tool", "call_id": 1}]}]},
            "messages[0].blocks[0].call_id: expected a string, got int",
        ),
        ({"messages": [], "contexts": {"c": 3}}, "contexts['c']: expected a list, got int"),
    ],
)
def test_json_that_is_no_transcript_is_refused_saying_where(value: JsonValue, reason: str) -> None:
    with pytest.raises(TranscriptError) as refused:
        Transcript.from_json(value)
    assert str(refused.value).startswith(reason)


def test_a_conversation_becomes_its_transcript_with_each_reply_under_its_prompt() -> None:
    conversation = Conversation()
    prompt = conversation.add_user_message("find churn", at=1.0)
    conversation.apply(ev.TextDelta("s1", "Let me look. "), at=1.1)
    conversation.apply(ev.ToolCall("s1", "c1", "search", {"q": "churn"}), at=1.2)
    conversation.apply(ev.ToolResult("s1", "c1", {"hits": 3}), at=1.3)
    conversation.apply(ev.TextDelta("s1", "Found "), at=1.4)
    conversation.apply(ev.TextDelta("s1", "3."), at=1.5)
    conversation.apply(ev.ComponentStart("s1", "k1", "calendar_event"), at=1.6)
    conversation.apply(ev.ComponentField("s1", "k1", "title", "Review"), at=1.7)
    conversation.apply(ev.ComponentEnd("s1", "k1"), at=1.8)
    conversation.apply(ev.StreamEnd("s1"), at=1.9)
    conversation.apply(ev.ContextSnapshot("ctx", {"v": 1}, 8), at=2.0)
    conversation.apply(ev.ContextSnapshot("ctx", {"v": 2}, 8), at=2.1)
    transcript = transcript_of(conversation)
    assert transcript == Transcript(
        (PROMPT, replace(REPLY, id=transcript.messages[1].id)), TRANSCRIPT.contexts
    )
    assert transcript.messages[0].id == prompt.id
    assert conversation.transcript() == transcript.to_json()  # the session API serves the same JSON


def test_an_interrupted_reply_keeps_what_arrived_and_says_why() -> None:
    conversation = Conversation()
    conversation.add_user_message("go", at=1.0)
    conversation.apply(ev.TextDelta("s1", "half a "), at=1.1)
    conversation.interrupt_stream("s1", "the stream stalled")
    reply = transcript_of(conversation).replies[0]
    assert (reply.text, reply.status, reply.note, reply.prompt) == (
        "half a ",
        "interrupted",
        "the stream stalled",
        "go",
    )
    assert Transcript.from_json(transcript_of(conversation).to_json()).replies[0] == reply


def test_the_helper_ignores_console_ids_and_names_each_difference() -> None:
    truth = Transcript.from_json(TRANSCRIPT.to_json())
    console = Transcript((replace(PROMPT, id="m7"), REPLY), TRANSCRIPT.contexts)
    assert_same_transcript(console, truth)
    assert_same_transcript(console.to_json(), truth.to_json())  # JSON (a GET /truth) on either side
    lost = replace(REPLY, status="interrupted", blocks=REPLY.blocks[:1])
    with pytest.raises(AssertionError) as mismatch:
        assert_same_transcript(Transcript((PROMPT, lost), TRANSCRIPT.contexts), truth)
    diff = str(mismatch.value)
    assert '-      "status": "done",' in diff and '+      "status": "interrupted",' in diff
    assert '-      "text": "Let me look. Found 3."' in diff and '+      "text": "Let me look. "' in diff
    assert_same_transcript(
        Transcript((PROMPT, replace(REPLY, stream_id="other")), TRANSCRIPT.contexts),
        truth,
        ignore=("stream_id",),
    )
    with pytest.raises(AssertionError, match="contexts"):
        assert_same_transcript(Transcript((PROMPT, REPLY)), truth)


def test_the_schema_depends_only_on_generic_helpers_so_simulators_may_use_it() -> None:
    console = {m for m in imported_modules(CONSOLE / "transcript.py") if m.startswith("console")}
    assert console and all(
        any(m.startswith(h) for h in GENERIC_HELPERS - {"console.transcript"}) for m in console
    )
