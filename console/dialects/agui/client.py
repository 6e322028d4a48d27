"""The AG-UI transport: httpx + httpx-sse. POST a `RunAgentInput`, read the SSE stream, nothing else.

All decisions are the engine's (`AguiEngine`); this is the I/O around it: a probe until the agent
answers (any HTTP status means it is there; AG-UI endpoints take only POST), one run at a time, a
`Last-Event-ID` re-POST when the engine asks for one, backoff between attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import httpx_sse

from console.connection import LIVE
from console.dialects.agui import protocol
from console.dialects.agui.engine import AguiEngine, RunRequest
from console.runtime.http_stream import HttpStreamClient, describe
from console.runtime.websocket import Clock, backoff
from console.session import Message

ERROR_BODY_LIMIT = 4000  # characters of an HTTP error's body shown with it
PARSE_IN_THREAD = 256 * 1024  # characters of an event's data above which it is parsed in a thread


class AguiClient(HttpStreamClient[AguiEngine]):
    readonly = False
    TASK_NAME = "agui-client"

    def __init__(
        self,
        url: str,
        engine: AguiEngine | None = None,
        *,
        backoff_factory: Callable[[], Iterator[float]] = backoff,
        read_timeout: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
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

    async def run(self) -> None:
        delays = self._backoff_factory()
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            while not self._closed:
                if self.engine.state not in LIVE:
                    reason = await self._probe(http)
                    if reason is None:
                        self.engine.connected(self._clock())
                        delays = self._backoff_factory()
                    else:
                        delay = next(delays)
                        self.engine.disconnected(self._clock(), reason, delay)
                        await asyncio.sleep(delay)
                    continue
                self._wake.clear()
                request = self.engine.next_request(self._clock())
                if request is None:
                    await self._wake.wait()
                    continue
                await self._exchange(http, request)

    async def _probe(self, http: httpx.AsyncClient) -> str | None:
        try:
            await http.get(self.url)
        except (httpx.HTTPError, OSError) as exc:
            return describe(exc)
        return None

    async def _exchange(self, http: httpx.AsyncClient, request: RunRequest) -> None:
        """One run: POST it, read its stream; POST again after the last event id while the engine asks."""
        resumes = self._backoff_factory()
        current: RunRequest | None = request
        while current is not None:
            reason = await self._post(http, current)
            if reason is None:
                return  # the engine has the run's end (an HTTP error, or the request never arrived)
            if not self.engine.ended(self._clock(), reason):
                return
            await asyncio.sleep(next(resumes))
            current = self.engine.resume_request()

    async def _post(self, http: httpx.AsyncClient, request: RunRequest) -> str | None:
        """Why the stream ended, or None when the engine was already told how the run ended."""
        headers = {**request.headers, "Content-Type": "application/json"}
        status = 0
        try:
            async with httpx_sse.aconnect_sse(
                http, "POST", self.url, content=request.body, headers=headers
            ) as src:
                response = src.response
                status = response.status_code
                if status != 200:
                    body = (await response.aread()).decode(errors="replace")
                    self.engine.http_error(status, body[:ERROR_BODY_LIMIT], self._clock())
                    return None
                self._response = response
                self.engine.opened(self._clock())
                async for sse in src.aiter_sse():
                    parsed = None
                    if len(sse.data) >= PARSE_IN_THREAD:
                        # Parsing and validating megabytes takes tens of ms: not on the shared loop.
                        parsed = await asyncio.to_thread(protocol.parse, sse.data)
                    self.engine.receive(sse.data, sse.id or None, self._clock(), parsed)
            return "the stream ended"
        except httpx_sse.SSEError as exc:
            self.engine.http_error(status, f"not an event stream: {exc}", self._clock())
            return None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            delay = next(self._backoff_factory())
            self.engine.unreachable(self._clock(), describe(exc), delay)
            await asyncio.sleep(delay)
            return None
        except (httpx.HTTPError, OSError) as exc:
            return describe(exc)
        finally:
            self._response = None
