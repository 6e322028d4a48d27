"""What the simulated SSE server says: the spec's sample conversation (a meeting with John: the
calendar event of the sample, plus the contact badge the spec describes).

`CONVERSATION` is the ground truth: what a client must end up showing, whatever the chaos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from console.jsonvalue import JsonObject, JsonValue
from console.transcript import Component, Message, Text, Transcript


@dataclass(frozen=True, slots=True)
class SampleComponent:
    type: str
    fields: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class SampleMessage:
    id: str
    role: Literal["user", "assistant"]
    text: str
    components: tuple[SampleComponent, ...] = ()

    @property
    def wire_role(self) -> str:
        return "agent" if self.role == "assistant" else "user"  # the spec's name for the assistant


# An avatar that needs no network: a small SVG (loaded as an image, so it cannot run script).
_AVATAR = (
    "data:image/svg+xml;utf8,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E"
    "%3Crect width='64' height='64' fill='%234f7cac'/%3E"
    "%3Ccircle cx='32' cy='25' r='12' fill='%23e8eef5'/%3E"
    "%3Cpath d='M12 58c2-12 10-18 20-18s18 6 20 18z' fill='%23e8eef5'/%3E%3C/svg%3E"
)

CONVERSATION: tuple[SampleMessage, ...] = (
    SampleMessage("msg_0", "user", "Hi! Can you help me schedule a meeting with John next week?"),
    SampleMessage(
        "msg_1",
        "assistant",
        "Of course! I'd be happy to help you schedule a meeting with John. "
        "Let me check the available slots for next week.",
    ),
    SampleMessage(
        "msg_2",
        "assistant",
        "I found a good time slot for your meeting with John. Here's the proposed event:",
        (
            SampleComponent(
                "calendar_event",
                {"title": "Meeting with John", "date": "2025-10-22", "time": "14:00", "status": "PROPOSED"},
            ),
        ),
    ),
    SampleMessage("msg_3", "user", "Great, thanks! Can you share John's contact details too?"),
    SampleMessage(
        "msg_4",
        "assistant",
        "Sure — here is John’s contact card:",
        (
            SampleComponent(
                "contact_badge",
                {
                    "name": "John Carter",
                    "email": "john.carter@example.com",
                    "company": "Acme Corporation",
                    "profilePicture": _AVATAR,
                },
            ),
        ),
    ),
)


def expected_messages(conversation: tuple[SampleMessage, ...] = CONVERSATION) -> list[JsonObject]:
    """The ground truth as plain JSON: id, role, text and components (type, fields) of each message."""
    return [
        {
            "id": m.id,
            "role": m.role,
            "text": m.text,
            "components": [{"type": c.type, "fields": dict(c.fields)} for c in m.components],
        }
        for m in conversation
    ]


def transcript(conversation: tuple[SampleMessage, ...] = CONVERSATION) -> Transcript:
    """The ground truth as a transcript: every message complete, on the stream named by its id. The
    stream carries the user's messages too (sent, as the console marks a prompt that went out); a
    reply here answers no prompt typed in the console."""
    return Transcript(
        tuple(
            Message(
                role=m.role,
                status="sent" if m.role == "user" else "done",
                blocks=(Text(m.text), *(Component(c.type, dict(c.fields)) for c in m.components)),
                stream_id=m.id,
            )
            for m in conversation
        )
    )
