"""The login: one shared token (or password), exchanged for a session cookie.

The token is compared in constant time; a wrong one costs the caller a pause, which keeps guessing
slow. Sessions live in this process only (a restart logs everyone out, like the conversations'
connections), and a cookie names a random session id, never the token itself.
"""

from __future__ import annotations

import hmac
import html
import secrets
from pathlib import Path
from typing import Final
from urllib.parse import quote

SESSION_COOKIE: Final = "agent_console_session"
VISITOR_COOKIE: Final = "agent_console_visitor"
LOGIN_PATH: Final = "/login"
LOGOUT_PATH: Final = "/logout"
WRONG_TOKEN_PAUSE: Final = 0.5  # seconds
# Inlined: the page's policy allows no stylesheet to load (see security/headers.py).
LOGIN_CSS: Final = (Path(__file__).parent / "login.css").read_text()
MAX_SESSIONS: Final = 10_000  # logins kept; the oldest go first


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


class Logins:
    """Session ids handed out by a successful login."""

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest first

    def open(self) -> str:
        session_id = secrets.token_urlsafe(32)
        self._ids[session_id] = None
        while len(self._ids) > MAX_SESSIONS:
            del self._ids[next(iter(self._ids))]
        return session_id

    def valid(self, session_id: str | None) -> bool:
        return session_id is not None and session_id in self._ids

    def close(self, session_id: str | None) -> None:
        if session_id is not None:
            self._ids.pop(session_id, None)


def cookie(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    """HttpOnly (no script reads it), SameSite=Lax (not sent with another site's requests)."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def safe_next(path: str | None) -> str:
    """Where to go after the login: a path on this console only (no `//host`, no scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_page(next_path: str, problem: str = "") -> str:
    """A plain form: no script, so it needs nothing from the (still locked) NiceGUI assets."""
    message = f'<p class="problem" role="alert">{html.escape(problem)}</p>' if problem else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Agent Console · log in</title>
<style>{LOGIN_CSS}</style></head>
<body><form method="post" action="{LOGIN_PATH}" data-testid="login-form">
<h1>Agent Console</h1>{message}
<label for="token">Token or password</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required
  data-testid="login-token">
<input type="hidden" name="next" value="{html.escape(next_path)}">
<button type="submit" data-testid="login-submit">Log in</button>
</form></body></html>
"""


def login_redirect(path: str, query: str) -> str:
    target = path + (f"?{query}" if query else "")
    return f"{LOGIN_PATH}?next={quote(safe_next(target), safe='')}"
