"""Sessions as JSON (`/api/sessions`, `/api/sessions/{id}`): for scripts, tests and health checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import HTTPException
from fastapi.responses import Response
from nicegui import app
from pydantic import BaseModel

from console import jsonvalue, readback
from console.conversation_transcript import messages_of
from console.jsonvalue import JsonValue
from console.session import Conversation
from console.supervisor import Supervisor


class Prompt(BaseModel):
    text: str


TRACE_TAIL: Final = 1000  # trace rows a session's JSON carries (the newest)
PAGE_LIMIT: Final = 200  # rows or messages in a page of history, unless asked otherwise
MAX_PAGE: Final = 5000


History = Callable[[str], Awaitable[Conversation | None]]


def register(owner: Supervisor, history: History | None = None) -> None:
    # async: they run on the event loop, where the sessions change, not in a thread beside it.
    @app.get("/api/sessions")
    async def sessions() -> list[dict[str, str]]:
        return [
            {
                "id": e.id,
                "name": e.name,
                "target": str(e.target),
                "state": e.client.conversation.link.state.value,
            }
            for e in owner.sessions.values()
        ]

    @app.get("/api/sessions/{session_id}")
    async def session(session_id: str) -> Response:
        entry = owner.get(session_id)
        if entry is None:
            raise HTTPException(404, f"no session {session_id}")
        conversation = entry.client.conversation
        trace = conversation.trace
        rows: list[JsonValue] = [[row.kind, row.summary] for row in trace[-TRACE_TAIL:]]
        body: JsonValue = {
            "id": entry.id,
            "state": conversation.link.state.value,
            "transcript": conversation.transcript(),
            "notices": [[n.level, n.text] for n in conversation.notices],
            "trace": rows,
            "trace_rows": len(trace) + trace.dropped,
        }
        return Response(jsonvalue.dumps_bytes(body), media_type="application/json")

    @app.get("/api/sessions/{session_id}/history")
    async def whole(
        session_id: str, kind: str | None = None, before: int | None = None, limit: int = PAGE_LIMIT
    ) -> Response:
        """The whole session from the store, beyond what memory keeps (every context version too); with
        `kind=trace` or `kind=messages`, one page of it: up to `limit` rows or messages before
        `before` (a trace index, a message number; the newest without it), oldest first."""
        if kind is not None:
            entry = owner.get(session_id)
            if entry is None:
                raise HTTPException(404, f"no session {session_id}")
            return await _page(entry.client.conversation, kind, before, max(1, min(limit, MAX_PAGE)))
        conversation = None if history is None else await history(session_id)
        if conversation is None:
            raise HTTPException(404, f"no stored history of session {session_id} (memory only: --no-store)")
        read = conversation  # this request's own: encoded off the loop, it may be megabytes

        def encode() -> bytes:
            return jsonvalue.dumps_bytes({"id": session_id, "transcript": read.transcript()})

        return Response(await asyncio.to_thread(encode), media_type="application/json")

    @app.post("/api/sessions/{session_id}/messages")
    async def send(session_id: str, prompt: Prompt) -> dict[str, str]:
        """Send a prompt as the composer would."""
        entry = owner.get(session_id)
        if entry is None:
            raise HTTPException(404, f"no session {session_id}")
        if not entry.client.capabilities.prompts:
            raise HTTPException(409, f"session {session_id} takes no prompts")
        return {"id": entry.client.send_user_message(prompt.text).id}


async def _page(conversation: Conversation, kind: str, before: int | None, limit: int) -> Response:
    """A page of a session's history: what memory holds, then what its store holds."""
    body: JsonValue
    if kind == "trace":
        end = conversation.trace.dropped + len(conversation.trace) if before is None else before
        page = await readback.trace_page(conversation, end, limit)
        rows: list[JsonValue] = [
            [e.index, e.kind, e.direction, e.summary, e.seq, e.stream_id, e.ref] for e in page.entries
        ]
        body = {"kind": kind, "rows": rows, "more": page.more, "damage": page.damage}
    elif kind == "messages":
        found = await readback.messages_page(conversation, before, limit)
        body = {
            "kind": kind,
            "first": found.first,
            "messages": messages_of(found.messages).to_json()["messages"],
            "more": found.more,
            "damage": found.damage,
        }
    else:
        raise HTTPException(422, f"kind is trace or messages, not {kind!r}")
    return Response(jsonvalue.dumps_bytes(body), media_type="application/json")
