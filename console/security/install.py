"""Wiring the policy into the NiceGUI app (before it serves its first request)."""

from __future__ import annotations

import asyncio

from nicegui import app, core

from console.http_front import FRONT
from console.security import auth
from console.security.middleware import SecurityMiddleware
from console.security.origins import OriginRules
from console.security.policy import SecurityPolicy, set_current


def install(policy: SecurityPolicy) -> None:
    set_current(policy)
    rules = OriginRules(policy)  # raises on a malformed --public-url / --allow-origin before binding
    logins, guessing = auth.Logins(), asyncio.Lock()
    app.add_middleware(SecurityMiddleware, policy=policy, logins=logins, guessing=guessing)
    FRONT.guard(lambda endpoint: SecurityMiddleware(endpoint, policy, logins, guessing))

    def socket_origin(origin: str | None, environ: dict[str, str]) -> bool:
        """python-engineio's own check: NiceGUI sets it to '*', which echoes any Origin back."""
        if origin is None:
            return True
        scheme = environ.get("wsgi.url_scheme", "http")
        return rules.origin_allowed(origin, environ.get("HTTP_HOST"), scheme)

    core.sio.eio.cors_allowed_origins = socket_origin
