"""The AG-UI engine and decoder, sans-I/O: plain SSE data strings in, the conversation out."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from console.connection import ConnectionState
from console.dialects.agui.engine import AguiEngine
from console.jsonvalue import JsonObject, JsonValue
from console.session import ComponentBlock, Message, TextBlock, ToolBlock


def engine() -> AguiEngine:
    counter = iter(range(1, 1_000_000))
    made = AguiEngine(thread_id="t1", ids=lambda: f"r{next(counter)}")
    made.connected(0.0)
    return made


def e(kind: str, **fields: JsonValue) -> str:
    return json.dumps({"type": kind, **fields})


def run(agent: AguiEngine, *frames: str, prompt: str = "hi", end: str = "the stream ended") -> Message:
    """One prompt, its run's frames, the end of its stream; the reply."""
    agent.send_user_message(prompt, 1.0)
    request = agent.next_request(1.0)
    assert request is not None
    for frame in frames:
        agent.receive(frame, None, 1.0)
    agent.ended(2.0, end)
    reply = agent.conversation.messages[-1]
    assert reply.role == "assistant"
    return reply


STARTED = e("RUN_STARTED", threadId="t1", runId="r1")
FINISHED = e("RUN_FINISHED", threadId="t1", runId="r1")


def kinds(agent: AguiEngine) -> list[str]:
    return [row.kind for row in agent.conversation.trace]


def test_text_messages_and_chunks_make_one_reply_and_an_empty_message_no_block() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("TEXT_MESSAGE_START", messageId="a", role="assistant"),
        e("TEXT_MESSAGE_END", messageId="a"),
        e("TEXT_MESSAGE_START", messageId="b", role="assistant"),
        e("TEXT_MESSAGE_CONTENT", messageId="b", delta="Hello"),
        e("TEXT_MESSAGE_END", messageId="b"),
        e("TEXT_MESSAGE_CHUNK", messageId="c", delta=", "),
        e("TEXT_MESSAGE_CHUNK", delta="world"),
        FINISHED,
    )
    assert (reply.status, reply.text) == ("done", "Hello, world")
    assert [type(b) for b in reply.blocks] == [TextBlock]
    assert agent.idle and agent.state is ConnectionState.OPEN


def test_tool_call_chunks_open_stream_and_close_a_call_at_the_next_other_event() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("TOOL_CALL_CHUNK", toolCallId="c1", toolCallName="search", delta='{"q": '),
        e("TOOL_CALL_CHUNK", delta='"cats"}'),
        e("TOOL_CALL_RESULT", messageId="m", toolCallId="c1", content='{"hits": 3}'),
        e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Found 3."),
        FINISHED,
    )
    [card, text] = reply.blocks
    assert isinstance(card, ToolBlock) and isinstance(text, TextBlock)
    assert (card.tool_name, card.args, card.result, "".join(card.args_parts)) == (
        "search",
        {"q": "cats"},
        {"hits": 3},
        '{"q": "cats"}',
    )
    # The thread sent back with the next run holds the call and its result.
    messages = agent.history.messages()
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]


def test_arguments_that_are_not_json_are_kept_as_text_with_a_protocol_error() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("TOOL_CALL_START", toolCallId="c1", toolCallName="f"),
        e("TOOL_CALL_ARGS", toolCallId="c1", delta="{oops"),
        e("TOOL_CALL_END", toolCallId="c1"),
        FINISHED,
    )
    [card] = reply.blocks
    assert isinstance(card, ToolBlock) and card.args == {"unparsed": "{oops"}
    assert "PROTOCOL_ERROR" in kinds(agent) and reply.status == "done"


def test_reasoning_is_one_collapsed_component_with_its_whole_text_at_the_end() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("REASONING_START", messageId="r"),
        e("REASONING_MESSAGE_START", messageId="r", role="reasoning"),
        e("REASONING_MESSAGE_CONTENT", messageId="r", delta="Think "),
        e("REASONING_MESSAGE_CONTENT", messageId="r", delta="hard."),
        e("REASONING_MESSAGE_END", messageId="r"),
        e("REASONING_END", messageId="r"),
        e("TEXT_MESSAGE_CHUNK", messageId="x", delta="42"),
        FINISHED,
    )
    [reasoning, text] = reply.blocks
    assert isinstance(text, TextBlock)
    assert isinstance(reasoning, ComponentBlock) and reasoning.type == "reasoning"
    assert (reasoning.fields, reasoning.complete) == ({"text": "Think hard."}, True)
    assert reply.text == "42", "reasoning is not part of the answer's text"


