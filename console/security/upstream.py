"""Which upstream addresses a visitor may make the console connect to (server-side request forgery).

The console connects to whatever URL the Add-session dialog is given, from inside the operator's
network. So a visitor's URL is judged on every address its name resolves to:

- never, unless an operator pattern allows it: link-local (169.254.0.0/16, fe80::/10, where the cloud
  metadata services live), the metadata addresses themselves (fd00:ec2::254, 100.100.100.200, ...),
  unspecified, multicast and reserved addresses;
- when the console is exposed (bound beyond loopback), also loopback and private ranges (10/8,
  172.16/12, 192.168/16, 100.64/10, fc00::/7): a visitor from the network must not reach the
  operator's internal services through the console. On loopback the visitor is the operator, who
  reaches those anyway, and the embedded simulators live there.

`--allow-upstream` patterns (a host, host:port, *.domain or a CIDR) let an operator allow more. The
command line's `--upstream` is the operator's own and is not judged. The refusal names the rule, not
anything learnt from the network: whether a port answers is never part of it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from console.security.policy import SecurityPolicy

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("ws", "wss", "http", "https")
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
)
PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _plain(address: IP) -> IP:
    """An IPv4 address hidden in IPv6 (::ffff:169.254.169.254) is judged as itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forbidden(address: IP, exposed: bool) -> str | None:
    """Why a visitor may not target this address, or None."""
    address = _plain(address)
    if address in METADATA or address.is_link_local:
        return "link-local and cloud-metadata addresses are never allowed"
    # ::1 sits in IPv6's reserved ::/8: loopback is judged as loopback below.
    if address.is_unspecified or address.is_multicast or (address.is_reserved and not address.is_loopback):
        return "this kind of address is not allowed"
    if exposed and (address.is_loopback or any(address in net for net in PRIVATE_NETS) or address.is_private):
        return "loopback and private addresses are not allowed from the network"
    return None


def allowed_by_pattern(host: str, port: int, addresses: list[IP], patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.strip().lower()
        try:
            net = ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            if fnmatch.fnmatchcase(host, pattern) or fnmatch.fnmatchcase(f"{host}:{port}", pattern):
                return True
            continue
        if addresses and all(_plain(a) in net or a in net for a in addresses):
            return True
    return False


async def check_upstream(url: str, policy: SecurityPolicy, resolver: Resolver = resolve) -> str | None:
    """None when a visitor may open a session against `url`; otherwise the reason, for the visitor."""
    if not url:
        return "A URL is needed."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "That is not a valid URL."
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return "The URL must start with ws://, wss://, http:// or https://."
    host = (parts.hostname or "").lower()
    if not host:
        return "The URL needs a host."
    port = port if port is not None else (443 if scheme in ("https", "wss") else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await resolver(host, port)]
        except (OSError, ValueError):
            addresses = []
        if not addresses and not allowed_by_pattern(host, port, [], policy.allow_upstreams):
            return f"Cannot resolve {host}."
    if allowed_by_pattern(host, port, addresses, policy.allow_upstreams):
        return None
    for address in addresses:
        reason = forbidden(address, policy.exposed)
        if reason is not None:
            return f"This upstream is not allowed: {reason} (an operator can allow it with --allow-upstream)."
    return None
