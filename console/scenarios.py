"""Hostile-network scenarios recognised in a session's own trace, for narration.

Pure: `ScenarioDetector.feed(entry)` looks at one trace row (with what it remembers of the rows
before) and says which scenario, if any, that row completes — a drop mid-stream and its recovery,
frames reordered or duplicated, rapid tool calls, an oversized snapshot, a corrupt heartbeat, a
latency spike, an error frame. Nothing here is scripted to coincide with the simulator: it reads
only what the console itself saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.session import TraceEntry
from console.window import raw_length

OVERSIZED = 500_000  # bytes: the spec's "data payload exceeding 500KB"
SPIKE = 2.0  # seconds of silence in the middle of a reply


@dataclass(frozen=True, slots=True)
class Scenario:
    kind: str
    title: str
    detail: str
    at: float


@dataclass(slots=True)
class ScenarioDetector:
    in_reply: bool = False
    dropped_mid_reply: bool = False
    last_in: float | None = None
    pending_calls: set[str] = field(default_factory=set)
    seen_this_reply: set[str] = field(default_factory=set)

    def feed(self, entry: TraceEntry) -> list[Scenario]:
        found = self._classify(entry)
        if entry.direction == "in":
            self.last_in = entry.at
        return found

    def _once_per_reply(self, kind: str) -> bool:
        """Reordering and duplicates come in flurries: say so once per reply, not per frame."""
        if kind in self.seen_this_reply:
            return False
        self.seen_this_reply.add(kind)
        return True

    def _classify(self, e: TraceEntry) -> list[Scenario]:
        out: list[Scenario] = []
        if e.kind == "USER_MESSAGE":
            self.in_reply, self.seen_this_reply = True, set()
        elif e.kind in ("STREAM_END", "STALLED"):
            self.in_reply = False
            self.pending_calls.clear()
        if (
            e.direction == "in"
            and self.in_reply
            and self.last_in is not None
            and e.at - self.last_in >= SPIKE
        ):
            pause = e.at - self.last_in
            out.append(
                Scenario("spike", "Latency spike", f"{pause:.1f} s without a frame, then a burst", e.at)
            )
        match e.kind:
            case "DISCONNECTED" if self.in_reply:
                self.dropped_mid_reply = True
                out.append(Scenario("drop", "Connection dropped mid-stream", e.summary, e.at))
            case "RESUME" if self.dropped_mid_reply:
                self.dropped_mid_reply = False
                out.append(Scenario("resume", "Reconnected: the reply continues", e.summary, e.at))
            case "HELD" if self._once_per_reply("reorder"):
                out.append(Scenario("reorder", "Out-of-order frames reordered", e.summary, e.at))
            case "DUPLICATE" if self._once_per_reply("duplicate"):
                out.append(Scenario("duplicate", "Duplicate frame dropped", e.summary, e.at))
            case "TOOL_CALL" if e.ref:
                if self.pending_calls:
                    out.append(
                        Scenario("rapid_tools", "Rapid tool calls", "two tool calls before any result", e.at)
                    )
                self.pending_calls.add(e.ref)
            case "TOOL_RESULT" if e.ref:
                self.pending_calls.discard(e.ref)
            case "CONTEXT_SNAPSHOT" if e.raw is not None and (size := raw_length(e.raw)) >= OVERSIZED:
                out.append(
                    Scenario("oversized", "Oversized context snapshot", f"{size / 1024:,.0f} KB", e.at)
                )
            case "PING" if "empty challenge" in e.summary:
                out.append(
                    Scenario(
                        "corrupt_heartbeat", "Corrupt heartbeat survived", "empty challenge echoed", e.at
                    )
                )
            case "ERROR":
                out.append(Scenario("error", "Server error shown inline", e.summary, e.at))
            case "PROTOCOL_ERROR":
                out.append(Scenario("malformed", "Malformed frame skipped", e.summary, e.at))
        return out
