"""Endpoints answered at the front of the HTTP stack, ahead of the framework's middleware.

NiceGUI wraps every request in two Starlette `BaseHTTPMiddleware`s (cache headers, a path-prefix
redirect), and a request through one hops between tasks and memory streams: a turn of the event loop
per hop. On a loop kept busy 10 ms a turn, a trivial endpoint behind them answered after some 11
turns (110 ms), one in front of them after 3. A flood keeps turns that long, and that is when
monitoring reads /metrics, so /metrics is answered here.

The security middleware still comes first: each endpoint here is wrapped in its own instance of it
(`guard`), sharing the logins and the wrong-guess line with the one in the stack, so a request is
checked the same way whichever way it goes.

Starlette builds its stack when the app starts, out of the middleware `ui.run` adds after our code
has run; so the front is put in place by the app's startup hook (`install`), which runs before the
server accepts its first connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

Guard = Callable[[ASGIApp], ASGIApp]
_METHODS: Final = frozenset({"GET", "HEAD"})


def _unguarded(endpoint: ASGIApp) -> ASGIApp:
    return endpoint


class Front:
    """The paths answered in front of the stack, and the guard put around each of them."""

    def __init__(self) -> None:
        self._endpoints: dict[str, ASGIApp] = {}
        self._guard: Guard = _unguarded

    def answer(self, path: str, endpoint: ASGIApp) -> None:
        """GET and HEAD of `path` go to `endpoint` (an ASGI app); other methods to the stack."""
        self._endpoints[path] = endpoint

    def guard(self, guard: Guard) -> None:
        self._guard = guard

    def install(self, app: Starlette) -> None:
        """Put the front before the app's stack (from its startup hook: the stack exists by then)."""
        stack = app.middleware_stack or app.build_middleware_stack()
        endpoints = {path: self._guard(endpoint) for path, endpoint in self._endpoints.items()}
        app.middleware_stack = _Dispatch(stack, endpoints)


class _Dispatch:
    def __init__(self, stack: ASGIApp, endpoints: dict[str, ASGIApp]) -> None:
        self._stack = stack
        self._endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            endpoint = self._endpoints.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self._stack(scope, receive, send)


FRONT: Final = Front()
