"""The real console on loopback, asked as a foreign site, a DNS-rebinding page and a stranger would."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import ROOT, Console, start_console, stop_console

TOKEN = "s3cret-token-for-tests"
POLLING = "/_nicegui_ws/socket.io/?EIO=4&transport=polling"


@pytest.fixture(scope="module")
def open_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(tmp_path_factory.mktemp("open"))
    yield started
    stop_console(started)


@pytest.fixture(scope="module")
def locked_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(tmp_path_factory.mktemp("locked"), "--token", TOKEN)
    yield started
    stop_console(started)


def port_of(console: Console) -> int:
    return int(console.url.rsplit(":", 1)[1])


def get(console: Console, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{console.url}{path}", headers=headers, timeout=10, follow_redirects=False)


@pytest.mark.parametrize("path", ["/", "/session/agent", "/metrics", "/api/simulators", POLLING])
def test_a_foreign_host_name_is_refused_everywhere(open_console: Console, path: str) -> None:
    # What a DNS-rebinding page sends: its own name, resolved to 127.0.0.1.
    port = port_of(open_console)
    assert get(open_console, path, Host=f"rebind.attacker.example:{port}").status_code == 403
    assert get(open_console, path, Host="127.0.0.1:1").status_code == 403  # the right address, another port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_the_console_answers_to_its_own_names(open_console: Console, host: str) -> None:
    response = get(open_console, "/session/agent", Host=f"{host}:{port_of(open_console)}")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/", "/metrics", POLLING])
def test_a_foreign_origin_is_refused_and_never_echoed(open_console: Console, path: str) -> None:
    refused = get(open_console, path, Origin="https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    own = get(open_console, path, Origin=open_console.url)
    assert own.status_code == 200
    assert "access-control-allow-origin" not in own.headers


async def test_the_socket_io_websocket_refuses_a_foreign_origin(open_console: Console) -> None:
    ws_url = open_console.url.replace("http://", "ws://") + POLLING.replace("polling", "websocket")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url, origin=websockets.Origin("https://evil.example"))
    assert refused.value.response.status_code == 403
    async with websockets.connect(ws_url, origin=websockets.Origin(open_console.url)) as ws:
        opened = await asyncio.wait_for(ws.recv(), 10)
        assert str(opened).startswith("0{")  # Engine.IO's open packet: the socket is up


def test_with_a_token_pages_sockets_and_metrics_need_it(locked_console: Console) -> None:
    page = get(locked_console, "/session/agent", Accept="text/html")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert get(locked_console, "/metrics").status_code == 401
    assert get(locked_console, POLLING).status_code == 401
    assert get(locked_console, "/metrics", Authorization="Bearer wrong").status_code == 401
    scraped = get(locked_console, "/metrics", Authorization=f"Bearer {TOKEN}")
    assert scraped.status_code == 200 and "# TYPE" in scraped.text


def test_the_login_refuses_a_wrong_token_and_keeps_a_session_for_the_right_one(
    locked_console: Console,
) -> None:
    browser_like = {"Origin": locked_console.url, "Accept": "text/html"}
    with httpx.Client(base_url=locked_console.url, timeout=10, headers=browser_like) as http:
        wrong = http.post("/login", data={"token": "wrong", "next": "/session/agent"})
        assert wrong.status_code == 401 and "Wrong token" in wrong.text
        assert http.get("/session/agent").status_code == 303
        right = http.post("/login", data={"token": TOKEN, "next": "/session/agent"})
        assert right.status_code == 303 and right.headers["location"] == "/session/agent"
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and TOKEN not in cookie
        assert http.get("/session/agent").status_code == 200
        assert http.get("/metrics").status_code == 200
        http.get("/logout")
        assert http.get("/session/agent").status_code == 303


def test_a_link_with_the_token_logs_in_and_drops_it_from_the_address(locked_console: Console) -> None:
    with httpx.Client(base_url=locked_console.url, timeout=10) as http:
        response = http.get(f"/session/agent?token={TOKEN}")
        assert response.status_code == 303 and response.headers["location"] == "/session/agent"
        assert http.get("/session/agent").status_code == 200
    assert get(locked_console, "/session/agent?token=wrong").status_code == 401


def test_a_non_loopback_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}  # no AGENT_CONSOLE_TOKEN from the caller's environment
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--host", "0.0.0.0", "--no-show"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a login" in done.stderr
    assert "--token" in done.stderr and "--insecure-no-auth" in done.stderr


def test_an_upload_over_the_trace_cap_is_refused_before_it_is_read(open_console: Console) -> None:
    # Only the headers of a 200 MB upload are sent: the answer comes before any of its body.
    port = port_of(open_console)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"POST /_nicegui/client/any/upload/1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = ""
        while "MB" not in answer and (chunk := conn.recv(4096)):
            answer += chunk.decode()
    assert answer.startswith("HTTP/1.1 413") and "the limit is 25 MB" in answer


def test_one_browser_cannot_open_pages_without_end(open_console: Console) -> None:
    with httpx.Client(base_url=open_console.url, timeout=10, headers={"Accept": "text/html"}) as http:
        codes = [http.get("/session/agent").status_code for _ in range(13)]
        assert codes == [200] * 12 + [429]
        assert "Too many open pages" in http.get("/session/agent").text
    # Another browser (another visitor cookie) is not affected.
    assert get(open_console, "/session/agent", Accept="text/html").status_code == 200


def test_wrong_guesses_wait_in_line(locked_console: Console) -> None:
    async def guesses() -> float:
        async with httpx.AsyncClient(base_url=locked_console.url, timeout=20) as http:
            loop = asyncio.get_running_loop()
            started = loop.time()
            answers = await asyncio.gather(
                *(http.get("/metrics", headers={"Authorization": f"Bearer guess{n}"}) for n in range(4))
            )
            assert {a.status_code for a in answers} == {401}
            return loop.time() - started

    # Four parallel guesses take as long as four in a row: guessing in parallel gains nothing.
    assert asyncio.run(guesses()) >= 4 * 0.5 - 0.05


async def test_the_socket_io_websocket_needs_the_login_too(locked_console: Console) -> None:
    ws_url = locked_console.url.replace("http://", "ws://") + POLLING.replace("polling", "websocket")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url, origin=websockets.Origin(locked_console.url))
    assert refused.value.response.status_code == 403
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with websockets.connect(
        ws_url, origin=websockets.Origin(locked_console.url), additional_headers=bearer
    ) as ws:
        assert str(await asyncio.wait_for(ws.recv(), 10)).startswith("0{")
