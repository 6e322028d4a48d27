"""The process's security policy: one frozen value, decided at startup from the command line.

The policy is process-wide (one console, one set of rules), so the few places deep in the UI that
need it (the Add-session dialog, the trace upload, the contact badge's picture) read `current()`
instead of having it threaded through every constructor.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import Final

TOKEN_ENV: Final = "AGENT_CONSOLE_TOKEN"
GENERATE: Final = "generate"  # `--token` given without a value: make one and print it once
LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep one visitor or upstream from taking the process down."""

    max_sessions: int = 100
    max_tabs_per_visitor: int = 12
    max_trace_bytes: int = 25 * 1024 * 1024
    max_traces_per_visitor: int = 8  # so one visitor's opened files cannot fill the session cap


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    host: str = "127.0.0.1"
    port: int = 8080
    public_urls: tuple[str, ...] = ()  # where a proxy publishes the console: its names are accepted
    allow_origins: tuple[str, ...] = ()  # further origins (scheme://host[:port]) accepted
    token: str | None = None  # None: no login (loopback, or --insecure-no-auth)
    metrics_public: bool = False
    allow_upstreams: tuple[str, ...] = ()  # patterns: host, host:port, *.domain, or a CIDR
    image_hosts: tuple[str, ...] = ()  # hosts whose pictures viewers' browsers may load
    limits: Limits = field(default_factory=Limits)

    @property
    def exposed(self) -> bool:
        """Bound where other machines can reach it: its visitors are not necessarily its operator."""
        return not is_loopback(self.host)

    @property
    def secure_cookies(self) -> bool:
        return any(url.lower().startswith("https://") for url in self.public_urls)


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """What the command line's host and token mean for the login, decided before anything binds."""

    token: str | None
    refusal: str | None = None  # the console must not start; this says why and what to do
    announce: str | None = None  # printed once at startup (a generated token, a loud warning)


def decide_auth(host: str, port: int, token: str | None, insecure_no_auth: bool) -> AuthDecision:
    """Loopback needs no login unless a token is given; any other address needs one, or an explicit risk."""
    if token == GENERATE:
        token = secrets.token_urlsafe(24)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/?token={token}"
        return AuthDecision(token, announce=f"Agent Console login token (shown once): {token}\n  {url}")
    if token:
        return AuthDecision(token)
    if is_loopback(host):
        return AuthDecision(None)
    if insecure_no_auth:
        return AuthDecision(
            None,
            announce=(
                "WARNING: --insecure-no-auth: the console listens on "
                f"{host}:{port} WITHOUT A LOGIN. Anyone who can reach this address can read every "
                "conversation, send prompts, remove sessions and make the console connect to upstreams."
            ),
        )
    return AuthDecision(
        None,
        refusal=(
            f"refusing to listen on {host} without a login: anyone on the network could read and drive "
            f"every session. Give a token with --token TOKEN or the {TOKEN_ENV} environment variable, "
            "or --token alone to have one generated and printed once (or, at your own risk, "
            "--insecure-no-auth)."
        ),
    )


_CURRENT: list[SecurityPolicy] = [SecurityPolicy()]


def current() -> SecurityPolicy:
    return _CURRENT[0]


def set_current(policy: SecurityPolicy) -> None:
    _CURRENT[0] = policy
