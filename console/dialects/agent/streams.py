"""What an agent engine remembers of the reply streams it saw and the tool calls it acked: bounded.

A session that runs for days sees a reply stream and a few tool calls a minute. The engine needs to
know, of a stream, whether it is still open and the numbering it began in (a late frame of an
ended reply is refused rather than shown; one of an earlier numbering is not let into the current
one), and of a call, whether its TOOL_ACK already went (a call acked early, while held behind a gap,
is not acked again when it is applied). Neither is needed forever:

* Streams: the newest `limit` are remembered (the conversation's message window: a stream whose
  message left memory is as good as gone). A frame that late is a frame of an unknown stream, which
  the engine refuses as well unless it is waiting for the first frame of a new reply: the server
  replays only its last few numberings, never one a window of replies old.
* Acked calls: a call is forgotten once its result is applied (the sequencer applies its TOOL_CALL
  at most once, so nothing can ask to ack it after that), and of calls never answered only the newest
  `ACKED_KEPT` are remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

ACKED_KEPT: Final = 1_000  # acked calls without a result remembered, newest first


class ReplyStreams:
    """The newest `limit` reply streams seen: whether each is still open, and its numbering."""

    __slots__ = ("_streams", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._streams: OrderedDict[str, tuple[bool, int]] = OrderedDict()  # sid -> (open, epoch)

    def __len__(self) -> int:
        return len(self._streams)

    def is_open(self, sid: str) -> bool | None:
        """True while open, False once ended, None when never seen (or forgotten)."""
        found = self._streams.get(sid)
        return None if found is None else found[0]

    def epoch(self, sid: str) -> int | None:
        found = self._streams.get(sid)
        return None if found is None else found[1]

    def earlier(self, sid: str, epoch: int) -> bool:
        """Whether stream `sid` (not the reply in flight) began in a numbering before `epoch`: a frame
        of it has a seq that means nothing in this one. (A replay of a reply given up on can still be
        arriving when the next reply restarts at 1; let into the new numbering, it would take the seq
        of a frame of the new reply.)"""
        began = self.epoch(sid)
        return began is not None and began != epoch

    def began(self, sid: str, epoch: int) -> None:
        streams = self._streams
        streams[sid] = (True, epoch)
        streams.move_to_end(sid)
        while len(streams) > self.limit:
            streams.popitem(last=False)

    def ended(self, sid: str) -> None:
        found = self._streams.get(sid)
        if found is not None:
            self._streams[sid] = (False, found[1])


class AckedCalls:
    """Tool calls whose TOOL_ACK went out and whose result has not been applied yet."""

    __slots__ = ("_calls", "limit")

    def __init__(self, limit: int = ACKED_KEPT) -> None:
        self.limit = max(1, limit)
        self._calls: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def add(self, call_id: str) -> None:
        calls = self._calls
        calls[call_id] = None
        calls.move_to_end(call_id)
        while len(calls) > self.limit:
            calls.popitem(last=False)

    def answered(self, call_id: str) -> None:
        """Its result was applied: the call is finished."""
        self._calls.pop(call_id, None)
