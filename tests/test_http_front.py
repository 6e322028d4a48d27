"""The HTTP front: /metrics answered ahead of the framework's middleware, still behind its guard."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from console.http_front import Front


class _Passing(BaseHTTPMiddleware):  # what NiceGUI puts around every request (cache headers, prefixes)
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


async def _routed(request: Request) -> Response:
    return PlainTextResponse("routed")


async def _front_metrics(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("up 1\n")(scope, receive, send)


def _guard(endpoint: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if dict(scope["headers"]).get(b"authorization") != b"Bearer t":
            await PlainTextResponse("no", status_code=401)(scope, receive, send)
            return
        await endpoint(scope, receive, send)

    return guarded


def _app() -> Starlette:
    app = Starlette(
        routes=[Route("/metrics", _routed, methods=["GET", "POST"]), Route("/page", _routed)],
        middleware=[Middleware(_Passing), Middleware(_Passing)],
    )
    front = Front()
    front.answer("/metrics", _front_metrics)
    front.guard(_guard)
    front.install(app)
    return app


async def _turns_for(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[int, httpx.Response]:
    """How many turns of a busy loop (each kept 10 ms by other work) a request waited."""
    loop = asyncio.get_running_loop()
    turns = 0
    busy = True

    def other_work() -> None:
        nonlocal turns
        if busy:
            turns += 1
            time.sleep(0.01)
            loop.call_soon(other_work)

    other_work()
    try:
        response = await client.get(path, headers=headers)
    finally:
        busy = False
    return turns, response


async def test_metrics_waits_fewer_turns_of_a_busy_loop_than_a_page_behind_the_middleware() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page_turns, page = await _turns_for(client, "/page")
        metrics_turns, metrics = await _turns_for(client, "/metrics", authorization="Bearer t")
    assert page.text == "routed" and metrics.text == "up 1\n"
    assert metrics_turns <= 2 < page_turns  # each turn is as long as a flood makes it


async def test_the_front_keeps_its_guard_and_leaves_other_methods_to_the_stack() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await client.get("/metrics")).status_code == 401
        posted = await client.post("/metrics")
    assert posted.status_code == 200 and posted.text == "routed"
