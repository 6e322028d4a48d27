"""What a session can do, declared by its client and asked by the pages (never inferred from its class).

A dialect decides most of it (an SSE conversation stream takes no prompts but can be replayed from its
start; an AG-UI run can pause for the user's approval of a tool call), but not all: a trace opened from
a file speaks the agent dialect and can do nothing but be looked at, and spans received over OTLP or a
session followed from another console's journal are live yet take nothing from here. So each client
carries its own `Capabilities`; the presets below are what the clients of this console declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Capabilities:
    prompts: bool = False  # takes prompts: the composer, the example chips, POST /api/sessions/{id}/messages
    retry: bool = False  # an interrupted reply can be asked for again
    approvals: bool = False  # a run can pause until the user approves or denies a tool call (`answer`)
    drop: bool = False  # has a connection of its own: the user may cut it (to watch it recover) or restart it
    restream: bool = False  # a stream that can be shown again from its start (`restream`)
    live: bool = True  # False: a recording opened offline; its times are the recording's, not now

    @property
    def readonly(self) -> bool:
        """Nothing the user types can be sent from here."""
        return not self.prompts


CONVERSATION: Final = Capabilities(prompts=True, retry=True, drop=True)
APPROVING: Final = Capabilities(prompts=True, retry=True, approvals=True, drop=True)
STREAM: Final = Capabilities(drop=True, restream=True)
WATCHED: Final = Capabilities()  # live, fed from elsewhere (spans received, another console's journal)
RECORDING: Final = Capabilities(live=False)


@dataclass(frozen=True, slots=True)
class Recording:
    """Where the times of a session fed from a recording come from (a trace file, received spans)."""

    name: str
    wall_offset: float  # add to the session's times to get the wall clock (epoch seconds)
    dropped: int = 0  # events the recorded session had let go before it was exported


class Defaults:
    """What a session client can do unless it says otherwise: a conversation, no approvals, no stream to
    show again, not a recording. A client class derives from this and overrides what differs."""

    capabilities: Capabilities = CONVERSATION
    recording: Recording | None = None

    def answer(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a tool call a paused run asks about (`capabilities.approvals`); False: nothing
        waits for that answer here."""
        return False

    def restream(self) -> None:
        """Show the conversation again from its start (`capabilities.restream`); nothing to do here."""
