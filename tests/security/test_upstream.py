"""Which upstreams a visitor may make the console connect to."""

from __future__ import annotations

import pytest

from console.security.policy import SecurityPolicy
from console.security.upstream import check_upstream

LOCAL = SecurityPolicy()  # bound to loopback: the visitor is the operator
EXPOSED = SecurityPolicy(host="0.0.0.0", token="t")


class Resolving:
    """A resolver that answers what a hostile DNS would: the name points wherever it likes."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "ws://169.254.10.1:8080/ws",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/",
        "ws://0.0.0.0:4747/ws",
    ],
)
async def test_link_local_and_metadata_addresses_are_refused_even_on_loopback(url: str) -> None:
    problem = await check_upstream(url, LOCAL)
    assert problem is not None and "not allowed" in problem


async def test_a_name_that_resolves_to_the_metadata_service_is_refused() -> None:
    dns = Resolving("93.184.215.14", "169.254.169.254")
    problem = await check_upstream("http://metadata.attacker.example/", LOCAL, dns)
    assert dns.asked == ["metadata.attacker.example"]
    assert problem is not None and "link-local and cloud-metadata" in problem


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "localhost:4747"])
async def test_only_ws_and_http_schemes_are_accepted(url: str) -> None:
    assert await check_upstream(url, LOCAL) == "The URL must start with ws://, wss://, http:// or https://."


async def test_on_loopback_the_operator_reaches_local_and_private_upstreams() -> None:
    assert await check_upstream("ws://127.0.0.1:4747/ws", LOCAL) is None
    assert await check_upstream("ws://[::1]:4747/ws", LOCAL) is None
    assert await check_upstream("ws://10.1.2.3:4747/ws", LOCAL) is None
    assert await check_upstream("http://agents.lan/", LOCAL, Resolving("192.168.1.20")) is None


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:4747/ws",
        "http://10.0.0.5/",
        "http://[fd12::1]/",
        "http://172.20.0.1/",
        "http://[::1]/",
    ],
)
async def test_exposed_visitors_cannot_reach_loopback_or_private_addresses(url: str) -> None:
    problem = await check_upstream(url, EXPOSED)
    assert problem is not None and "loopback and private" in problem and "--allow-upstream" in problem


async def test_the_refusal_is_the_same_whether_a_port_answers_or_not() -> None:
    # Judged on the address alone, before connecting: nothing tells which internal ports are open.
    answers = {await check_upstream(f"ws://127.0.0.1:{port}/ws", EXPOSED) for port in (22, 4747, 59999)}
    assert len(answers) == 1


async def test_public_upstreams_are_accepted_when_exposed() -> None:
    assert await check_upstream("wss://agents.example.com/ws", EXPOSED, Resolving("93.184.215.14")) is None


async def test_operator_patterns_allow_more() -> None:
    policy = SecurityPolicy(
        host="0.0.0.0", token="t", allow_upstreams=("10.0.0.0/8", "*.corp.example", "127.0.0.1:4747")
    )
    assert await check_upstream("http://10.9.9.9/", policy) is None
    assert await check_upstream("ws://agent.corp.example/ws", policy, Resolving("192.168.5.5")) is None
    assert await check_upstream("ws://127.0.0.1:4747/ws", policy) is None
    assert await check_upstream("ws://127.0.0.1:4748/ws", policy) is not None


async def test_a_name_that_does_not_resolve_says_so() -> None:
    assert (
        await check_upstream("ws://nowhere.invalid/ws", LOCAL, Resolving())
        == "Cannot resolve nowhere.invalid."
    )
