"""Conversation history of the chat simulator, kept in SQLite so a restart keeps every conversation.

The reference backend keeps a chatId -> thread mapping and lets the Assistants API hold the turns; a
plain chat completions endpoint holds nothing, so the turns themselves are stored here and sent back
with each request. Assistant turns are stored as the model wrote them (structured `idea:`/`message:`
text), which shows the model its own format on every follow-up.

Calls are synchronous: each is one small indexed statement on a local file, far below the time a
chunk takes to stream, and sqlite3 connections are bound to the thread that opened them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from console.sim.llm import ChatTurn, Role
from console.sim.structured import parse
from console.transcript import Block, Component, Message, Text, Transcript

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS turns_by_chat ON turns (chat_id, id);
"""

MEMORY = ":memory:"


class ChatStore:
    def __init__(self, path: str | Path = MEMORY) -> None:
        self.path = str(path)
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def append(self, chat_id: str, role: Role, content: str) -> None:
        with self._db:  # one transaction per turn: a crash never leaves half a turn
            self._db.execute(
                "INSERT INTO turns (chat_id, role, content) VALUES (?, ?, ?)", (chat_id, role, content)
            )

    def history(self, chat_id: str, limit: int | None = None) -> list[ChatTurn]:
        """The turns of one conversation, oldest first; with `limit`, only the latest `limit`."""
        rows = self._db.execute(
            "SELECT role, content FROM turns WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
            (chat_id, -1 if limit is None else limit),
        ).fetchall()
        return [ChatTurn(_role(role), str(content)) for role, content in reversed(rows)]

    def chats(self) -> list[str]:
        """Every conversation that has turns, the most recently active first."""
        rows = self._db.execute("SELECT chat_id FROM turns GROUP BY chat_id ORDER BY MAX(id) DESC").fetchall()
        return [str(row[0]) for row in rows]


def transcript(turns: Sequence[ChatTurn]) -> Transcript:
    """A conversation's turns as the transcript a client must end up showing: each prompt (sent), each
    answer (done) under it, its ideas as `idea` components before its message's text. An answer that
    never completed was never stored, so it is not here either."""
    messages: list[Message] = []
    prompt: str | None = None
    for turn in turns:
        if turn.role == "user":
            prompt = turn.content
            messages.append(Message("user", "sent", (Text(turn.content),)))
            continue
        blocks: list[Block] = [
            Component("idea", {"text": text}) if tag == "idea" else Text(text)
            for tag, text in parse(turn.content)
            if text or tag == "idea"
        ]
        messages.append(Message("assistant", "done", tuple(blocks), prompt=prompt))
    return Transcript(tuple(messages))


def _role(value: object) -> Role:
    return "assistant" if value == "assistant" else "user"
