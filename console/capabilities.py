"""What a session can do, declared by its client and asked by the pages (never inferred from its class).

A dialect decides most of it (its descriptor's `Capabilities`, console/dialects/base.py: an SSE
conversation stream takes no prompts but can be replayed from its start; an AG-UI run can pause for the
user's approval of a tool call), but not all: a trace opened from a file speaks the agent dialect and
can do nothing but be looked at, and spans received over OTLP or a session followed from another
console's journal are live yet take nothing from here. So each client carries its own: a dialect's
client declares its dialect's, the clients fed from elsewhere the presets below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from console.dialects.base import Capabilities

__all__ = ["RECORDING", "WATCHED", "Capabilities", "Defaults", "Recording"]

# Sessions fed from elsewhere: nothing to send, no connection of their own.
WATCHED: Final = Capabilities(prompts=False, retry=False, drop=False)  # live (spans received, a journal)
RECORDING: Final = Capabilities(prompts=False, retry=False, drop=False, live=False)  # a trace file


@dataclass(frozen=True, slots=True)
class Recording:
    """Where the times of a session fed from a recording come from (a trace file, received spans)."""

    name: str
    wall_offset: float  # add to the session's times to get the wall clock (epoch seconds)
    dropped: int = 0  # events the recorded session had let go before it was exported


class Defaults:
    """What a session client can do unless it says otherwise: a conversation, no approvals, no stream to
    show again, not a recording. A client class derives from this and overrides what differs."""

    capabilities: Capabilities = Capabilities()
    recording: Recording | None = None

    def answer(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a tool call a paused run asks about (`capabilities.approvals`); False: nothing
        waits for that answer here."""
        return False

    def restream(self) -> None:
        """Show the conversation again from its start (`capabilities.replay`); nothing to do here."""
