"""A run of a response's tokens, played from the pacer's release instead of the response's task.

Between two tool calls or snapshots a response is tokens and waits only. A task that awaits each
wait costs a future, a wake-up and a resumption of its coroutine chain per token: at a thousand
sessions a simulator process spent more on that than on writing the token. So a run of consecutive
tokens is handed to the pacer as one callback that writes the token that is due and asks the pacer
for the next one's moment, on the response's timeline; the task sleeps until the run has ended.
What is sent, in which order and when, is what the task would have done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from console.sim.agent_steps import Token
from console.sim.pacing import SLACK, Pacer, Timeline


class TokenRun:
    def __init__(
        self, pacer: Pacer, timeline: Timeline, tokens: Sequence[Token], emit: Callable[[Token], None]
    ) -> None:
        self.pacer = pacer
        self.timeline = timeline
        self.tokens = tokens
        self.emit = emit  # writes one token (to the log, the wire and the truth)
        self.done: asyncio.Future[None] = timeline.loop.create_future()
        self._next = 0

    async def play(self) -> None:
        """Until every token was written; cancelled (the response is), the rest is never written."""
        if self.tokens:
            self._schedule()
            await self.done

    def _schedule(self) -> None:
        """Ask the pacer for the next token's moment; one with no delay that is due goes at once (the
        first frame of a response), as the task's `Timeline.wait` would have let it."""
        token = self.tokens[self._next]
        due = self.timeline.advance(token.delay)
        if token.delay > 0 or due > self.timeline.loop.time() + SLACK:
            self.pacer.call_at(due, self._step)
        else:
            self._step()

    def _step(self) -> None:
        if self.done.done():  # the response was cancelled (the simulator stops)
            return
        try:
            self.emit(self.tokens[self._next])
        except Exception as exc:  # the response's failure, not the pacer's
            self.done.set_exception(exc)
            return
        self._next += 1
        if self._next == len(self.tokens):
            self.done.set_result(None)
        else:
            self._schedule()
