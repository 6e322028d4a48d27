"""One ASGI middleware in front of everything the process serves: pages, NiceGUI's Socket.IO endpoint
(HTTP polling and the WebSocket upgrade), uploads, /metrics and every other route.

In order: the Host and Origin checks (`origins.py`), the visitor cookie, the login (`auth.py`), the
upload size cap, the cap on open pages per visitor; then the security headers on the way out, with
the script nonce written into pages (`headers.py`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Final
from urllib.parse import parse_qsl, urlencode

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.security import auth, headers, limits
from console.security.origins import OriginRules
from console.security.policy import SecurityPolicy

MAX_FORM_BYTES: Final = 8 * 1024
_VISITOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SendHeaders = list[tuple[bytes, bytes]]


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        policy: SecurityPolicy,
        logins: auth.Logins | None = None,
        guessing: asyncio.Lock | None = None,
    ) -> None:
        """`logins` and `guessing` are passed when several instances guard one console (see
        `console/http_front.py`): a login through one holds for all, and wrong guesses wait in one line."""
        self.app = app
        self.policy = policy
        self.rules = OriginRules(policy)
        self.logins = logins or auth.Logins()
        self.guessing = guessing or asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        host = conn.headers.get("host")
        secure = scope.get("scheme") in ("https", "wss")
        if not self.rules.host_allowed(host, 443 if secure else 80):
            await refuse(scope, send, 403, "This console does not answer to that host name.")
            return
        origin = conn.headers.get("origin")
        if origin is not None and not self.rules.origin_allowed(origin, host, str(scope.get("scheme"))):
            await refuse(scope, send, 403, "Requests from another site are refused.")
            return
        visitor, cookies = self._visitor(scope, conn)
        if self.policy.token is not None and not await self._login_gate(scope, conn, receive, send, cookies):
            return
        if scope["type"] == "http" and not (
            await self._upload_gate(scope, conn, send) and await self._tab_gate(scope, conn, send, visitor)
        ):
            return
        await self.app(scope, receive, self._with_headers(scope, send, cookies))

    # -- gates ----------------------------------------------------------------------------------

    def _visitor(self, scope: Scope, conn: HTTPConnection) -> tuple[str, list[str]]:
        """Every browser gets a visitor id; a new one is put into this request too, so pages see it.

        Returns the id and the cookie to set (none when the browser already had one)."""
        known = conn.cookies.get(auth.VISITOR_COOKIE, "")
        if _VISITOR_ID.match(known):
            return known, []
        visitor = secrets.token_urlsafe(18)
        raw = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
        kept = "; ".join(f"{k}={v}" for k, v in conn.cookies.items() if k != auth.VISITOR_COOKIE)
        raw.append((b"cookie", f"{kept}; {auth.VISITOR_COOKIE}={visitor}".lstrip("; ").encode()))
        scope["headers"] = raw
        return visitor, [auth.cookie(auth.VISITOR_COOKIE, visitor, secure=self._secure(scope))]

    def _secure(self, scope: Scope) -> bool:
        return self.policy.secure_cookies or scope.get("scheme") in ("https", "wss")

    def _authenticated(self, conn: HTTPConnection) -> bool:
        token = self.policy.token or ""
        given = auth.bearer(conn.headers.get("authorization"))
        return self.logins.valid(conn.cookies.get(auth.SESSION_COOKIE)) or auth.token_matches(given, token)

    async def _login_gate(
        self, scope: Scope, conn: HTTPConnection, receive: Receive, send: Send, cookies: list[str]
    ) -> bool:
        """True when the request may go on; otherwise it has been answered here."""
        path = scope["path"]
        if scope["type"] == "http" and path == auth.LOGIN_PATH:
            await self._login(scope, conn, receive, send, cookies)
            return False
        if scope["type"] == "http" and path == auth.LOGOUT_PATH:
            self.logins.close(conn.cookies.get(auth.SESSION_COOKIE))
            gone = auth.cookie(auth.SESSION_COOKIE, "", secure=self._secure(scope), max_age=0)
            await respond(send, 303, b"", [gone, *cookies], location=auth.LOGIN_PATH)
            return False
        if self._authenticated(conn):
            return True
        if path == "/metrics" and self.policy.metrics_public:
            return True
        if auth.bearer(conn.headers.get("authorization")) is not None:
            await self._wrong_guess()
            await refuse(scope, send, 401, "Wrong token.")
            return False
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["type"] == "http" and "token" in query:
            if not auth.token_matches(query["token"], self.policy.token or ""):
                await self._wrong_guess()
                await refuse(scope, send, 401, "Wrong token.")
                return False
            # A link with ?token= (the one printed at startup) logs in once and drops the token from the URL.
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            await respond(
                send,
                303,
                b"",
                [self._session_cookie(scope), *cookies],
                location=path + (f"?{rest}" if rest else ""),
            )
            return False
        if scope["type"] == "http" and scope["method"] == "GET" and _wants_page(conn):
            location = auth.login_redirect(path, scope.get("query_string", b"").decode("latin-1"))
            await respond(send, 303, b"", cookies, location=location)
            return False
        await refuse(scope, send, 401, "Log in first (or send the token as a bearer token).")
        return False

    async def _wrong_guess(self) -> None:
        async with self.guessing:  # wrong guesses wait in one line: parallel guessing gains nothing
            await asyncio.sleep(auth.WRONG_TOKEN_PAUSE)

    def _session_cookie(self, scope: Scope) -> str:
        return auth.cookie(auth.SESSION_COOKIE, self.logins.open(), secure=self._secure(scope))

    async def _login(
        self, scope: Scope, conn: HTTPConnection, receive: Receive, send: Send, cookies: list[str]
    ) -> None:
        if scope["method"] != "POST":
            page = auth.login_page(auth.safe_next(conn.query_params.get("next")))
            await respond_page(send, 200, page, cookies)
            return
        form = dict(parse_qsl((await _read_body(receive, MAX_FORM_BYTES)).decode("utf-8", "replace")))
        next_path = auth.safe_next(form.get("next"))
        if auth.token_matches(form.get("token"), self.policy.token or ""):
            await respond(send, 303, b"", [self._session_cookie(scope), *cookies], location=next_path)
            return
        await self._wrong_guess()
        await respond_page(send, 401, auth.login_page(next_path, "Wrong token or password."), cookies)

    async def _upload_gate(self, scope: Scope, conn: HTTPConnection, send: Send) -> bool:
        """A body over the size cap (a trace upload, spans sent to /v1/traces) is refused before it is
        read (the server itself reads no more than Content-Length says); a file upload must say its size."""
        if scope["method"] not in ("POST", "PUT"):
            return True
        cap = self.policy.limits.max_trace_bytes
        length = conn.headers.get("content-length", "")
        if not length.isdigit() and not limits.UPLOAD_PATH.match(scope["path"]):
            return True
        if not length.isdigit():
            await refuse(scope, send, 411, "An upload must say its size.")
            return False
        # The multipart envelope adds a little to the file itself.
        if int(length) > cap + 64 * 1024:
            await refuse(
                scope, send, 413, f"The request is too large: the limit is {limits.trace_limit_text()}."
            )
            return False
        return True

    async def _tab_gate(self, scope: Scope, conn: HTTPConnection, send: Send, visitor: str) -> bool:
        if scope["method"] != "GET" or not _wants_page(conn):
            return True
        problem = limits.check_tab_room(visitor)
        if problem is None:
            return True
        await respond_page(send, 429, _message_page(problem), [])
        return False

    # -- headers on the way out -----------------------------------------------------------------

    def _with_headers(self, scope: Scope, send: Send, cookies: list[str]) -> Send:
        if scope["type"] != "http":
            return send
        held: list[Message] = []
        image_hosts = self.policy.image_hosts

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"set-cookie", c.encode()) for c in cookies]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
                if _is_html(message) and scope["method"] != "HEAD":
                    held.append(message)  # the page's body is needed to write the nonce
                    return
                message["headers"] = secure_headers(message["headers"], headers.PLAIN_CSP)
            elif message["type"] == "http.response.body" and held:
                held.append(message)
                if message.get("more_body", False):
                    return
                await _send_page(send, held, image_hosts)
                return
            await send(message)

        return wrapped


def _wants_page(conn: HTTPConnection) -> bool:
    path = conn.url.path
    if path.startswith(("/_nicegui", "/metrics", "/api/")):
        return False
    return "text/html" in conn.headers.get("accept", "")


def _is_html(message: Message) -> bool:
    for key, value in message.get("headers", []):
        if key.lower() == b"content-type":
            return bool(value.lower().startswith(b"text/html"))
    return False


async def _send_page(send: Send, held: list[Message], image_hosts: tuple[str, ...]) -> None:
    start, bodies = held[0], held[1:]
    held.clear()
    nonce = headers.new_nonce()
    body = headers.add_nonce(b"".join(m.get("body", b"") for m in bodies), nonce)
    raw = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": secure_headers(raw, headers.page_csp(nonce, image_hosts))})
    await send({"type": "http.response.body", "body": body})


def secure_headers(raw: SendHeaders, csp: str) -> SendHeaders:
    names = {k.lower() for k, _ in raw}
    # CORS is not for this console: its pages and sockets are same-origin, so no ACAO ever goes out.
    out = [(k, v) for k, v in raw if not k.lower().startswith(b"access-control-")]
    out += [(k, v) for k, v in headers.BASE_HEADERS if k not in names]
    out.append((b"content-security-policy", csp.encode()))
    return out


async def refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting makes the server answer the upgrade with 403.
        await send({"type": "websocket.close", "code": 1008, "reason": text[:100]})
        return
    await respond(send, status, text.encode(), [], content_type=b"text/plain; charset=utf-8")


async def respond(
    send: Send,
    status: int,
    body: bytes,
    cookies: list[str],
    *,
    location: str | None = None,
    content_type: bytes = b"text/plain; charset=utf-8",
    csp: str = headers.PLAIN_CSP,
) -> None:
    raw: SendHeaders = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw += [(b"cache-control", b"no-store")]
    raw += [(b"set-cookie", c.encode()) for c in cookies]
    if location is not None:
        raw.append((b"location", location.encode("latin-1", "replace")))
    await send({"type": "http.response.start", "status": status, "headers": secure_headers(raw, csp)})
    await send({"type": "http.response.body", "body": body})


async def respond_page(send: Send, status: int, page: str, cookies: list[str]) -> None:
    """A page of this module's own: no script at all, so its CSP allows none."""
    await respond(
        send,
        status,
        page.encode(),
        cookies,
        content_type=b"text/html; charset=utf-8",
        csp=headers.STATIC_PAGE_CSP,
    )


def _message_page(text: str) -> str:
    from html import escape

    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Agent Console</title></head>'
        f'<body style="font-family: system-ui, sans-serif; padding: 2rem"><p data-testid="limit-message">'
        f"{escape(text)}</p></body></html>"
    )


async def _read_body(receive: Receive, cap: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > cap or not message.get("more_body", False):
            return body[:cap]
