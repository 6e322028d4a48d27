"""A console killed mid-reply comes back on its journal and finishes the reply as the agent sent it.

The agent simulator runs as a process of its own (it outlives the console); the console runs with
`--store` and is killed with SIGKILL (nothing flushed) or stopped with SIGTERM, then started again on
the same store. After the reply completes, the conversation must equal the simulator's ground truth
character for character: nothing received before the kill lost, nothing applied twice.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from console.jsonvalue import JsonObject
from tests.helpers import assert_same_transcript
from tests.store.processes import (
    Process,
    messages,
    send,
    session,
    start_agent_sim,
    start_console,
    trace_kinds,
    wait_for,
)

PROMPT = "summarize the q3 report"  # a reply with tool calls, long enough to be cut in the middle


def _streaming_reply(console: Process) -> JsonObject | None:
    found = messages(console, "agent")
    last = found[-1] if found else None
    if last and last["role"] == "assistant" and last["status"] == "streaming" and last["text"]:
        return last
    return None


def _reply_done(console: Process, count: int) -> list[JsonObject] | None:
    found = messages(console, "agent")
    if len(found) >= count and found[-1]["status"] == "done":
        return found
    return None


@pytest.mark.parametrize(
    ("backend", "sig"),
    [("sqlite", signal.SIGKILL), ("sqlite", signal.SIGTERM), ("redis", signal.SIGKILL)],
    ids=["sqlite-sigkill", "sqlite-sigterm", "redis-sigkill"],
)
def test_a_reply_cut_by_a_restart_ends_as_the_agent_sent_it(
    tmp_path: Path, backend: str, sig: signal.Signals, request: pytest.FixtureRequest
) -> None:
    sim = start_agent_sim(tmp_path)
    store = str(tmp_path / "journal.sqlite3") if backend == "sqlite" else request.getfixturevalue("redis_url")
    args = ("--upstream", f"agent=ws://127.0.0.1:{sim.url.rsplit(':', 1)[1]}/ws", "--store", store)
    try:
        console = start_console(tmp_path, *args)
        wait_for("the session to connect", lambda: session(console, "agent")["state"] == "open" or None)
        send(console, "agent", PROMPT)
        cut = wait_for("the reply to stream", lambda: _streaming_reply(console))
        console.stop(sig)

        console = start_console(tmp_path, *args)
        restored = messages(console, "agent")
        assert restored[0]["text"] == PROMPT
        # What had arrived is there at once, before the server replays a thing.
        assert isinstance(cut["text"], str) and len(restored) == 2
        wait_for("the reply to complete", lambda: _reply_done(console, 2))
        assert_same_transcript(session(console, "agent")["transcript"], sim.get("/truth"))
        kinds = trace_kinds(console, "agent")
        assert "RESTORED" in kinds
        assert kinds.index("RESTORED") < len(kinds) - 1 - kinds[::-1].index("RESUME")
        console.stop()
    finally:
        sim.stop()


def test_a_second_console_on_the_same_store_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "journal.sqlite3"
    console = start_console(tmp_path, "--store", str(store))
    try:
        with pytest.raises(RuntimeError, match="in use by another console"):
            start_console(tmp_path, "--store", str(store))
    finally:
        console.stop()