def test_activities_raw_custom_steps_and_unknown_types_are_shown_and_nothing_breaks() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("STEP_STARTED", stepName="plan"),
        e("ACTIVITY_SNAPSHOT", messageId="a1", activityType="progress", content={"done": 1, "of": 3}),
        e(
            "ACTIVITY_DELTA",
            messageId="a1",
            activityType="progress",
            patch=[{"op": "replace", "path": "/done", "value": 3}],
        ),
        e("CUSTOM", name="PredictState", value={"k": 1}),
        e("RAW", event={"provider": "x"}, source="openai"),
        e("SOMETHING_NEW", payload=1),
        "not json at all",
        e("TEXT_MESSAGE_CONTENT"),
        e("STEP_FINISHED", stepName="plan"),
        FINISHED,
    )
    [activity] = reply.blocks
    assert isinstance(activity, ComponentBlock) and activity.type == "progress"
    assert activity.fields == {"done": 3, "of": 3}
    assert reply.status == "done"
    seen = kinds(agent)
    for kind in ("STEP_STARTED", "CUSTOM", "RAW", "UNKNOWN_EVENT", "STEP_FINISHED"):
        assert kind in seen
    assert seen.count("PROTOCOL_ERROR") == 2  # the line that is not JSON, the content without fields
    errors = [row.summary for row in agent.conversation.trace if row.kind == "PROTOCOL_ERROR"]
    assert errors[0].startswith("not JSON") and "messageId" in errors[1]


def test_run_error_ends_the_reply_as_failed_with_the_agents_words() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Part"),
        e("RUN_ERROR", message="boom", code="E1"),
    )
    assert (reply.status, reply.note, reply.text) == ("error", "E1: boom", "Part")
    assert any(n.level == "error" and "boom" in n.text for n in agent.conversation.notices)
    assert agent.idle


