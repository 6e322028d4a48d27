"""The AG-UI transport: httpx. POST a `RunAgentInput`, read the SSE stream, nothing else.

All decisions are the engine's (`AguiEngine`); this is the I/O around it: a probe until the agent
answers (any HTTP status means it is there; AG-UI endpoints take only POST), one run at a time, a
`Last-Event-ID` re-POST when the engine asks for one, backoff between attempts.

Nothing a server sends is read without a bound: the stream is framed by the SSE dialect's bounded
decoder (`SSEDecoder`: httpx-sse's line iterator buffers a line however long it grows), an error
body is read only as far as it is shown, and the probe reads no body at all.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from console.connection import LIVE
from console.dialects.agui import DIALECT, protocol
from console.dialects.agui.engine import AguiEngine, RunRequest
from console.dialects.sse.event_stream import DEFAULT_MAX_LINE, SSEDecoder
from console.runtime.http_stream import HttpStreamClient, describe, failed
from console.runtime.reconnect import Clock, Ended, Schedule, backoff
from console.session import Message

ERROR_BODY_LIMIT = 4000  # characters of an HTTP error's body shown with it (and read of it)
STREAM_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream",
    "Cache-Control": "no-store",
}
PARSE_IN_THREAD = 256 * 1024  # characters of an event's data above which it is parsed in a thread


class AguiClient(HttpStreamClient[AguiEngine]):
    capabilities = DIALECT.capabilities  # a run may pause for the user's approval of a tool call

    def __init__(
        self,
        url: str,
        engine: AguiEngine | None = None,
        *,
        backoff_factory: Schedule = backoff,
        read_timeout: float = 60.0,
        max_line: int = DEFAULT_MAX_LINE,  # characters of a line, and of an event's data
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_line = max_line
        super().__init__(
            url,
            engine or AguiEngine(),
            backoff_factory=backoff_factory,
            read_timeout=read_timeout,
            clock=clock,
        )
        self._wake = asyncio.Event()

    # -- SessionClient ------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return self.engine.idle

    def send_user_message(self, text: str) -> Message:
        message = self.engine.send_user_message(text, self._clock())
        self._wake.set()
        return message

    def retry(self, message_id: str) -> Message | None:
        message = self.engine.retry(message_id, self._clock())
        self._wake.set()
        return message

    def answer(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a tool call a paused run asks about."""
        answered = self.engine.answer(call_id, approved, self._clock())
        self._wake.set()
        return answered

    # -- the loop -----------------------------------------------------------------------------------

    async def _attempt(self, http: httpx.AsyncClient) -> Ended:
        """Probe until the agent answers, then serve runs until one finds it unreachable."""
        try:
            async with http.stream("GET", self.url):
                pass  # any status will do; the body is not read
        except Exception as exc:
            return failed(exc)
        self.engine.connected(self._clock())
        while not self._closed and self.engine.state in LIVE:
            self._wake.clear()
            request = self.engine.next_request(self._clock())
            if request is None:
                await self._wake.wait()
                continue
            unreachable = await self._exchange(http, request)
            if unreachable is not None:
                return unreachable
        return Ended("the agent is unreachable", connected=True)

    async def _exchange(self, http: httpx.AsyncClient, request: RunRequest) -> Ended | None:
        """One run: POST it, read its stream; POST again after the last event id while the engine asks.
        How the link ended, when a request could not reach the agent."""
        resumes = self._backoff_factory()
        current: RunRequest | None = request
        while current is not None:
            reason = await self._post(http, current)
            if isinstance(reason, Ended):
                return reason
            if reason is None:
                return None  # the engine has the run's end (an HTTP error)
            if not self.engine.ended(self._clock(), reason):
                return None
            await asyncio.sleep(next(resumes))
            current = self.engine.resume_request()
        return None

    async def _post(self, http: httpx.AsyncClient, request: RunRequest) -> str | Ended | None:
        """Why the stream ended; None when the engine was already told how the run ended; `Ended`
        when the request never reached the agent (the run is given up with the link)."""
        # UTF-8, as browsers send it: an event id may be any text (httpx would take ASCII only).
        headers = {
            name.encode(): value.encode() for name, value in {**request.headers, **STREAM_HEADERS}.items()
        }
        try:
            async with http.stream("POST", self.url, content=request.body, headers=headers) as response:
                status = response.status_code
                if status != 200:
                    body = await _head_of(response, ERROR_BODY_LIMIT)
                    self.engine.http_error(status, body, self._clock())
                    return None
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    detail = f"not an event stream: content type '{content_type}'"
                    self.engine.http_error(status, detail, self._clock())
                    return None
                self._response = response
                self.engine.opened(self._clock())
                framing = SSEDecoder(max_line=self.max_line, max_event=self.max_line)
                async for text in response.aiter_text():
                    for sse in framing.decode(text):
                        parsed = None
                        if len(sse.data) >= PARSE_IN_THREAD:
                            # Parsing and validating megabytes takes tens of ms: not on the shared loop.
                            parsed = await asyncio.to_thread(protocol.parse, sse.data)
                        self.engine.receive(sse.data, sse.id or None, self._clock(), parsed)
                    if framing.broken is not None:
                        self.engine.broken(self._clock(), framing.broken)
                        return f"stream broken: {framing.broken}"
            return "the stream ended"
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return failed(exc, connected=True)  # the loop tells the engine, which ends the run
        except (httpx.HTTPError, OSError) as exc:
            return describe(exc)
        finally:
            self._response = None


async def _head_of(response: httpx.Response, limit: int) -> str:
    """The start of a response's body, `limit` characters at most, read no further than that."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= 4 * limit:  # UTF-8: at most 4 bytes a character
            break
    return b"".join(chunks).decode(errors="replace")[:limit]
