"""The middleware's finer rules, on a small Starlette app in process (the real console is in test_server)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from console.security.auth import safe_next
from console.security.middleware import SecurityMiddleware
from console.security.policy import SecurityPolicy

BASE = "http://127.0.0.1:8080"


def app_with(policy: SecurityPolicy) -> Starlette:
    async def metrics(request: object) -> PlainTextResponse:
        return PlainTextResponse("# TYPE x counter\n")

    app = Starlette(routes=[Route("/metrics", metrics)])
    app.add_middleware(SecurityMiddleware, policy=policy)
    return app


async def fetch(policy: SecurityPolicy, path: str, base: str = BASE, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_with(policy))
    async with httpx.AsyncClient(transport=transport, base_url=base) as http:
        return await http.get(path, headers=headers)


async def test_metrics_public_opens_metrics_and_nothing_else() -> None:
    policy = SecurityPolicy(token="t", metrics_public=True)
    assert (await fetch(policy, "/metrics")).status_code == 200
    assert (await fetch(policy, "/api/simulators")).status_code == 401
    # Still only under the console's own names.
    assert (await fetch(policy, "/metrics", Host="rebind.example:8080")).status_code == 403


async def test_cookies_are_secure_behind_an_https_proxy() -> None:
    policy = SecurityPolicy(token="t", public_urls=("https://console.example.com",))
    response = await fetch(policy, "/metrics?token=t", base="https://console.example.com")
    assert response.status_code == 303
    for cookie in response.headers.get_list("set-cookie"):
        assert "Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/session/agent?x=1", "/session/agent?x=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_after_the_login_only_a_path_of_this_console(asked: str | None, goes_to: str) -> None:
    assert safe_next(asked) == goes_to