def test_a_stream_without_ids_that_ends_early_is_interrupted_and_retry_asks_again_in_the_thread() -> None:
    agent = engine()
    reply = run(agent, STARTED, e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Half"))
    assert (reply.status, reply.text) == ("interrupted", "Half")
    assert reply.note == "the stream ended before RUN_FINISHED"
    agent.retry(reply.id, 3.0)
    request = agent.next_request(3.0)
    assert request is not None
    body = json.loads(request.body)
    assert body["threadId"] == "t1"
    # The history as it stood: both prompts, not the half answer.
    assert [(m["role"], m["content"]) for m in body["messages"]] == [("user", "hi"), ("user", "hi")]


def test_a_stream_with_ids_resumes_with_last_event_id() -> None:
    agent = engine()
    agent.send_user_message("hi", 1.0)
    assert agent.next_request(1.0) is not None
    agent.receive(STARTED, "1", 1.0)
    agent.receive(e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Hel"), "2", 1.0)
    assert agent.ended(2.0, "ReadError") is True
    assert agent.state is ConnectionState.RECONNECTING
    again = agent.resume_request()
    assert again is not None and again.headers["Last-Event-ID"] == "2"
    agent.opened(2.5)
    agent.receive(e("TEXT_MESSAGE_CHUNK", messageId="x", delta="lo"), "3", 2.5)
    agent.receive(FINISHED, "4", 2.5)
    assert agent.ended(3.0, "the stream ended") is False
    reply = agent.conversation.messages[-1]
    assert (reply.status, reply.text) == ("done", "Hello")
    assert agent.conversation.link.state == "open"


def test_an_http_error_and_an_unreachable_agent_end_the_reply_plainly() -> None:
    agent = engine()
    agent.send_user_message("hi", 1.0)
    agent.next_request(1.0)
    agent.http_error(422, "bad input: messages", 1.5)
    reply = agent.conversation.messages[-1]
    assert (reply.status, reply.note) == ("error", "HTTP 422: bad input: messages")
    agent.send_user_message("again", 2.0)
    agent.next_request(2.0)
    agent.disconnected(2.5, "ConnectError: refused", 1.0)
    reply = agent.conversation.messages[-1]
    assert reply.status == "interrupted" and "cannot reach the agent" in reply.note
    assert agent.state is ConnectionState.RECONNECTING and agent.idle


def test_a_failed_patch_is_an_error_row_and_a_notice_and_a_snapshot_repairs() -> None:
    agent = engine()
    reply = run(
        agent,
        STARTED,
        e("STATE_SNAPSHOT", snapshot={"n": 1}),
        e("STATE_DELTA", delta=[{"op": "replace", "path": "/missing/x", "value": 2}]),
        e("STATE_DELTA", delta=[{"op": "replace", "path": "/n", "value": 2}]),
        FINISHED,
    )
    assert reply.status == "done"
    assert kinds(agent).count("STATE_PATCH_FAILED") == 1
    assert [entry.data for entry in agent.conversation.contexts["state"]] == [{"n": 1}, {"n": 2}]
    run(agent, STARTED, e("STATE_SNAPSHOT", snapshot={"n": 9}), FINISHED)
    assert agent.conversation.contexts["state"][-1].data == {"n": 9}
    request_state = agent._state()
    assert request_state == {"n": 9}, "the next run starts from the repaired state"


# -- property: the deltas of any run give the state the agent holds ----------------------------------

KEYS = st.sampled_from(["a", "b", "c", "list"])
VALUES = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.booleans(), st.none())


@st.composite
def agent_runs(draw: st.DrawFn) -> tuple[JsonObject, list[tuple[JsonObject, list[JsonObject]]]]:
    """An initial state and the agent's changes, each as (state after, the patch it sent)."""
    state: JsonObject = {"list": []}
    initial = json.loads(json.dumps(state))
    steps: list[tuple[JsonObject, list[JsonObject]]] = []
    for _ in range(draw(st.integers(1, 25))):
        key = draw(KEYS)
        value = draw(VALUES)
        items = state["list"]
        assert isinstance(items, list)
        choice = draw(st.integers(0, 4))
        patch: list[JsonObject]
        if choice == 0 and key != "list":
            patch = [{"op": "add", "path": f"/{key}", "value": value}]
            state[key] = value
        elif choice == 1 and key in state and key != "list":
            patch = [{"op": "remove", "path": f"/{key}"}]
            del state[key]
        elif choice == 2:
            patch = [{"op": "add", "path": "/list/-", "value": value}]
            items.append(value)
        elif choice == 3 and items:
            index = draw(st.integers(0, len(items) - 1))
            patch = [
                {"op": "remove", "path": f"/list/{index}"},
                {"op": "test", "path": "/list", "value": items[:index] + items[index + 1 :]},
            ]
            del items[index]
        else:
            patch = [{"op": "replace", "path": "/list", "value": [value]}]
            state["list"] = [value]
        steps.append((json.loads(json.dumps(state)), patch))
    return initial, steps


@settings(max_examples=60, deadline=None)
@given(agent_runs())
def test_applying_the_deltas_of_any_run_gives_the_state_the_agent_holds(
    case: tuple[JsonObject, list[tuple[JsonObject, list[JsonObject]]]],
) -> None:
    initial, steps = case
    agent = engine()
    frames = [STARTED, e("STATE_SNAPSHOT", snapshot=initial)]
    frames += [e("STATE_DELTA", delta=list(patch)) for _, patch in steps]
    run(agent, *frames, FINISHED)
    history = [entry.data for entry in agent.conversation.contexts["state"]]
    assert history == [initial, *(state for state, _ in steps)]
    assert "STATE_PATCH_FAILED" not in kinds(agent)


def test_a_server_that_ignores_last_event_id_replays_and_nothing_shows_twice() -> None:
    agent = engine()
    agent.send_user_message("hi", 1.0)
    agent.next_request(1.0)
    agent.receive(STARTED, "1", 1.0)
    agent.receive(e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Hel"), "2", 1.0)
    assert agent.ended(2.0, "ReadError") is True
    agent.opened(2.5)
    for number, frame in enumerate(
        [
            STARTED,
            e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Hel"),
            e("TEXT_MESSAGE_CHUNK", delta="lo"),
            FINISHED,
        ],
        start=1,
    ):
        agent.receive(frame, str(number), 2.5)
    agent.ended(3.0, "the stream ended")
    reply = agent.conversation.messages[-1]
    assert (reply.status, reply.text) == ("done", "Hello")
    assert kinds(agent).count("DUPLICATE") == 2


def test_an_interrupt_that_names_no_tool_call_is_said_plainly() -> None:
    agent = engine()
    outcome: JsonValue = {
        "type": "interrupt",
        "interrupts": [{"id": "i1", "reason": "input", "message": "Which city?"}],
    }
    reply = run(agent, STARTED, e("RUN_FINISHED", threadId="t1", runId="r1", outcome=outcome))
    assert reply.status == "interrupted" and agent.pending_approvals == []
    assert any("Which city?" in n.text for n in agent.conversation.notices)


def test_a_client_that_takes_over_a_conversation_sends_its_thread_on() -> None:
    first = engine()
    run(
        first,
        STARTED,
        e("TEXT_MESSAGE_CHUNK", messageId="a", delta="Looking."),
        e("TOOL_CALL_START", toolCallId="c1", toolCallName="find", parentMessageId="a"),
        e("TOOL_CALL_ARGS", toolCallId="c1", delta='{"q": 1}'),
        e("TOOL_CALL_END", toolCallId="c1"),
        e("TOOL_CALL_RESULT", messageId="t", toolCallId="c1", content='{"n": 2}'),
        e("TEXT_MESSAGE_CHUNK", messageId="b", delta="Two."),
        FINISHED,
    )
    run(first, STARTED, e("TEXT_MESSAGE_CHUNK", messageId="x", delta="Hal"), prompt="cut")  # broke off
    second = engine()  # a restarted session: a new client on the same conversation
    second.conversation.continue_from(first.conversation)
    second.send_user_message("and now?", 5.0)
    request = second.next_request(5.0)
    assert request is not None
    sent = [
        (m["role"], m.get("content"), [c["function"]["arguments"] for c in m.get("toolCalls", [])])
        for m in json.loads(request.body)["messages"]
    ]
    assert sent == [
        ("user", "hi", []),
        ("assistant", "Looking.", ['{"q":1}']),
        ("tool", '{"n":2}', []),
        ("assistant", "Two.", []),
        ("user", "cut", []),
        ("user", "and now?", []),
    ]
