"""The ground truth of one simulated agent session: what it generated, within a window.

The truth is what a console that received everything would show: every message in order and every
context's snapshots. A simulator serving a demo for days would keep all of it, half-megabyte
snapshots included (some 60 MB a minute for fifty autopiloted sessions), so it keeps what a console
with the same memory window keeps: the newest `messages` messages and, of the snapshots, the newest
`context_versions` per context and `snapshot_bytes` in all, the oldest let go first but never the
newest two of the context just updated: the rule of the console's `SnapshotWindow`
(console/window.py), restated here because a simulator knows the console only by its wire. A test
comparing a console with the truth then compares the same window on both sides (by default the
console's default one).

Snapshots are kept as JSON bytes, as the console keeps them: parsed, a half-megabyte one is ten
thousand objects, and the window counts bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue


@dataclass(frozen=True, slots=True)
class TruthWindow:
    """The sizes of a console's memory window (`console.window.Window`) the truth keeps within."""

    messages: int = 200
    context_versions: int = 50
    snapshot_bytes: int = 4 * 1024 * 1024


class Truth:
    __slots__ = ("_bytes", "_generated", "contexts", "messages", "window")

    def __init__(self, window: TruthWindow) -> None:
        self.window = window
        self.messages: list[JsonObject] = []
        self.contexts: dict[str, list[tuple[int, bytes]]] = {}  # (order generated, JSON) per version
        self._bytes = 0
        self._generated = 0

    def message(self, message: JsonObject) -> None:
        """A message of the conversation (the reply streaming stays the newest until the next one)."""
        messages = self.messages
        messages.append(message)
        over = len(messages) - self.window.messages
        if over > 0:
            del messages[:over]

    def snapshot(self, context_id: str, data: JsonValue) -> None:
        encoded = jsonvalue.dumps_kept(data)
        history = self.contexts.setdefault(context_id, [])
        history.append((self._generated, encoded))
        self._generated += 1
        self._bytes += len(encoded)
        while len(history) > self.window.context_versions:
            self._drop(history)
        while self._bytes > self.window.snapshot_bytes:
            candidates = [h for h in self.contexts.values() if h and (h is not history or len(h) > 2)]
            if not candidates:
                break
            self._drop(min(candidates, key=lambda h: h[0][0]))

    def _drop(self, history: list[tuple[int, bytes]]) -> None:
        self._bytes -= len(history.pop(0)[1])

    def to_json(self) -> JsonObject:
        contexts: JsonObject = {
            cid: [jsonvalue.loads(encoded) for _, encoded in history]
            for cid, history in self.contexts.items()
        }
        return {"messages": list(self.messages), "contexts": contexts}
