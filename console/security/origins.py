"""Host and Origin checks: what stops DNS rebinding and cross-site use of a console on loopback.

A page on another site can make the browser talk to 127.0.0.1:8080 in two ways: directly (its Origin
header then names that site) or through DNS rebinding (its own name resolving to 127.0.0.1: the Host
header then carries that name). So a request is served only when its Host is a name the console knows
for itself, and its Origin, when there is one, is the console's own.

A wildcard bind (0.0.0.0, ::) cannot know every address of the machine, so there any IP literal on the
console's port is taken as a Host: rebinding always presents a name, never an address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from console.security.policy import LOOPBACK_NAMES, SecurityPolicy

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str  # lower case, IPv6 without brackets
    port: int


def split_host(value: str, default_port: int) -> Endpoint | None:
    """`Host` header value -> (host, port); None when it is not a plain host[:port]."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/@?#\\ "):
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    if parts.hostname is None:
        return None
    return Endpoint(parts.hostname, port if port is not None else default_port)


def parse_origin(value: str) -> tuple[str, Endpoint] | None:
    """`Origin` header value -> (scheme, endpoint); None for `null` or anything malformed."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or parts.hostname is None or parts.path not in ("", "/"):
        return None
    return parts.scheme, Endpoint(parts.hostname, port if port is not None else DEFAULT_PORTS[parts.scheme])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class OriginRules:
    """The names and origins one policy accepts, computed once."""

    def __init__(self, policy: SecurityPolicy) -> None:
        self.port = policy.port
        bound = policy.host.strip("[]").lower()
        self.wildcard = bound in WILDCARDS
        local = set(LOOPBACK_NAMES) | {"127.0.0.1", "::1"}
        if not self.wildcard:
            local.add(bound)
        self.hosts: set[Endpoint] = {Endpoint(h, policy.port) for h in local}
        self.origins: set[tuple[str, Endpoint]] = set()
        for url in (*policy.public_urls, *policy.allow_origins):
            origin = parse_origin(_origin_of(url))
            if origin is None:
                raise ValueError(f"not an origin: {url!r} (expected scheme://host[:port])")
            self.origins.add(origin)
            self.hosts.add(origin[1])

    def host_allowed(self, host_header: str | None, default_port: int = 80) -> bool:
        if host_header is None:
            return False
        endpoint = split_host(host_header, default_port)
        if endpoint is None:
            return False
        if endpoint in self.hosts:
            return True
        return self.wildcard and endpoint.port == self.port and _is_ip(endpoint.host)

    def origin_allowed(self, origin_header: str, host_header: str | None, scheme: str = "http") -> bool:
        """Same origin as the (already accepted) Host, or one named by --public-url / --allow-origin."""
        origin = parse_origin(origin_header)
        if origin is None:
            return False
        if origin in self.origins:
            return True
        if host_header is None:
            return False
        own = split_host(host_header, DEFAULT_PORTS.get(origin[0], 80))
        same_scheme = origin[0] in (scheme, {"ws": "http", "wss": "https"}.get(scheme, scheme))
        return own is not None and same_scheme and own == origin[1] and self.host_allowed(host_header)


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"
