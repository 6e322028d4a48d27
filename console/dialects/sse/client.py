"""The SSE transport of a conversation stream: httpx, our own event-stream framing, reconnect with backoff.

The framing is `SSEDecoder` rather than httpx-sse's line iterator, which buffers a line however long
it grows: ours stops at a size limit, and the stream is then treated as broken. The server's `retry:`
(milliseconds, clamped to a sane range) sets the first delay of our backoff, which still doubles while
reconnections bring nothing new; `Last-Event-ID` goes with every reconnection when the server gave
ids. A stream that ends with every message complete ends the session's work (no reconnect loop) until
the user asks for a replay.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from console.dialects.sse import DIALECT
from console.dialects.sse.engine import SSEEngine
from console.dialects.sse.event_stream import DEFAULT_MAX_LINE, SSEDecoder
from console.runtime.http_stream import HttpStreamClient, failed
from console.runtime.reconnect import Clock, Ended, Schedule, backoff, status_policy
from console.session import Message


class ReadOnlyStream(RuntimeError):
    """An SSE conversation stream takes no prompts."""


class SSEClient(HttpStreamClient[SSEEngine]):
    capabilities = DIALECT.capabilities  # read-only, shown again from its start on request

    def __init__(
        self,
        url: str,
        engine: SSEEngine | None = None,
        *,
        backoff_factory: Schedule = backoff,
        read_timeout: float = 60.0,
        max_line: int = DEFAULT_MAX_LINE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(
            url,
            engine or SSEEngine(),
            backoff_factory=backoff_factory,
            read_timeout=read_timeout,
            clock=clock,
        )
        self._replay = asyncio.Event()
        self.max_line = max_line

    @property
    def idle(self) -> bool:
        """The whole conversation has arrived."""
        return self.engine.complete

    def send_user_message(self, text: str) -> Message:
        raise ReadOnlyStream("this SSE conversation stream is read-only: it takes no prompts")

    def retry(self, message_id: str) -> Message | None:
        return None

    def restream(self) -> None:
        """Show the conversation again from its start."""
        self.engine.replay(self._clock())
        self._replay.set()
        self.drop()

    async def _attempt(self, http: httpx.AsyncClient) -> Ended:
        ended = await self._stream_once(http)
        if self.engine.complete:
            await self._replay.wait()  # done until the user asks for a replay
        if self.engine.complete or self._replay.is_set():
            self._replay.clear()
            return Ended("replay", report=False)  # not a failure: fetched again at once
        # Only a connection that brought something new resets the backoff.
        connected = ended.connected and self.engine.progressed
        delay = None if self.engine.retry_ms is None else self.engine.retry_delay()
        return Ended(ended.reason, connected=connected, policy=ended.policy, delay=delay)

    async def _stream_once(self, http: httpx.AsyncClient) -> Ended:
        """One request, until its stream ends."""
        connected = False
        headers = self.engine.request_headers(self._clock())
        try:
            async with http.stream("GET", self.url, headers=headers) as response:
                if response.status_code != 200:
                    status = response.status_code
                    return Ended(f"HTTP {status}", policy=status_policy(status))
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    return Ended(f"not an event stream: content type '{content_type}'")
                self._response = response
                connected = True
                self.engine.connected(self._clock())
                framing = SSEDecoder(max_line=self.max_line, max_event=self.max_line)
                async for text in response.aiter_text():
                    for event in framing.decode(text):
                        self.engine.receive(event, self._clock())
                    if framing.broken is not None:
                        self.engine.broken(self._clock(), framing.broken)
                        return Ended(f"stream broken: {framing.broken}", connected=True)
            if self.engine.ended(self._clock()):
                return Ended("complete", connected=True)
            return Ended("the stream ended before the conversation did", connected=True)
        except Exception as exc:
            return failed(exc, connected)
        finally:
            self._response = None
