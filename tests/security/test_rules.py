"""The pure decisions: which Host and Origin a policy accepts, and what the command line means for the login."""

from __future__ import annotations

import pytest

from console.security.headers import add_nonce, page_csp
from console.security.origins import OriginRules
from console.security.policy import GENERATE, SecurityPolicy, decide_auth


def test_loopback_accepts_its_own_names_on_its_port_only() -> None:
    rules = OriginRules(SecurityPolicy(port=8080))
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST:8080"):
        assert rules.host_allowed(host)
    for host in ("127.0.0.1:8081", "evil.example:8080", "127.0.0.1", "10.0.0.1:8080", "", "a@b:8080"):
        assert not rules.host_allowed(host)
    assert not rules.host_allowed(None)


def test_origins_must_be_the_console_itself() -> None:
    rules = OriginRules(SecurityPolicy(port=8080))
    assert rules.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert rules.origin_allowed("http://localhost:8080", "localhost:8080", "ws")  # a WebSocket upgrade
    assert not rules.origin_allowed("http://localhost:8080", "127.0.0.1:8080")  # another name: another site
    assert not rules.origin_allowed("https://127.0.0.1:8080", "127.0.0.1:8080")
    assert not rules.origin_allowed("null", "127.0.0.1:8080")
    assert not rules.origin_allowed("http://evil.example", "127.0.0.1:8080")


def test_a_proxy_name_is_added_by_public_url() -> None:
    rules = OriginRules(SecurityPolicy(port=8080, public_urls=("https://console.example.com/",)))
    assert rules.host_allowed("console.example.com", 443)
    assert rules.origin_allowed("https://console.example.com", "127.0.0.1:8080")
    assert not rules.origin_allowed("https://other.example.com", "127.0.0.1:8080")
    with pytest.raises(ValueError, match="not an origin"):
        OriginRules(SecurityPolicy(allow_origins=("console.example.com",)))


def test_a_wildcard_bind_accepts_addresses_but_not_unknown_names() -> None:
    rules = OriginRules(SecurityPolicy(host="0.0.0.0", port=9000, token="t"))
    assert rules.host_allowed("192.168.1.20:9000")
    assert rules.host_allowed("[fe80::1]:9000")
    assert not rules.host_allowed("192.168.1.20:9001")
    assert not rules.host_allowed("rebind.attacker.example:9000")


def test_every_script_tag_gets_the_nonce_and_nothing_else_changes() -> None:
    page = b'<script type="importmap">{}</script><p>&lt;script&gt;</p><script>x()</script><scripts>'
    assert add_nonce(page, "n0") == (
        b'<script nonce="n0" type="importmap">{}</script><p>&lt;script&gt;</p><script nonce="n0">x()</script>'
        b"<scripts>"
    )


def test_the_login_decision() -> None:
    assert decide_auth("127.0.0.1", 8080, None, False).token is None
    assert decide_auth("::1", 8080, "given", False).token == "given"
    refused = decide_auth("0.0.0.0", 8080, None, False)
    assert refused.refusal is not None and refused.token is None
    risky = decide_auth("0.0.0.0", 8080, None, True)
    assert risky.refusal is None and risky.token is None
    assert risky.announce is not None and risky.announce.startswith("WARNING")
    generated = decide_auth("0.0.0.0", 8080, GENERATE, False)
    assert generated.token and len(generated.token) >= 32 and generated.token != GENERATE
    assert generated.announce is not None and f"?token={generated.token}" in generated.announce


def test_the_page_csp_loads_pictures_only_from_allow_listed_hosts() -> None:
    csp = page_csp("n0", ("img.example", "*.cdn.example"))
    images = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert (
        images
        == "img-src 'self' data: blob: https://img.example http://img.example https://*.cdn.example http://*.cdn.example"
    )
    assert (
        "script-src 'self' 'nonce-n0' 'unsafe-eval'" in csp
        and "'unsafe-inline'" not in csp.split("style-src")[0]
    )
